"""Connection options: credentials and TLS for Cassandra and MongoDB, no server needed."""

from __future__ import annotations

import ssl

import pytest

from profilepipe import connections, stores
from profilepipe.cli import main
from profilepipe.config import Settings

CASSANDRA_PW = "cass-S3cret-pw"
MONGO_PW = "mongo-S3cret-pw"
URI_PW = "uri-S3cret-pw"


def settings(**env: str) -> Settings:
    return Settings.from_env({f"PROFILEPIPE_{k.upper()}": v for k, v in env.items()})


# ------------------------------------------------------------------ Cassandra
def test_default_cassandra_options_have_no_auth_no_tls_and_a_quick_reconnection_policy():
    from cassandra.policies import ExponentialReconnectionPolicy

    opts = connections.cassandra_options(Settings.from_env({}))
    assert opts["contact_points"] == ["127.0.0.1"] and opts["port"] == 9042
    assert opts["protocol_version"] == 5 and opts["connect_timeout"] == 10
    assert opts["auth_provider"] is None
    assert "ssl_context" not in opts and "ssl_options" not in opts
    policy = opts["reconnection_policy"]
    assert isinstance(policy, ExponentialReconnectionPolicy)
    assert (policy.base_delay, policy.max_delay, policy.max_attempts) == (0.5, 5.0, None)
    delays = [d for _, d in zip(range(50), policy.new_schedule(), strict=False)]
    assert delays[0] <= 0.5 * 1.15 and max(delays) <= 5.0 * 1.15  # jitter is +/- 15%
    assert len(delays) == 50  # keeps trying


@pytest.mark.parametrize("env, level", [({}, "LOCAL_QUORUM"), ({"cassandra_consistency": "ONE"}, "ONE")])
def test_every_cassandra_request_carries_the_consistency_setting(env, level):
    from cassandra import ConsistencyLevel
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster

    opts = connections.cassandra_options(settings(**env))
    profile = opts["execution_profiles"][EXEC_PROFILE_DEFAULT]
    assert profile.consistency_level == getattr(ConsistencyLevel, level)
    assert profile.request_timeout == connections.CASSANDRA_REQUEST_TIMEOUT
    assert type(profile.load_balancing_policy._child_policy).__name__ == "DCAwareRoundRobinPolicy"
    cluster = Cluster(**opts)  # the session's default profile is this one
    try:
        assert cluster.profile_manager.default.consistency_level == getattr(ConsistencyLevel, level)
    finally:
        cluster.shutdown()


def test_an_unknown_consistency_level_is_refused_with_the_variable_name():
    with pytest.raises(ValueError, match="PROFILEPIPE_CASSANDRA_CONSISTENCY must be one of"):
        settings(cassandra_consistency="SERIAL").validate()


def test_the_jvm_writer_gets_the_consistency_setting():
    from profilepipe.stores import cassandra_jvm

    assert cassandra_jvm.jvm_options(settings())["consistency"] == "LOCAL_QUORUM"
    assert cassandra_jvm.jvm_options(settings(cassandra_consistency="QUORUM"))["consistency"] == "QUORUM"


def test_cluster_accepts_the_options_without_connecting(pki):
    from cassandra.cluster import Cluster

    s = settings(
        cassandra_username="etl",
        cassandra_password=CASSANDRA_PW,
        cassandra_ssl="true",
        cassandra_ssl_ca_file=str(pki["ca"]),
    )
    opts = connections.cassandra_options(s)
    cluster = Cluster(**opts)  # builds the client only; connect() would open sockets
    try:
        assert cluster.reconnection_policy is opts["reconnection_policy"]
        assert cluster.ssl_context is opts["ssl_context"] and cluster.auth_provider is opts["auth_provider"]
    finally:
        cluster.shutdown()


def test_username_and_password_give_a_plain_text_auth_provider():
    from cassandra.auth import PlainTextAuthProvider

    s = settings(cassandra_username="etl", cassandra_password=CASSANDRA_PW)
    auth = connections.cassandra_options(s)["auth_provider"]
    assert isinstance(auth, PlainTextAuthProvider)
    assert (auth.username, auth.password) == ("etl", CASSANDRA_PW)


@pytest.mark.parametrize(("verify", "check_hostname"), [("", True), ("yes", True), ("off", False)])
def test_tls_with_a_ca_file_verifies_the_server(pki, verify, check_hostname):
    s = settings(
        cassandra_ssl="1", cassandra_ssl_ca_file=str(pki["ca"]), cassandra_ssl_verify_hostname=verify
    )
    ctx = connections.cassandra_options(s)["ssl_context"]
    assert isinstance(ctx, ssl.SSLContext) and ctx.protocol == ssl.PROTOCOL_TLS_CLIENT
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.check_hostname is check_hostname
    assert ctx.cert_store_stats()["x509_ca"] == 1  # exactly our CA, not the system store


def test_tls_with_a_client_certificate_loads_the_chain(pki):
    s = settings(
        cassandra_ssl="true",
        cassandra_ssl_ca_file=str(pki["ca"]),
        cassandra_ssl_cert_file=str(pki["cert"]),
        cassandra_ssl_key_file=str(pki["key"]),
    )
    ctx = connections.cassandra_options(s)["ssl_context"]
    assert ctx.verify_mode == ssl.CERT_REQUIRED


def test_a_mismatched_client_key_is_refused(pki):
    s = settings(
        cassandra_ssl="true",
        cassandra_ssl_cert_file=str(pki["cert"]),
        cassandra_ssl_key_file=str(pki["ca"]),  # a certificate, not the key
    )
    with pytest.raises(ssl.SSLError):
        connections.cassandra_options(s)


def test_tls_without_a_ca_file_uses_the_system_store():
    ctx = connections.cassandra_options(settings(cassandra_ssl="on"))["ssl_context"]
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname


# ------------------------------------------------------------------ validation
@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"cassandra_ssl": "true", "cassandra_ssl_ca_file": "/nonexistent/ca.pem"}, "CASSANDRA_SSL_CA_FILE"),
        (
            {
                "cassandra_ssl": "true",
                "cassandra_ssl_cert_file": "/nonexistent/c.pem",
                "cassandra_ssl_key_file": "/nonexistent/c.key",
            },
            "CASSANDRA_SSL_CERT_FILE",
        ),
        ({"mongo_tls": "true", "mongo_tls_ca_file": "/nonexistent/ca.pem"}, "MONGO_TLS_CA_FILE"),
        ({"mongo_tls": "true", "mongo_tls_cert_key_file": "/nonexistent/c.pem"}, "MONGO_TLS_CERT_KEY_FILE"),
    ],
)
def test_missing_files_are_refused_with_the_variable_name(env, variable):
    with pytest.raises(ValueError, match=f"PROFILEPIPE_{variable}=.*no such file"):
        settings(**env)


def test_a_client_certificate_needs_its_key(pki):
    with pytest.raises(ValueError, match="PROFILEPIPE_CASSANDRA_SSL_KEY_FILE is empty"):
        settings(cassandra_ssl="true", cassandra_ssl_cert_file=str(pki["cert"]))
    with pytest.raises(ValueError, match="PROFILEPIPE_CASSANDRA_SSL_CERT_FILE is empty"):
        settings(cassandra_ssl="true", cassandra_ssl_key_file=str(pki["key"]))


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"cassandra_ssl_ca_file": "ca"}, "PROFILEPIPE_CASSANDRA_SSL_CA_FILE"),
        ({"cassandra_ssl_verify_hostname": "false"}, "PROFILEPIPE_CASSANDRA_SSL_VERIFY_HOSTNAME"),
        ({"mongo_tls_ca_file": "ca"}, "PROFILEPIPE_MONGO_TLS_CA_FILE"),
        ({"mongo_tls_allow_invalid_hostnames": "true"}, "PROFILEPIPE_MONGO_TLS_ALLOW_INVALID_HOSTNAMES"),
    ],
)
def test_tls_options_without_their_switch_are_refused(env, variable):
    with pytest.raises(ValueError, match=f"{variable} has no effect unless PROFILEPIPE_"):
        settings(**env)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"cassandra_password": CASSANDRA_PW}, "PROFILEPIPE_CASSANDRA_PASSWORD"),
        ({"mongo_password": MONGO_PW}, "PROFILEPIPE_MONGO_PASSWORD"),
    ],
)
def test_a_password_without_a_user_is_refused(env, variable):
    with pytest.raises(ValueError, match=f"{variable} is set but"):
        settings(**env)


def test_a_mongo_password_may_complete_a_user_given_in_the_uri():
    s = settings(mongo_uri="mongodb://etl@db.example:27017/", mongo_password=MONGO_PW)
    assert connections.mongo_options(s)["password"] == MONGO_PW


def test_directly_built_settings_are_validated_before_connecting():
    with pytest.raises(ValueError, match="PROFILEPIPE_CASSANDRA_PASSWORD"):
        connections.cassandra_options(Settings(cassandra_password=CASSANDRA_PW))
    with pytest.raises(ValueError, match="PROFILEPIPE_MONGO_TLS_CA_FILE"):
        connections.mongo_options(Settings(mongo_tls=True, mongo_tls_ca_file="/nonexistent/ca.pem"))


# ------------------------------------------------------------------ MongoDB
def test_default_mongo_options_carry_no_credentials_and_no_tls():
    opts = connections.mongo_options(Settings.from_env({}))
    assert opts == {"serverSelectionTimeoutMS": 10000, "tz_aware": True}


def test_mongo_options_contain_what_is_set(pki):
    s = settings(
        mongo_username="etl",
        mongo_password=MONGO_PW,
        mongo_auth_source="admin",
        mongo_tls="yes",
        mongo_tls_ca_file=str(pki["ca"]),
        mongo_tls_cert_key_file=str(pki["combined"]),
        mongo_tls_allow_invalid_hostnames="true",
    )
    assert connections.mongo_options(s) == {
        "serverSelectionTimeoutMS": 10000,
        "tz_aware": True,
        "username": "etl",
        "password": MONGO_PW,
        "authSource": "admin",
        "tls": True,
        "tlsCAFile": str(pki["ca"]),
        "tlsCertificateKeyFile": str(pki["combined"]),
        "tlsAllowInvalidHostnames": True,
    }
    only_tls = connections.mongo_options(settings(mongo_tls="true"))
    assert only_tls == {"serverSelectionTimeoutMS": 10000, "tz_aware": True, "tls": True}


def test_mongo_client_accepts_the_options(pki):
    import pymongo

    plain = pymongo.MongoClient(
        "mongodb://127.0.0.1:1", connect=False, **connections.mongo_options(Settings.from_env({}))
    )
    try:
        assert plain.options.codec_options.tz_aware and plain.options.server_selection_timeout == 10
        assert plain.options.pool_options._ssl_context is None
    finally:
        plain.close()
    s = settings(
        mongo_username="etl",
        mongo_password=MONGO_PW,
        mongo_auth_source="admin",
        mongo_tls="true",
        mongo_tls_ca_file=str(pki["ca"]),
        mongo_tls_cert_key_file=str(pki["combined"]),
        mongo_tls_allow_invalid_hostnames="true",
    )
    client = pymongo.MongoClient("mongodb://127.0.0.1:1", connect=False, **connections.mongo_options(s))
    try:
        pool = client.options.pool_options
        assert pool._ssl_context is not None and pool.tls_allow_invalid_hostnames
        cred = pool._credentials
        assert (cred.username, cred.password, cred.source) == ("etl", MONGO_PW, "admin")
    finally:
        client.close()


def test_explicit_mongo_credentials_override_the_uri():
    import pymongo

    s = settings(
        mongo_uri=f"mongodb://old:{URI_PW}@127.0.0.1:1/?authSource=other",
        mongo_username="etl",
        mongo_password=MONGO_PW,
        mongo_auth_source="admin",
    )
    client = pymongo.MongoClient(s.mongo_uri, connect=False, **connections.mongo_options(s))
    try:
        cred = client.options.pool_options._credentials
        assert (cred.username, cred.password, cred.source) == ("etl", MONGO_PW, "admin")
    finally:
        client.close()


# ------------------------------------------------------------------ sinks use the options
def test_sinks_build_their_clients_from_the_options(monkeypatch):
    import cassandra.cluster
    import pymongo

    made = {}

    class FakeSession:
        is_shutdown = False
        default_timeout = None

    class FakeCluster:
        def __init__(self, **kwargs):
            made["cluster"] = kwargs

        def connect(self):
            return FakeSession()

    class FakeMongoClient(dict):
        def __init__(self, uri, **kwargs):
            super().__init__()
            made["mongo"] = (uri, kwargs)

        def __missing__(self, name):
            return f"db:{name}"

    monkeypatch.setattr(cassandra.cluster, "Cluster", FakeCluster)
    monkeypatch.setattr(pymongo, "MongoClient", FakeMongoClient)
    monkeypatch.setattr(stores, "_OPEN", {})
    s = settings(
        cassandra_username="etl",
        cassandra_password=CASSANDRA_PW,
        mongo_uri=f"mongodb://etl:{URI_PW}@db.example:27017/",
        mongo_password=MONGO_PW,
    )
    session = stores.connect(s).cassandra.session()
    assert stores.connect(s).cassandra.session() is session  # cached
    assert made["cluster"]["auth_provider"].password == CASSANDRA_PW
    assert made["cluster"]["reconnection_policy"].max_delay == 5.0
    assert stores.connect(s).mongo.db() == "db:user_profiles"
    assert made["mongo"] == (s.mongo_uri, connections.mongo_options(s))
    # long-lived cache keys never hold a password or the URI that carries one
    for key in stores._OPEN:
        assert not any(pw in repr(key) for pw in (CASSANDRA_PW, MONGO_PW, URI_PW))
    # another password is another connection
    other = s.replace(cassandra_password="another")
    assert connections.cassandra_key(other) != connections.cassandra_key(s)
    assert connections.mongo_key(s.replace(mongo_password="x")) != connections.mongo_key(s)


# ------------------------------------------------------------------ secrets stay masked
def test_masked_config_output_never_contains_the_passwords(monkeypatch, capsys):
    for name, value in {
        "CASSANDRA_USERNAME": "etl",
        "CASSANDRA_PASSWORD": CASSANDRA_PW,
        "MONGO_URI": f"mongodb://etl:{URI_PW}@db.example:27017/?tls=true",
        "MONGO_USERNAME": "etl",
        "MONGO_PASSWORD": MONGO_PW,
        "MONGO_TLS": "true",
    }.items():
        monkeypatch.setenv(f"PROFILEPIPE_{name}", value)
    assert main(["config"]) == 0
    out = capsys.readouterr().out
    assert "PROFILEPIPE_MONGO_PASSWORD" in out and "PROFILEPIPE_MONGO_TLS" in out
    for secret in (CASSANDRA_PW, MONGO_PW, URI_PW):
        assert secret not in out
    red = Settings.from_env().redacted()
    assert red["mongo_password"] == "***" and red["cassandra_password"] == "***"


def test_markdown_table_lists_the_new_settings(capsys):
    assert main(["config", "--markdown"]) == 0
    cells = [line.split("|") for line in capsys.readouterr().out.splitlines()[2:]]
    rows = {c[1].strip(" `"): c[2].strip(" `") for c in cells}
    assert rows["PROFILEPIPE_MONGO_PASSWORD"] == "(none)"
    assert rows["PROFILEPIPE_CASSANDRA_SSL"] == "false"
    assert rows["PROFILEPIPE_CASSANDRA_SSL_VERIFY_HOSTNAME"] == "true"
    assert rows["PROFILEPIPE_MONGO_TLS_CA_FILE"] == "(empty)"


# ------------------------------------------------------------------ bool parsing
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("true", True),
        ("TRUE", True),
        ("Yes", True),
        ("on", True),
        (" true ", True),
        ("0", False),
        ("false", False),
        ("False", False),
        ("NO", False),
        ("off", False),
    ],
)
def test_bool_values_from_the_environment(raw, expected):
    assert settings(mongo_tls=raw).mongo_tls is expected


def test_empty_bool_keeps_the_default():
    s = settings(mongo_tls="", cassandra_ssl_verify_hostname="")
    assert s.mongo_tls is False and s.cassandra_ssl_verify_hostname is True


@pytest.mark.parametrize("raw", ["maybe", "2", "y", "enabled", "truee"])
def test_invalid_bool_is_refused_with_the_variable_name(raw):
    with pytest.raises(ValueError, match=r"PROFILEPIPE_CASSANDRA_SSL=.* is not a valid bool \(use 1/true"):
        settings(cassandra_ssl=raw)
