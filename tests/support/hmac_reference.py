"""The reference HMAC path: what hmac mode's JVM expression (``privacy.hmac_column``) is tested against.

* :func:`hmac_hash`: hex HMAC-SHA256 of ``utf8(NFC(value))`` by Python's own ``hmac``, the
  definition of hmac mode (``privacy``'s docstring);
* :func:`hash_pii_udf`: the former Python path of hmac mode, one pandas UDF over
  ``(user_id, phone, address)`` calling :func:`hmac_hash` per value, the shape of bcrypt mode's UDF.

The pipeline never calls them: in hmac mode it hashes in the JVM (``privacy.hash_pii``).
Spark's Python workers cannot import ``support`` (only pytest puts ``tests/`` on the path), so
this module's functions are pickled by value into the UDF.
"""

from __future__ import annotations

import hashlib
import hmac
import sys
import unicodedata

import pandas as pd
from pyspark import cloudpickle

from profilepipe.pipeline import privacy

cloudpickle.register_pickle_by_value(sys.modules[__name__])


def hmac_hash(value: str | None, key: str | bytes) -> str | None:
    """Hex HMAC-SHA256 of ``utf8(NFC(value))`` with ``key`` (UTF-8 if text); ``None`` stays ``None``."""
    if value is None:
        return None
    k = key.encode("utf-8") if isinstance(key, str) else key
    return hmac.new(k, unicodedata.normalize("NFC", value).encode("utf-8"), hashlib.sha256).hexdigest()


def hash_pii_udf(df, settings):
    """``privacy.hash_pii`` in hmac mode through one vectorised pandas UDF: phone and address
    replaced by ``phone_hash`` and ``address_hash`` (:func:`hmac_hash` of each) in their places."""
    from pyspark.sql.functions import pandas_udf

    privacy.check_settings(settings)
    key = settings.hmac_key.encode("utf-8")

    @pandas_udf("phone_hash string, address_hash string")
    def pii_hashes(user_id: pd.Series, phone: pd.Series, address: pd.Series) -> pd.DataFrame:
        p = [hmac_hash(v, key) for v in privacy.text_values(phone)]
        a = [hmac_hash(v, key) for v in privacy.text_values(address)]
        return pd.DataFrame({"phone_hash": p, "address_hash": a}, dtype=object)

    return privacy.hashes_in_place(df, pii_hashes)
