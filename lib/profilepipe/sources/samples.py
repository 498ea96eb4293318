"""Sample files: the API response files of ``data/samples/`` replayed as users.

``.json`` files hold an envelope, one user or a list of either; ``.jsonl``/``.ndjson``
files hold one envelope or one user per line. ``data/samples/make_samples.py`` rebuilds
the shipped files from the seeded generator.
"""

from __future__ import annotations

import json
from pathlib import Path

from profilepipe.config import project_root


def samples_dir() -> Path:
    return project_root() / "data" / "samples"


def users_in(obj: object, where: str = "") -> list[dict]:
    """The users of an API envelope, a single user, or a list of either."""
    if isinstance(obj, list):
        out: list[dict] = []
        for i, item in enumerate(obj):
            out.extend(users_in(item, f"{where}[{i}]"))
        return out
    if isinstance(obj, dict):
        if isinstance(obj.get("results"), list):
            return [u for u in obj["results"] if isinstance(u, dict)]
        if "login" in obj or "name" in obj or "dob" in obj:
            return [obj]
    raise ValueError(f"{where or 'value'}: neither an API response, a user nor a list of them")


def load_samples(path: str | Path | None = None) -> list[dict]:
    """Users from sample files: a file, or every ``*.json``/``*.jsonl`` of a folder (sorted).

    ``.json`` files hold an envelope, one user or a list; ``.jsonl``/``.ndjson``
    files hold one envelope or one user per line.
    """
    root = Path(path) if path is not None else samples_dir()
    if root.is_dir():
        files = sorted(p for p in root.iterdir() if p.suffix in (".json", ".jsonl", ".ndjson"))
    elif root.is_file():
        files = [root]
    else:
        raise FileNotFoundError(f"no sample file or folder at {root}")
    users: list[dict] = []
    for f in files:
        if f.suffix == ".json":
            users.extend(users_in(json.loads(f.read_text(encoding="utf-8")), f.name))
        else:
            for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
                if line.strip():
                    users.extend(users_in(json.loads(line), f"{f.name}:{n}"))
    return users


__all__ = ["load_samples", "samples_dir", "users_in"]
