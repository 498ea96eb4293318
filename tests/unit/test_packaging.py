"""The project's own files: pinned requirements, conda env, compose file, CLI."""

import os
import re
import shutil
import subprocess
import sys

import pytest

from profilepipe.config import Settings, project_root

ROOT = project_root()


def _requirements() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[name.lower()] = version
    return pins


def test_every_requirement_is_pinned():
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            assert re.fullmatch(r"[A-Za-z0-9_.\-]+==[0-9][0-9A-Za-z.]*", line), f"not pinned: {line}"


def test_constraints_agree_with_requirements():
    locked = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if "==" in line:
            name, _, version = line.strip().partition("==")
            locked[name.lower().replace("_", "-")] = version
    for name, version in _requirements().items():
        assert locked.get(name) == version, f"{name}: requirements {version}, constraints {locked.get(name)}"


def test_environment_yml_pip_list_matches_requirements():
    text = (ROOT / "environment.yml").read_text()
    pip_section = text.split("- pip:", 1)[1]
    listed = {}
    for line in pip_section.splitlines():
        m = re.match(r"\s+-\s+([A-Za-z0-9_.\-]+)==(\S+)", line)
        if m:
            listed[m.group(1).lower()] = m.group(2)
    assert listed == _requirements()
    assert "openjdk=17" in text and "maven" in text


def test_compose_uses_the_local_stack_ports_and_pinned_images():
    text = (ROOT / "docker-compose.yml").read_text()
    s = Settings()
    for port in (s.kafka_port, s.cassandra_port, s.mongo_port):
        assert f'"127.0.0.1:{port}:{port}"' in text
    images = re.findall(r"image:\s*(\S+)", text)
    assert len(images) == 3
    for image in images:
        name, _, tag = image.partition(":")
        assert re.fullmatch(r"\d+\.\d+\.\d+", tag), f"{image} is not pinned to an exact tag"
    assert {i.split(":")[0] for i in images} == {"apache/kafka", "cassandra", "mongo"}
    assert re.search(r"image:\s*cassandra:5\.0\.", text) and re.search(r"image:\s*mongo:8\.", text)


def _compose_cmd():
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    return None


def test_docker_compose_config_accepts_the_file():
    cmd = _compose_cmd()
    if cmd is None:
        if os.environ.get("CI"):
            pytest.fail("docker compose is missing in CI: scripts/install-compose.sh should have built it")
        pytest.skip("docker compose plugin not installed (scripts/install-compose.sh builds it)")
    out = subprocess.run(
        cmd + ["-f", str(ROOT / "docker-compose.yml"), "config", "--format", "json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    import json

    config = json.loads(out.stdout)
    assert set(config["services"]) == {"kafka", "cassandra", "mongo"}
    for svc in config["services"].values():
        assert "healthcheck" in svc
    assert set(config["volumes"]) >= {"kafka-data", "cassandra-data", "mongo-data"}


def test_cli_help_lists_the_subcommands():
    out = subprocess.run([sys.executable, "-m", "profilepipe.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    for sub in ("stack", "produce", "stream", "transform", "run", "lab", "bench", "config", "reset"):
        assert re.search(rf"^\s+{sub}\s", out.stdout, re.M), f"{sub} missing from --help"


def test_readme_names_the_two_commands_and_the_docs_every_variable():
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
    assert "docs/configuration.md" in readme
    configuration = (ROOT / "docs" / "configuration.md").read_text()
    for name, _default, _help in Settings.describe():
        assert name in configuration, f"{name} is not documented in docs/configuration.md"


def test_ci_calls_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci and "trap" in ci


def test_nothing_binary_or_generated_is_committed():
    out = subprocess.run(["git", "ls-files"], capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        pytest.skip("not a git checkout")
    files = out.stdout.splitlines()
    assert not [f for f in files if f.endswith((".jar", ".class", ".pyc"))]
    assert not [f for f in files if f.startswith((".stack/", ".cache/", "output/", ".venv/"))]


def test_the_project_refers_to_no_file_outside_its_repository():
    """Notes kept beside a checkout (a team's fact sheet, a parent folder) are not the project's."""
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    outside = re.compile(r"FACTS\.md|\.\./shared\b|\bshared/FACTS")
    offenders = []
    for name in tracked.stdout.splitlines():
        path = ROOT / name
        if path.suffix in {".png", ".jar"} or not path.is_file() or name == "tests/unit/test_packaging.py":
            continue
        if outside.search(path.read_text(errors="replace")):
            offenders.append(name)
    assert not offenders, f"these files name a file outside the repository: {offenders}"


def test_test_modules_have_unique_basenames():
    """pytest imports test modules by basename (no __init__.py): two of one name cannot both run."""
    names = [p.name for p in (ROOT / "tests").rglob("test_*.py")]
    assert sorted(n for n in set(names) if names.count(n) > 1) == []
