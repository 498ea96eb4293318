"""The replicated topology without servers: its settings, each node's configuration, the
names `stack` acts on, the replication of topics and keyspace, the benchmark's report."""

from __future__ import annotations

import pytest
import yaml

from profilepipe.config import Settings
from profilepipe.errors import StackError
from profilepipe.stores import cassandra_jvm
from profilepipe_bench import runs, topologies
from profilepipe_stack import layout, provision, services, stack

NODES = ("1", "2", "3")


@pytest.fixture
def replicated(tmp_path) -> Settings:
    return Settings.from_env(
        {"PROFILEPIPE_TOPOLOGY": "replicated", "PROFILEPIPE_STACK_DIR": str(tmp_path / "st")}
    )


def configs(settings: Settings, name: str) -> str:
    layout.conf_dir(settings).mkdir(parents=True, exist_ok=True)
    (path,) = services.chosen(name, settings)[0].write_configs(settings)
    assert path.name.startswith(f"{name}.")  # one file per node, named after it
    return path.read_text()


def properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


def test_the_topology_gives_its_addresses_unless_they_are_set(tmp_path):
    single = Settings.from_env({})
    s = Settings.from_env({"PROFILEPIPE_TOPOLOGY": "replicated"})
    assert single.kafka_servers == ["127.0.0.1:9092"] and single.cassandra_hosts == ["127.0.0.1"]
    assert s.kafka_servers == ["127.0.0.1:9092", "127.0.0.2:9092", "127.0.0.3:9092"]
    assert s.cassandra_hosts == ["127.0.0.1", "127.0.0.2", "127.0.0.3"]
    assert s.spark_master.startswith("spark://") and single.spark_master.startswith("local")
    # another Kafka cluster: offsets of one mean nothing in the other
    assert s.checkpoint_dir != single.checkpoint_dir and s.mongo_database != single.mongo_database
    assert (s.replication.factor, s.replication.min_insync) == (3, 2)
    assert (single.replication.factor, single.replication.min_insync) == (1, 1)
    mine = Settings.from_env({"PROFILEPIPE_TOPOLOGY": "replicated", "PROFILEPIPE_CASSANDRA_HOST": "10.0.0.7"})
    assert mine.cassandra_hosts == ["10.0.0.7"]  # what is set explicitly wins
    with pytest.raises(ValueError, match="PROFILEPIPE_TOPOLOGY must be one of single, replicated"):
        Settings.from_env({"PROFILEPIPE_TOPOLOGY": "ring"})


def test_each_broker_has_its_own_address_and_id_and_the_three_voters(replicated):
    seen = set()
    for i in NODES:
        props = properties(configs(replicated, f"kafka-{i}"))
        assert props["node.id"] == i
        assert props["listeners"] == f"PLAINTEXT://127.0.0.{i}:9092,CONTROLLER://127.0.0.{i}:9093"
        assert props["controller.quorum.voters"] == "1@127.0.0.1:9093,2@127.0.0.2:9093,3@127.0.0.3:9093"
        assert "controller.quorum.bootstrap.servers" not in props
        assert props["log.dirs"].endswith(f"/data/kafka-{i}")
        assert props["default.replication.factor"] == props["offsets.topic.replication.factor"] == "3"
        assert props["min.insync.replicas"] == props["transaction.state.log.min.isr"] == "2"
        seen.add(props["log.dirs"])
    assert len(seen) == 3


def test_the_single_broker_keeps_its_dynamic_quorum_and_one_copy(tmp_path):
    s = Settings.from_env({"PROFILEPIPE_STACK_DIR": str(tmp_path / "st")})
    props = properties(configs(s, "kafka"))
    assert props["controller.quorum.bootstrap.servers"] == "127.0.0.1:9093" and props["node.id"] == "1"
    assert props["default.replication.factor"] == props["min.insync.replicas"] == "1"


def test_each_cassandra_node_listens_on_its_address_with_an_even_share_of_the_ring(replicated):
    tokens = []
    for i in NODES:
        conf = yaml.safe_load(configs(replicated, f"cassandra-{i}"))
        assert conf["listen_address"] == conf["rpc_address"] == f"127.0.0.{i}"
        assert conf["seed_provider"][0]["parameters"][0]["seeds"] == (
            "127.0.0.1:7000,127.0.0.2:7000,127.0.0.3:7000"
        )
        assert conf["data_file_directories"][0].endswith(f"/data/cassandra-{i}/data")
        tokens.append(int(conf["initial_token"]))
    assert tokens == sorted(tokens) and tokens[0] == -(2**63)
    gaps = {b - a for a, b in zip(tokens, [*tokens[1:], tokens[0] + 2**64], strict=True)}
    assert max(gaps) - min(gaps) <= 2  # a third of the ring each
    flags = services.chosen("cassandra-2", replicated)[0].jvm_flags(replicated)
    assert any(f.endswith("/conf/cassandra-2.yaml") for f in flags)


def test_a_role_is_its_nodes_in_the_replicated_topology_and_a_node_is_itself(replicated):
    assert stack.nodes(replicated, "kafka") == ["kafka-1", "kafka-2", "kafka-3"]
    assert stack.nodes(replicated, "cassandra") == ["cassandra-1", "cassandra-2", "cassandra-3"]
    assert [s.ident for s in services.topology(replicated)][:6] == [
        *("kafka-1", "kafka-2", "kafka-3", "cassandra-1", "cassandra-2", "cassandra-3")
    ]
    node = services.chosen("cassandra-3", replicated)[0]
    assert (node.role, node.kind, node.address(replicated)) == ("cassandra", "cassandra", ("127.0.0.3", 9042))
    assert node.jar_folder(replicated).name == "cassandra"  # the nodes share one jar folder
    single = Settings.from_env({})
    assert stack.nodes(single, "kafka") == ["kafka"]
    every = {s.name for s in services.every_server(single)}
    assert {"kafka", "cassandra", "kafka-2", "cassandra-3"} <= every and len(every) == 9
    with pytest.raises(StackError, match="unknown service 'kafka-4'"):
        services.chosen("kafka-4", replicated)


def test_the_replicated_topology_needs_an_address_per_node(tmp_path):
    s = Settings.from_env({"PROFILEPIPE_TOPOLOGY": "replicated", "PROFILEPIPE_CASSANDRA_HOST": "127.0.0.1"})
    with pytest.raises(StackError, match="PROFILEPIPE_CASSANDRA_HOST must list 3 addresses"):
        services.chosen("cassandra-2", s)[0].address(s)


def test_topics_and_keyspace_keep_the_topology_s_copies(replicated):
    single = Settings.from_env({})
    assert provision.keyspace_replication(single) == "{'class': 'SimpleStrategy', 'replication_factor': 1}"
    assert provision.keyspace_replication(replicated) == (
        "{'class': 'NetworkTopologyStrategy', 'datacenter1': 3}"
    )
    assert "NetworkTopologyStrategy" in provision.schema_statements(replicated)[0]
    assert "SimpleStrategy" in provision.schema_statements(single)[0]


def test_the_rows_writer_gets_every_contact_point(replicated):
    options = cassandra_jvm.jvm_options(replicated)
    assert options["contact_points"] == "127.0.0.1:9042,127.0.0.2:9042,127.0.0.3:9042"
    v6 = replicated.replace(cassandra_host="::1,127.0.0.2")
    assert cassandra_jvm.jvm_options(v6)["contact_points"] == "[::1]:9042,127.0.0.2:9042"


def test_the_topology_report_puts_ratios_against_the_single_stack():
    def result(rate: float, p99: float, mib: float) -> dict[str, runs.Run]:
        thr = runs.Run("throughput", int(rate * 10), 10.0, peak_each={"kafka": mib})
        lat = runs.Run(
            "latency", 1000, 5.0, latency={"p50": p99 / 2, "p99": p99}, peak_each={"kafka": mib / 2}
        )
        return {"throughput": thr, "latency": lat}

    text = topologies.render(
        "2026-12-03", 60000, {"single": result(4000, 1.0, 1024), "replicated": result(3000, 2.5, 2048)}
    )
    assert "| single | 4,000 | 1.00x | 0.50 | 1.00 | 1.00x | 1.0 GiB |" in text
    assert "| replicated | 3,000 | 0.75x | 1.25 | 2.50 | 2.50x | 2.0 GiB |" in text
    assert "Peak resident memory per process, replicated (MiB): kafka 2,048; all 2.0 GiB." in text
