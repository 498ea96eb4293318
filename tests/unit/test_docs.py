"""The README and the pages of ``docs/``: every relative link resolves, the README stays short,
and the configuration table is the one ``profilepipe config --markdown`` prints."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from profilepipe import contract
from profilepipe.cli import main
from profilepipe.config import project_root

ROOT = project_root()
README = ROOT / "README.md"
CONFIG_DOC = ROOT / "docs" / "configuration.md"
README_MAX_LINES = 250  # what a first-time user needs; the rest lives in docs/

FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)
CODE_SPAN = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)  # http:, https:, mailto:, ...


def pages() -> list[Path]:
    return [README, *sorted((ROOT / "docs").glob("*.md"))]


def prose(text: str) -> str:
    """``text`` without fenced code blocks and code spans (no links there)."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def relative_links(page: Path) -> list[str]:
    return [t for t in LINK.findall(prose(page.read_text())) if not EXTERNAL.match(t)]


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip()).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*$", FENCE.sub("", page.read_text()), re.M):
        base = slug(heading)
        name, n = base, 0
        while name in found:  # GitHub numbers repeated headings
            n += 1
            name = f"{base}-{n}"
        found.add(name)
    return found


@pytest.mark.parametrize("page", pages(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(page: Path):
    broken = []
    for target in relative_links(page):
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target}: no heading #{anchor} in {dest.relative_to(ROOT)}")
    assert broken == [], f"{page.relative_to(ROOT)}: broken links"


def test_the_checks_see_links_and_headings():
    """The parsing above finds what it must (else the link test would pass on nothing)."""
    assert "docs/ARCHITECTURE.md#failure-model" in relative_links(README)
    assert "tests/README.md" in relative_links(README)
    assert {"quick-start", "command-line"} <= anchors(README)
    assert slug("What changes on a real cluster") == "what-changes-on-a-real-cluster"
    assert slug("Measured 2026-12-01") == "measured-2026-12-01"
    assert slug("`spark-submit`") == "spark-submit"


def test_readme_stays_short():
    n = len(README.read_text().splitlines())
    assert n <= README_MAX_LINES, f"README.md has {n} lines, at most {README_MAX_LINES}: move detail to docs/"


def test_configuration_table_is_current(capsys):
    """docs/configuration.md holds what ``profilepipe config --markdown`` prints now."""
    assert main(["config", "--markdown"]) == 0
    expected = capsys.readouterr().out.strip()
    m = re.search(r"<!-- config:start[^>]*-->\n(.*?)\n<!-- config:end -->", CONFIG_DOC.read_text(), re.S)
    assert m, "docs/configuration.md has no config:start/config:end block"
    assert m.group(1).strip() == expected, "the table is stale: run scripts/update_config_doc.sh"


def test_stored_fields_page_is_current(capsys):
    """docs/stored-fields.md holds what ``profilepipe config --stored-fields`` prints from the contract."""
    assert main(["config", "--stored-fields"]) == 0
    expected = capsys.readouterr().out.strip()
    page = (CONFIG_DOC.parent / "stored-fields.md").read_text()
    m = re.search(r"<!-- fields:start[^>]*-->\n(.*?)\n<!-- fields:end -->", page, re.S)
    assert m, "docs/stored-fields.md has no fields:start/fields:end block"
    assert m.group(1).strip() == expected, "the page is stale: run scripts/update_config_doc.sh"
    for field in contract.STORED_FIELDS:  # every column, with the profiles that keep it
        assert f"| `{field.column}` | {field.cql_type} |" in m.group(1)
