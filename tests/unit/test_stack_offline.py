"""The local stack without servers: config templates, JVM options, the Service table, jars."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from profilepipe import jdk
from profilepipe.config import Settings
from profilepipe.errors import ProfilepipeError, StackError
from profilepipe_stack import jars, layout, services, stack, templates

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings.from_env(
        {
            "PROFILEPIPE_STACK_DIR": str(tmp_path / "st"),
            "PROFILEPIPE_JARS_DIR": str(tmp_path / "jars"),
            "PROFILEPIPE_KAFKA_BOOTSTRAP": "127.0.0.1:19092",
            "PROFILEPIPE_KAFKA_CONTROLLER_PORT": "19093",
            "PROFILEPIPE_CASSANDRA_PORT": "19042",
            "PROFILEPIPE_CASSANDRA_STORAGE_PORT": "17000",
            "PROFILEPIPE_MONGO_URI": "mongodb://127.0.0.1:37017",
            "PROFILEPIPE_KAFKA_HEAP": "384m",
            "PROFILEPIPE_CASSANDRA_HEAP": "768M",
            "PROFILEPIPE_MONGO_HEAP": "128m",
        }
    )


def written(settings: Settings, name: str) -> dict[str, str]:
    layout.conf_dir(settings).mkdir(parents=True, exist_ok=True)
    return {p.name: p.read_text() for p in services.SERVICES[name].write_configs(settings)}


# --------------------------------------------------------------------------- files in stack/
def test_the_stack_folder_is_found_from_the_checkout():
    assert layout.source_dir() == ROOT / "stack"


def test_every_template_and_options_file_exists_and_is_tracked_beside_its_pom():
    for svc in services.SERVICES.values():
        assert (svc.source() / "pom.xml").is_file()
        for name in (*svc.jvm_options, *(t for t, _ in svc.templates)):
            assert (svc.source() / name).is_file(), f"stack/{svc.name}/{name}"
    assert (layout.source_dir() / templates.COMMON_OPTIONS).is_file()
    assert (layout.source_dir() / "kafka" / "storage-tool.options").is_file()


def test_every_placeholder_of_every_template_is_known(settings):
    known = set(templates.values(settings, "kafka"))
    files = sorted(layout.source_dir().glob("*.options")) + sorted(layout.source_dir().glob("*/*.options"))
    files += sorted(layout.source_dir().glob("*/*.template"))
    assert len(files) >= 8
    for path in files:
        body = "\n".join(ln for ln in path.read_text().splitlines() if not ln.lstrip().startswith("#"))
        used = set(re.findall(r"\$\{?(\w+)", body))
        assert used <= known, f"{path.name}: {used - known}"


def test_an_unknown_placeholder_is_a_stack_error_naming_the_file(tmp_path):
    bad = tmp_path / "bad.options"
    bad.write_text("-Xmx${no_such_setting}\n")
    with pytest.raises(StackError, match=r"bad\.options: bad placeholder 'no_such_setting'"):
        templates.options(bad, {"kafka_heap": "1g"})
    assert issubclass(StackError, ProfilepipeError)


# --------------------------------------------------------------------------- rendered configs
def test_kafka_properties_are_rendered_from_the_settings(settings):
    text = written(settings, "kafka")["kafka.properties"]
    props = dict(ln.split("=", 1) for ln in text.splitlines() if ln and not ln.startswith("#"))
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["advertised.listeners"] == props["listeners"]
    assert props["controller.quorum.bootstrap.servers"] == "127.0.0.1:19093"
    assert props["log.dirs"] == str(layout.data_dir(settings, "kafka"))
    assert props["auto.create.topics.enable"] == "false"
    assert len(props) == 28 and "$" not in text


def test_cassandra_yaml_is_rendered_from_the_settings(settings):
    yaml = pytest.importorskip("yaml")
    conf = yaml.safe_load(written(settings, "cassandra")["cassandra.yaml"])
    data = layout.data_dir(settings, "cassandra")
    assert conf["native_transport_port"] == 19042 and conf["storage_port"] == 17000
    assert conf["listen_address"] == conf["rpc_address"] == "127.0.0.1"
    assert conf["seed_provider"][0]["parameters"][0]["seeds"] == "127.0.0.1:17000"
    assert conf["data_file_directories"] == [f"{data}/data"]
    assert conf["commitlog_directory"] == f"{data}/commitlog"
    assert (conf["authenticator"], conf["authorizer"]) == ("AllowAllAuthenticator", "AllowAllAuthorizer")


def test_cassandra_turns_authentication_on_with_a_username(settings):
    yaml = pytest.importorskip("yaml")
    secured = settings.replace(cassandra_username="admin", cassandra_password="pw")
    conf = yaml.safe_load(written(secured, "cassandra")["cassandra.yaml"])
    assert (conf["authenticator"], conf["authorizer"]) == ("PasswordAuthenticator", "CassandraAuthorizer")


def test_mongo_has_no_config_file(settings):
    assert written(settings, "mongo") == {}


# --------------------------------------------------------------------------- the Service table
def test_the_service_table():
    assert stack.SERVICES == ("kafka", "cassandra", "mongo")
    assert list(services.SERVICES) == list(stack.SERVICES)
    assert sorted(services.START_ORDER) == sorted(stack.SERVICES)
    assert {s.name: s.what for s in services.SERVICES.values()} == {
        "kafka": "broker",
        "cassandra": "CQL",
        "mongo": "wire protocol",
    }


def test_ports_addresses_and_the_variables_that_move_them(settings):
    kafka, cassandra, mongo = services.KAFKA, services.CASSANDRA, services.MONGO
    assert kafka.ports(settings) == [("127.0.0.1", 19092), ("127.0.0.1", 19093)]
    assert cassandra.ports(settings) == [("127.0.0.1", 19042), ("127.0.0.1", 17000)]
    assert mongo.ports(settings) == [("127.0.0.1", 37017)]
    assert [s.address(settings)[1] for s in (kafka, cassandra, mongo)] == [19092, 19042, 37017]
    assert kafka.port_variables() == "PROFILEPIPE_KAFKA_BOOTSTRAP, PROFILEPIPE_KAFKA_CONTROLLER_PORT"
    assert cassandra.port_variables() == "PROFILEPIPE_CASSANDRA_PORT, PROFILEPIPE_CASSANDRA_STORAGE_PORT"
    assert mongo.port_variables() == "PROFILEPIPE_MONGO_URI"


def test_services_are_chosen_by_name():
    assert [s.name for s in services.chosen(None)] == ["kafka", "cassandra", "mongo"]
    assert [s.name for s in services.chosen("mongo")] == ["mongo"]
    assert [s.name for s in services.chosen(["mongo", "kafka", "mongo"])] == ["mongo", "kafka"]
    with pytest.raises(StackError, match="unknown service 'postgres'"):
        services.chosen(["postgres"])


@pytest.fixture
def fake_jdk(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "jdk17"
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "java").write_text("#!/bin/sh\n")
    (home / "release").write_text('JAVA_VERSION="17.0.12"\n')
    return home


def test_command_lines_carry_the_markers_the_running_stack_is_found_by(settings, fake_jdk):
    s = settings.replace(java_home=str(fake_jdk))
    for svc in services.SERVICES.values():
        cmd = svc.command(s)
        assert cmd[:3] == [
            str(fake_jdk / "bin" / "java"),
            f"-Dprofilepipe.service={svc.name}",
            f"-Dprofilepipe.stack={layout.stack_dir(s)}",
        ]
        assert f"-Djava.io.tmpdir={layout.tmp_dir(s)}" in cmd
        cp = cmd[cmd.index("-cp") + 1]
        assert cp.split(":")[0] == f"{jars.folder(s, svc.name)}/*"
        assert cmd[cmd.index("-cp") + 2] == svc.main_class
        assert not [a for a in cmd if "$" in a or a.startswith("#")], cmd


def test_each_server_gets_its_heap_flags_and_arguments(settings, fake_jdk):
    s = settings.replace(java_home=str(fake_jdk))
    kafka, cassandra, mongo = (services.SERVICES[n].command(s) for n in ("kafka", "cassandra", "mongo"))
    assert {"-Xms384m", "-Xmx384m"} <= set(kafka)
    assert kafka[-2:] == ["kafka.Kafka", str(layout.conf_dir(s) / "kafka.properties")]
    assert f"-Dlog4j2.configurationFile={(layout.source_dir() / 'kafka' / 'log4j2.xml').as_uri()}" in kafka
    assert {"-Xms768M", "-Xmx768M"} <= set(cassandra)
    assert f"-Dcassandra.config={(layout.conf_dir(s) / 'cassandra.yaml').as_uri()}" in cassandra
    assert f"-Dlogback.configurationFile={layout.source_dir() / 'cassandra' / 'logback.xml'}" in cassandra
    assert "-Xmx128m" in mongo
    assert mongo[-4:] == [
        "MongoLauncher",
        "127.0.0.1",
        "37017",
        str(layout.data_dir(s, "mongo") / "mongo.mv.db"),
    ]
    assert mongo[mongo.index("-cp") + 1].endswith(f":{jars.folder(s, 'mongo') / 'launcher'}")


def test_cassandra_gets_the_jpms_flags_as_pairs_and_the_jamm_agent(settings, fake_jdk):
    s = settings.replace(java_home=str(fake_jdk))
    assert not [a for a in services.CASSANDRA.command(s) if a.startswith("-javaagent")]  # no jars yet
    folder = jars.folder(s, "cassandra")
    folder.mkdir(parents=True)
    (folder / "jamm-0.4.0.jar").write_bytes(b"")
    cmd = services.CASSANDRA.command(s)
    assert f"-javaagent:{folder / 'jamm-0.4.0.jar'}" in cmd
    opens = [cmd[i + 1] for i, a in enumerate(cmd) if a == "--add-opens"]
    exports = [cmd[i + 1] for i, a in enumerate(cmd) if a == "--add-exports"]
    assert len(opens) == 15 and len(exports) == 10
    assert "java.base/java.lang=ALL-UNNAMED" in opens and "jdk.unsupported/sun.misc=ALL-UNNAMED" in exports
    assert "-Djdk.attach.allowAttachSelf=true" in cmd


# --------------------------------------------------------------------------- jars and the JDK
def test_the_jar_cache_marker_hash_is_the_pom_then_the_launcher_sources():
    src = layout.source_dir() / "mongo"
    expected = hashlib.sha256()
    for name in ("pom.xml", "MongoLauncher.java"):  # a jar cache resolved before stays valid
        expected.update(name.encode() + b"\0" + (src / name).read_bytes() + b"\0")
    assert jars._group_hash("mongo") == expected.hexdigest()
    pom = (layout.source_dir() / "kafka" / "pom.xml").read_bytes()
    assert jars._group_hash("kafka") == hashlib.sha256(b"pom.xml\0" + pom + b"\0").hexdigest()


def test_java_home_accepts_a_configured_jdk17_and_refuses_another(settings, fake_jdk, tmp_path):
    assert jdk.java_home(settings.replace(java_home=str(fake_jdk))) == fake_jdk
    jdk21 = tmp_path / "jdk21"
    (jdk21 / "bin").mkdir(parents=True)
    (jdk21 / "bin" / "java").write_text("")
    (jdk21 / "release").write_text('JAVA_VERSION="21.0.2"\n')
    with pytest.raises(StackError, match="is not a JDK 17 \\(it is Java 21\\)"):
        jdk.java_home(settings.replace(java_home=str(jdk21)))


def test_spark_uses_the_one_jdk_finder(settings, fake_jdk):
    from profilepipe.pipeline import spark

    assert spark.find_java17(settings.replace(java_home=str(fake_jdk))) == str(fake_jdk)
    assert not hasattr(spark, "_java_major")


def test_there_is_one_command_line_parser():
    assert not hasattr(stack, "main")
    for path in (ROOT / "lib" / "profilepipe_stack").glob("*.py"):
        text = path.read_text()
        assert "argparse" not in text, path.name
        assert not re.search(r"\bsvc == \"(kafka|cassandra|mongo)\"", text), path.name


def test_kraft_cluster_ids_never_read_as_an_option():
    """1 id in 64 of plain base64 starts with '-', which kafka-storage took for an option."""
    import base64

    ids = [services.kraft_cluster_id() for _ in range(5000)]
    assert not [i for i in ids if i.startswith("-")]
    assert all(len(i) == 22 and len(base64.urlsafe_b64decode(i + "==")) == 16 for i in ids)
    assert len(set(ids)) == len(ids)
