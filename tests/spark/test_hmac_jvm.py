"""HMAC mode in the JVM: equal to the reference ``hmac_hash`` for every value, no Python, no key in sight.

* every key length 1..200 bytes (both sides of SHA-256's 64-byte block) times tricky values
  (Persian, Cyrillic, emoji, combining marks, empty, whitespace, 100,000 characters) in one
  query of ``privacy.hmac_column``;
* a hypothesis property through ``privacy.hash_pii`` (``derandomize=True``, bounded examples):
  arbitrary text keys and values, nulls included, equal to ``hmac_hash`` value by value and
  equal to the former pandas-UDF path (both in ``support.hmac_reference``);
* the executed plan holds no Python evaluation, and neither the key, its hex nor its pads'
  hex (or base64) appear in ``explain`` in any mode, nor in the Spark log of a whole run at
  DEBUG level with the plan-change log on (a fresh Python process, its output captured).
"""

from __future__ import annotations

import base64
import subprocess
import sys
import unicodedata

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from pyspark.sql import functions as F

from profilepipe.pipeline import privacy

from support import hmac_reference
from support.hmac_reference import hmac_hash

KEY = "unit-test-key-hmac-jvm-9d41"  # a throwaway test key, never a real one
EXPLAIN_MODES = ("simple", "extended", "codegen", "cost", "formatted")
VALUES = [
    "",
    " ",
    "\t \n",
    "  padded  ",
    "+44 20 7946 0958",
    "خیابان آزادی، تهران، ۱۴۵۶۷۸۹۰",  # Persian, Persian digits
    "Булевар краља Александра Карађорђевића 73, Нови Београд",  # Cyrillic
    "😀👩‍👩‍👧‍👦🇳🇴",  # astral plane, ZWJ sequence, flag
    "Québec",
    unicodedata.normalize("NFD", "Québec"),  # NFC must make it equal to the line above
    "Å ﬁ ℌ ①",  # compatibility characters: NFC keeps them (it is not NFKC)
    "x" * 100_000,
    "\u0000nul inside",
]
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=300)  # no lone surrogates


def forbidden_strings(key: str) -> list[str]:
    """What must never show: the key, its hex, the pads' hex (both cases) and base64."""
    k = key.encode("utf-8")
    out = [key, k.hex(), k.hex().upper()]
    for pad in privacy.hmac_pads(key):
        out += [pad.hex(), pad.hex().upper(), base64.b64encode(pad).decode()]
    return out


def pii_frame(spark, phones, addresses):
    rows = [(f"user-{i}", p, a) for i, (p, a) in enumerate(zip(phones, addresses, strict=True))]
    return spark.createDataFrame(rows, "user_id string, phone string, address string")


def test_jvm_hmac_equals_python_for_keys_of_1_to_200_bytes(spark):
    keys = [bytes((7 * n + i) % 256 for i in range(n)) for n in range(1, 201)]  # not UTF-8 at all
    pads = spark.createDataFrame(
        [(i, *privacy.hmac_pads(k)) for i, k in enumerate(keys)], "k int, ipad binary, opad binary"
    )
    values = spark.createDataFrame([(j, v) for j, v in enumerate([*VALUES, None])], "j int, v string")
    got = values.crossJoin(pads).select(
        "k", "j", privacy.hmac_column(F.col("v"), F.col("ipad"), F.col("opad")).alias("h")
    )
    result = {(r["k"], r["j"]): r["h"] for r in got.collect()}
    assert len(result) == len(keys) * (len(VALUES) + 1)
    bad = [(len(keys[k]), j) for (k, j), h in result.items() if h != hmac_hash(([*VALUES, None])[j], keys[k])]
    assert bad == []
    assert all(h is None for (_, j), h in result.items() if j == len(VALUES))  # null stays null


@hsettings(max_examples=25, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    key=st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=120),
    phones=st.lists(st.one_of(st.none(), TEXT, st.sampled_from(VALUES[:-2])), min_size=1, max_size=30),
)
def test_hash_pii_in_hmac_mode_equals_hmac_hash_for_every_value(spark, settings, key, phones):
    s = settings.replace(pii_mode="hmac", hmac_key=key)
    addresses = list(reversed(phones))
    df = pii_frame(spark, phones, addresses)
    jvm = privacy.hash_pii(df, s)
    assert jvm.columns == ["user_id", "phone_hash", "address_hash"]
    rows = jvm.collect()
    assert [r["phone_hash"] for r in rows] == [hmac_hash(v, key) for v in phones]
    assert [r["address_hash"] for r in rows] == [hmac_hash(v, key) for v in addresses]
    assert rows == hmac_reference.hash_pii_udf(df, s).collect()  # the former Python path agrees


def test_hmac_mode_runs_no_python_and_shows_no_key_in_any_explain(spark, settings):
    s = settings.replace(pii_mode="hmac", hmac_key=KEY)
    out = privacy.hash_pii(pii_frame(spark, VALUES[:6], VALUES[6:12]), s)
    jvm = spark._jvm
    before = [jvm.PythonSQLUtils.explainString(out._jdf.queryExecution(), m) for m in EXPLAIN_MODES]
    out.collect()  # the executed (final adaptive) plan as well
    after = [jvm.PythonSQLUtils.explainString(out._jdf.queryExecution(), m) for m in EXPLAIN_MODES]
    text = "\n".join([*before, *after, out._jdf.queryExecution().toString()])
    assert "_pii_ipad" in text and "LocalRelation" in text  # the pads are there, as columns only
    assert [f for f in forbidden_strings(KEY) if f in text] == []
    executed = out._jdf.queryExecution().executedPlan().toString()
    assert not any(p in executed for p in ("ArrowEvalPython", "BatchEvalPython", "PythonUDF"))


def test_bcrypt_mode_keeps_its_pandas_udf(spark, settings):
    out = privacy.hash_pii(pii_frame(spark, ["+44 20 7946 0958"], [None]), settings)
    assert out._jdf.queryExecution().executedPlan().toString().count("ArrowEvalPython") == 1
    assert out.collect()[0]["address_hash"] is None


LOG_RUN = """
import hashlib
import hmac
import sys
from profilepipe.config import Settings
from profilepipe.pipeline import privacy
from profilepipe.pipeline.spark import get_spark

s = Settings(spark_master="local[1]", spark_shuffle_partitions=1, pii_mode="hmac", hmac_key=sys.argv[1])
s = s.replace(spark_log=sys.argv[2])  # where the JVM logs (never the console)
spark = get_spark(s, app_name="hmac-log-test", log_level="DEBUG")
spark.conf.set("spark.sql.planChangeLog.level", "WARN")
row = ("u1", "+44 20 7946 0958", "Québec")
df = spark.createDataFrame([row], "user_id string, phone string, address string")
out = privacy.hash_pii(df, s)
out.explain("extended")
expected = hmac.new(sys.argv[1].encode(), b"+44 20 7946 0958", hashlib.sha256).hexdigest()  # ASCII: NFC as is
print("HASHED", out.collect()[0]["phone_hash"] == expected)
spark.stop()
"""


def test_key_stays_out_of_the_spark_log_of_a_whole_run(tmp_path):
    script = tmp_path / "hmac_log_run.py"
    script.write_text(LOG_RUN, encoding="utf-8")
    spark_log = tmp_path / "spark.log"
    run = subprocess.run(
        [sys.executable, str(script), KEY, str(spark_log)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    log = run.stdout + run.stderr + spark_log.read_text(encoding="utf-8", errors="replace")
    assert run.returncode == 0, log[-3000:]
    assert "HASHED True" in log
    assert " DEBUG " in log and "_pii_ipad" in log  # the log is verbose and shows the plans
    assert [f for f in forbidden_strings(KEY) if f in log] == []
