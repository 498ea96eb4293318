"""The stack's own clients use the pipeline's connection options (credentials, TLS); no server needed."""

from __future__ import annotations

import ssl

import pytest

from profilepipe import connections
from profilepipe.config import Settings
from profilepipe.errors import StackError
from profilepipe_stack import clients


@pytest.fixture(scope="module")
def secured(pki) -> Settings:
    env = {
        "KAFKA_BOOTSTRAP": "broker-a.example.internal:9093,broker-b.example.internal:9093",
        "CASSANDRA_HOST": "cassandra.example.internal",
        "CASSANDRA_PORT": "9142",
        "CASSANDRA_USERNAME": "profilepipe",
        "CASSANDRA_PASSWORD": "cass-S3cret",
        "CASSANDRA_SSL": "true",
        "CASSANDRA_SSL_CA_FILE": str(pki["ca"]),
        "CASSANDRA_SSL_CERT_FILE": str(pki["cert"]),
        "CASSANDRA_SSL_KEY_FILE": str(pki["key"]),
        "MONGO_URI": "mongodb://mongo.example.internal:27017/?replicaSet=rs0",
        "MONGO_USERNAME": "profilepipe",
        "MONGO_PASSWORD": "mongo-S3cret",
        "MONGO_AUTH_SOURCE": "admin",
        "MONGO_TLS": "true",
        "MONGO_TLS_CA_FILE": str(pki["ca"]),
        "MONGO_TLS_CERT_KEY_FILE": str(pki["combined"]),
        "MONGO_TLS_ALLOW_INVALID_HOSTNAMES": "true",
    }
    return Settings.from_env({f"PROFILEPIPE_{k}": v for k, v in env.items()})


def comparable(value):
    """A value two independently built option dicts can be compared by (drivers' objects have no ==)."""
    if isinstance(value, ssl.SSLContext):
        return ("SSLContext", value.verify_mode, value.check_hostname, value.protocol, value.get_ca_certs())
    if hasattr(value, "__dict__") and not isinstance(value, type):
        return (type(value).__name__, {k: comparable(v) for k, v in vars(value).items()})
    if isinstance(value, dict):
        return {k: comparable(v) for k, v in value.items()}
    return value


def test_the_stack_cassandra_client_has_the_pipeline_credentials_and_tls(secured):
    pipeline = connections.cassandra_options(secured)
    ours = clients.cassandra_options(secured, timeout=3.0, light=True)
    assert {"auth_provider", "ssl_context", "contact_points", "port"} <= set(pipeline)
    assert set(pipeline) <= set(ours)
    same = {k for k in pipeline if k not in clients.CASSANDRA_TUNING}
    assert {k: comparable(ours[k]) for k in same} == {k: comparable(pipeline[k]) for k in same}
    assert ours["auth_provider"].username == "profilepipe" and ours["auth_provider"].password == "cass-S3cret"
    assert ours["ssl_context"].verify_mode == ssl.CERT_REQUIRED and ours["ssl_context"].get_ca_certs()
    assert ours["contact_points"] == ["cassandra.example.internal"] and ours["port"] == 9142
    # the tuning is timeouts and metadata only: it can never drop a credential or TLS option
    assert not clients.CASSANDRA_TUNING & {"auth_provider", "ssl_context", "ssl_options", "contact_points"}
    assert ours["connect_timeout"] == 3.0 and ours["schema_metadata_enabled"] is False


def test_the_stack_mongo_client_has_the_pipeline_credentials_and_tls(secured):
    pipeline = connections.mongo_options(secured)
    ours = clients.mongo_options(secured, timeout=2.0)
    assert {"username", "password", "authSource", "tls", "tlsCAFile", "tlsCertificateKeyFile"} <= set(
        pipeline
    )
    same = {k for k in pipeline if k not in clients.MONGO_TUNING}
    assert {k: ours[k] for k in same} == {k: pipeline[k] for k in same}
    assert set(pipeline) <= set(ours)
    assert not clients.MONGO_TUNING & {"username", "password", "authSource", "tls", "tlsCAFile"}
    assert ours["serverSelectionTimeoutMS"] == ours["connectTimeoutMS"] == 2000


def test_the_stack_kafka_client_has_the_pipeline_bootstrap_servers(secured):
    ours = clients.kafka_options(secured, timeout=5.0)
    assert ours["bootstrap_servers"] == connections.kafka_options(secured)["bootstrap_servers"]
    assert ours["bootstrap_servers"] == ["broker-a.example.internal:9093", "broker-b.example.internal:9093"]
    assert ours["request_timeout_ms"] == 5000


def test_the_local_defaults_stay_plain():
    plain = Settings.from_env({})
    assert clients.cassandra_options(plain, timeout=3.0)["auth_provider"] is None
    assert "ssl_context" not in clients.cassandra_options(plain, timeout=3.0)
    assert "tls" not in clients.mongo_options(plain, timeout=3.0)


def test_settings_the_pipeline_refuses_are_a_stack_error(pki):
    import dataclasses

    # built past Settings' own check, as a caller holding stale settings could
    half = dataclasses.replace(
        Settings.from_env({}), cassandra_ssl=True, cassandra_ssl_cert_file=str(pki["cert"])
    )
    with pytest.raises(StackError, match="PROFILEPIPE_CASSANDRA_SSL_KEY_FILE"):
        clients.cassandra_options(half, timeout=3.0)
