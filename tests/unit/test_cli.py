"""The command line: our errors become one clear line and exit code 2, never a traceback."""

import os
import sys
from pathlib import Path

from profilepipe import cli
from profilepipe.cli import main
from profilepipe.config import project_root


def test_bad_configuration_names_the_variable(monkeypatch, capsys):
    monkeypatch.setenv("PROFILEPIPE_BCRYPT_COST", "99")
    assert main(["config"]) == 2
    assert "PROFILEPIPE_BCRYPT_COST" in capsys.readouterr().err


def test_unknown_stack_service_is_refused(capsys):
    assert main(["stack", "status", "postgres"]) == 2
    assert "unknown service" in capsys.readouterr().err


def test_the_stream_refuses_hmac_mode_without_a_key_before_starting_spark(monkeypatch, capsys):
    monkeypatch.setenv("PROFILEPIPE_PII_MODE", "hmac")
    monkeypatch.delenv("PROFILEPIPE_HMAC_KEY", raising=False)
    assert main(["stream", "--until-idle"]) == 2
    assert "PROFILEPIPE_HMAC_KEY" in capsys.readouterr().err


def test_fault_drill_commands_parse():
    from profilepipe.cli import build_parser

    parser = build_parser()
    for action in ("start", "stop", "restart"):
        args = parser.parse_args(["stack", action, "cassandra"])
        assert (args.action, args.services) == (action, ["cassandra"])
    assert parser.parse_args(["stream", "-v", "--until-idle"]).verbose is True
    args = parser.parse_args(
        ["forget", "6250f67e-e927-42e0-aaf6-bcf34f126551", "f0f69e58-c09a-4b9d-a683-cad1650b21ae"]
    )
    assert len(args.user_id) == 2


def test_lab_allows_root_only_for_root():
    from profilepipe.tools import notebooks

    assert "--allow-root" in notebooks.lab_command(8888, as_root=True)
    assert "--allow-root" not in notebooks.lab_command(8888, as_root=False)


def test_lab_opens_without_the_build_dialog(tmp_path, monkeypatch):
    """Dash's source extension makes JupyterLab open a modal "Build Recommended" dialog; the page config
    JupyterLab gets turns that check off, first on JUPYTER_CONFIG_PATH, keeping the user's paths after it."""
    import json

    from profilepipe.tools import notebooks

    monkeypatch.setenv("PROFILEPIPE_HOME", str(tmp_path))
    env = notebooks.lab_env({"JUPYTER_CONFIG_PATH": "/mine", "PATH": "/bin"})
    first, *rest = env["JUPYTER_CONFIG_PATH"].split(os.pathsep)
    assert rest == ["/mine"] and env["PATH"] == "/bin"
    page = json.loads((Path(first) / "labconfig" / "page_config.json").read_text())
    assert page == {"buildCheck": False, "buildAvailable": False} and Path(first).is_relative_to(tmp_path)
    assert notebooks.lab_env({})["JUPYTER_CONFIG_PATH"] == first


def test_lab_says_in_one_line_that_its_port_is_taken(capsys):
    import socket

    from profilepipe.tools import notebooks

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        rc = notebooks.lab(start_stack=False, port=busy.getsockname()[1])
    err = capsys.readouterr().err.strip()
    assert rc == notebooks.EXIT_FAILED
    assert err.count("\n") == 0 and "is in use" in err and "--port" in err


def test_bench_runs_from_the_checkouts_bench_folder(monkeypatch):
    """The benchmark is not installed: the CLI imports it from ``<project root>/bench/``."""
    monkeypatch.setattr(sys, "path", [p for p in sys.path if Path(p).name != "bench"])
    for name in [m for m in sys.modules if m.partition(".")[0] == "profilepipe_bench"]:
        monkeypatch.delitem(sys.modules, name)
    package = cli.bench_package()
    assert Path(package.__file__) == project_root() / "bench" / "profilepipe_bench" / "__init__.py"
    assert callable(package.main)


def test_bench_outside_a_checkout_is_a_clear_error(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("PROFILEPIPE_HOME", str(tmp_path))
    assert main(["bench", "--quick"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the benchmark runs from a checkout") and "PROFILEPIPE_HOME" in err
