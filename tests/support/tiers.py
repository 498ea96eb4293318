"""The tiers as tests/conftest.py defines them, for the tests that check them (loaded from the file
under a name of its own, not pytest's ``conftest``)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def _root_conftest():
    spec = importlib.util.spec_from_file_location("tests_root_conftest", TESTS / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ROOT_CONFTEST = _root_conftest()
TIERS = ROOT_CONFTEST.TIERS
OWN_TOPOLOGY = ROOT_CONFTEST.OWN_TOPOLOGY
