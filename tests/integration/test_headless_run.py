"""`profilepipe run`: the notebooks headless with papermill, figures included."""

import json
import uuid

from profilepipe.tools import notebooks


def test_run_executes_every_notebook_and_saves_the_figures(tmp_path, monkeypatch):
    secret = f"hmac-{uuid.uuid4().hex}"  # a real key for this run; it must not leak anywhere
    monkeypatch.setenv("PROFILEPIPE_HMAC_KEY", secret)
    params = {"count": "150", "malformed": "6", "pii_mode": "hmac"}
    rc = notebooks.run_all(output_dir=str(tmp_path), parameters=params)
    assert rc == 0
    run = next(p for p in tmp_path.iterdir() if p.is_dir() and p.name != "latest")
    leaked = [p.name for p in run.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]
    assert not leaked  # executed notebooks (outputs, injected parameters) and figures
    executed = sorted(p.name for p in run.glob("*.ipynb"))
    assert executed == [b.name for b in notebooks.list_notebooks()]
    shown_as_text = {
        p.name: notebooks.unrendered_figures(json.loads(p.read_text())) for p in run.glob("*.ipynb")
    }
    assert not any(shown_as_text.values()), shown_as_text  # figures are images (notebook 05's live view too)
    nb = json.loads((run / "02_stream_transform_store.ipynb").read_text())
    outputs = "".join("".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", []))
    assert "read=156 " in outputs and "balanced: True" in outputs
    figures = sorted(run.glob("figures/*.png"))
    assert len(figures) == 9 and all(f.stat().st_size > 5000 for f in figures)
    assert (tmp_path / "latest").resolve() == run.resolve()


def test_a_failing_notebook_gives_a_non_zero_exit_and_names_the_cell(tmp_path, capsys):
    rc = notebooks.run_all(
        output_dir=str(tmp_path), only=["00"], parameters={"require_healthy": "true"}, timeout=60
    )
    assert rc == 0
    bad = {"source": "nowhere"}
    rc = notebooks.run_all(output_dir=str(tmp_path), only=["01"], parameters=bad, timeout=120)
    assert rc == 1
    err = capsys.readouterr().err
    assert "01_produce_users.ipynb: cell" in err and "ValueError" in err
