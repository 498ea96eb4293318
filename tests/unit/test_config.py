import pytest

from profilepipe.config import Settings


def test_defaults_are_localhost():
    s = Settings.from_env({})
    assert s.kafka_bootstrap == "127.0.0.1:9092"
    assert (s.cassandra_host, s.cassandra_port) == ("127.0.0.1", 9042)
    assert (s.mongo_host, s.mongo_port) == ("127.0.0.1", 27017)
    assert s.dlq_topic == "users.dlq"
    assert s.hmac_key == ""


def test_environment_overrides_and_types():
    s = Settings.from_env(
        {
            "PROFILEPIPE_KAFKA_TOPIC": "people",
            "PROFILEPIPE_KAFKA_PARTITIONS": "6",
            "PROFILEPIPE_BCRYPT_COST": "10",
            "PROFILEPIPE_API_TIMEOUT": "2.5",
            "PROFILEPIPE_MONGO_URI": "mongodb://u:p@db.example:27018/?authSource=admin",
        }
    )
    assert s.kafka_topic == "people" and s.dlq_topic == "people.dlq"
    assert s.kafka_partitions == 6 and s.bcrypt_cost == 10 and s.api_timeout == 2.5
    assert (s.mongo_host, s.mongo_port) == ("db.example", 27018)
    assert "u:p" not in str(s.redacted()["mongo_uri"])


def test_the_tables_are_named_keyspace_qualified():
    s = Settings.from_env({})
    assert (s.users_table, s.erasures_table) == ("user_profiles.users", "user_profiles.users_erasures")
    s = s.replace(cassandra_keyspace="ks", cassandra_table="bench_1")
    assert (s.users_table, s.erasures_table) == ("ks.bench_1", "ks.bench_1_erasures")


@pytest.mark.parametrize(
    "env",
    [
        {"PROFILEPIPE_PII_MODE": "md5"},
        {"PROFILEPIPE_BCRYPT_COST": "3"},
        {"PROFILEPIPE_SOURCE": "web"},
        {"PROFILEPIPE_KAFKA_PARTITIONS": "zero"},
    ],
)
def test_invalid_values_are_refused_with_the_variable_name(env):
    with pytest.raises(ValueError, match="PROFILEPIPE_"):
        Settings.from_env(env)


def test_secrets_are_masked_and_have_no_default():
    s = Settings.from_env(
        {
            "PROFILEPIPE_HMAC_KEY": "k" * 32,
            "PROFILEPIPE_CASSANDRA_USERNAME": "etl",  # a password needs a user
            "PROFILEPIPE_CASSANDRA_PASSWORD": "pw",
            "PROFILEPIPE_MONGO_USERNAME": "etl",
            "PROFILEPIPE_MONGO_PASSWORD": "mpw",
        }
    )
    red = s.redacted()
    assert red["hmac_key"] == "***" and red["cassandra_password"] == "***"
    assert red["mongo_password"] == "***" and red["mongo_username"] == "etl"
    described = {name: default for name, default, _ in Settings.describe()}
    assert described["PROFILEPIPE_HMAC_KEY"] == "(none)"
    assert described["PROFILEPIPE_MONGO_PASSWORD"] == "(none)"


def test_the_stream_mode_sets_the_trigger_and_batch_size_unless_they_are_set():
    from profilepipe.config import STREAM_MODES, Settings

    assert Settings.from_env({}).stream_mode == "throughput"
    latency = Settings.from_env({"PROFILEPIPE_STREAM_MODE": "latency"})
    assert (latency.trigger_seconds, latency.max_offsets_per_trigger, latency.spark_read_partitions) == (
        0.5,
        10000,
        1,  # one task per Kafka partition
    )
    mixed = Settings.from_env({"PROFILEPIPE_STREAM_MODE": "latency", "PROFILEPIPE_TRIGGER_SECONDS": "2"})
    assert (mixed.trigger_seconds, mixed.max_offsets_per_trigger) == (2.0, 10000)  # explicit wins
    back = latency.in_mode("throughput")
    assert (
        back.stream_mode,
        back.trigger_seconds,
        back.max_offsets_per_trigger,
        back.spark_read_partitions,
    ) == (
        "throughput",
        *STREAM_MODES["throughput"].values(),
    )
    with pytest.raises(ValueError, match="PROFILEPIPE_STREAM_MODE must be one of throughput, latency"):
        Settings.from_env({"PROFILEPIPE_STREAM_MODE": "fast"})


def test_the_writer_keeps_at_least_one_request_in_flight():
    from profilepipe.config import Settings

    assert Settings.from_env({"PROFILEPIPE_CASSANDRA_MAX_IN_FLIGHT": "8"}).cassandra_max_in_flight == 8
    with pytest.raises(ValueError, match="PROFILEPIPE_CASSANDRA_MAX_IN_FLIGHT must be at least 1"):
        Settings.from_env({"PROFILEPIPE_CASSANDRA_MAX_IN_FLIGHT": "0"})
