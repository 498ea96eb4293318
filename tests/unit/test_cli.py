"""The command line: our errors become one clear line and exit code 2, never a traceback."""

from profilepipe.cli import main
from profilepipe.config import project_root


def test_hmac_without_key_is_a_clear_error(monkeypatch, capsys):
    monkeypatch.setenv("PROFILEPIPE_PII_MODE", "hmac")
    monkeypatch.delenv("PROFILEPIPE_HMAC_KEY", raising=False)
    rc = main(["transform", str(project_root() / "data" / "samples" / "single_user.json")])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: ") and "PROFILEPIPE_HMAC_KEY" in err
    assert "Traceback" not in err


def test_bad_configuration_names_the_variable(monkeypatch, capsys):
    monkeypatch.setenv("PROFILEPIPE_BCRYPT_COST", "99")
    assert main(["config"]) == 2
    assert "PROFILEPIPE_BCRYPT_COST" in capsys.readouterr().err


def test_unknown_stack_service_is_refused(capsys):
    assert main(["stack", "status", "postgres"]) == 2
    assert "unknown service" in capsys.readouterr().err
