"""``privacy.hmac_pads``: RFC 2104's pads of SHA-256, what the JVM HMAC is built from (no Spark)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from profilepipe.errors import PrivacyError
from profilepipe.pipeline import privacy


@pytest.mark.parametrize("length", [1, 2, 31, 63, 64, 65, 100, 128, 200])
def test_pads_rebuild_hmac_sha256(length):
    key = bytes(range(256))[:length]
    ipad, opad = privacy.hmac_pads(key)
    assert len(ipad) == len(opad) == 64 and ipad != opad
    for message in (b"", b"+44 20 7946 0958", "Québec 😀".encode()):
        inner = hashlib.sha256(ipad + message).digest()
        assert hashlib.sha256(opad + inner).hexdigest() == hmac.new(key, message, hashlib.sha256).hexdigest()


def test_text_key_is_its_utf8_and_empty_is_refused():
    assert privacy.hmac_pads("clé") == privacy.hmac_pads("clé".encode())
    with pytest.raises(PrivacyError, match="PROFILEPIPE_HMAC_KEY"):
        privacy.hmac_pads("")
