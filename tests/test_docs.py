"""The documentation's examples are executed, so they cannot rot.

Every ```` ```python ```` block of ``README.md`` and ``docs/*.md`` runs, the blocks of one
page in order and in one namespace (as a reader would paste them), in a fresh working
directory that holds ``annuaire.csv``, a copy of the shipped sample directory file.
Every ```` ```pycon ```` session runs as a doctest. A block that cannot run here (it
needs a server) is marked on the line just above its fence with
``<!-- docs: not run: <why> -->``; the marked blocks are listed in :data:`NOT_RUN`, so
that marking one more shows in review. Prefer making a block runnable.
"""

from __future__ import annotations

import ast
import doctest
import importlib
import os
import re
import shutil
from importlib import resources
from pathlib import Path

import pytest
from attrs import frozen

from peps_onboarding.config import VARIABLES
from peps_onboarding.entrypoints.cli import EXIT_CODES

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted([ROOT / "README.md", *DOCS.glob("*.md")])
OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
NOT_RUN_MARK = re.compile(r"<!--\s*docs:\s*not run:\s*(?P<why>.+?)\s*-->")
NOT_RUN: dict[str, int] = {}  # page name -> how many of its python blocks are marked
"""Blocks marked not to run, per page: none. A new mark must be added here."""


@frozen
class Block:
    page: Path
    line: int  # of the opening fence, 1-based
    language: str
    code: str
    not_run: str | None  # the reason given by the mark above the fence


def blocks(page: Path) -> list[Block]:
    """Every fenced block of ``page``, with its language and its mark, if any."""
    found = []
    lines = page.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        opening = re.fullmatch(r"```(\w*).*", lines[index].strip())
        if opening is None:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        mark = NOT_RUN_MARK.search(lines[index - 1]) if index else None
        found.append(
            Block(
                page=page,
                line=index + 1,
                language=opening.group(1),
                code="\n".join(lines[index + 1 : end]) + "\n",
                not_run=mark.group("why") if mark else None,
            )
        )
        index = end + 1
    return found


def python_blocks(page: Path) -> list[Block]:
    return [block for block in blocks(page) if block.language == "python"]


def test_the_pages_are_read_whole() -> None:
    """The walk sees the pages and their blocks (a changed fence would pass vacuously)."""
    names = [page.name for page in PAGES]
    for expected in ("README.md", "operations.md", "adapters.md", "embedding.md"):
        assert expected in names
    assert sum(len(python_blocks(page)) for page in PAGES) >= 5
    assert any(block.language == "pycon" for block in blocks(DOCS / "embedding.md"))


@pytest.mark.parametrize(
    "page", [page for page in PAGES if python_blocks(page)], ids=lambda page: page.name
)
def test_every_python_block_runs(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """README.md and docs/*.md: each ```python block runs as written, in page order."""
    sample = resources.files("peps_onboarding") / "data" / "sample_directory.csv"
    with resources.as_file(sample) as path:
        shutil.copy(path, tmp_path / "annuaire.csv")
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("PEPS_"):
            monkeypatch.delenv(name)
    namespace: dict[str, object] = {"__name__": f"docs.{page.stem}"}
    marked = 0
    for block in python_blocks(page):
        if block.not_run is not None:
            marked += 1
            continue
        code = compile(block.code, f"{page.name}:{block.line}", "exec")
        exec(code, namespace)  # noqa: S102 - our own documentation's examples
    assert marked == NOT_RUN.get(page.name, 0), "a block marked not to run: list it in NOT_RUN"


def run_doctests(page: Path) -> doctest.TestResults:
    return doctest.testfile(str(page), module_relative=False, optionflags=OPTIONS, encoding="utf-8")


@pytest.mark.rule("C1", "C2", "C4", "C5", "C7", "C8", "A4", "E2", "M3", "T1")
def test_embedding_guide_runs_as_written() -> None:
    """docs/embedding.md: wiring, the classic path to the first login, and errors."""
    results = run_doctests(DOCS / "embedding.md")
    assert results.attempted > 0
    assert results.failed == 0


@pytest.mark.rule("M4", "A8")
def test_architecture_examples_run_as_written() -> None:
    """docs/architecture.md: link tokens derive from the outbox's nonces, stored hashed."""
    results = run_doctests(DOCS / "architecture.md")
    assert results.attempted > 0
    assert results.failed == 0


@pytest.mark.parametrize(
    "page",
    [
        page
        for page in PAGES
        if ">>> " in page.read_text(encoding="utf-8")
        and page.name not in ("embedding.md", "architecture.md")  # run just above
    ],
    ids=lambda page: page.name,
)
def test_every_other_session_runs_as_a_doctest(page: Path) -> None:
    """Any other page's ```pycon sessions (docs/operations.md: dead letters) run too."""
    results = run_doctests(page)
    assert results.attempted > 0
    assert results.failed == 0


def test_the_public_names_the_docs_import_are_exported() -> None:
    """Finding e: every ``from peps_onboarding… import …`` of a python block names a
    public place, and what it imports is in that module's ``__all__``."""
    seen = 0
    for page in PAGES:
        for block in python_blocks(page):
            for node in ast.walk(ast.parse(block.code)):
                if not isinstance(node, ast.ImportFrom) or node.module is None:
                    continue
                if node.module.split(".")[0] != "peps_onboarding":
                    continue
                public = importlib.import_module(node.module).__all__
                for alias in node.names:
                    assert alias.name in public, f"{page.name}: {node.module}.{alias.name}"
                    seen += 1
    assert seen >= 5


def test_the_sql_adapters_are_importable_from_their_package() -> None:
    """Finding e: ``from peps_onboarding.adapters.sql import SqlDatabase`` failed."""
    from peps_onboarding.adapters.sql import (
        SqlDatabase,
        SqlDirectory,
        SqlSettings,
        import_directory,
        mask_url,
    )

    assert callable(import_directory) and callable(mask_url)
    assert {SqlDatabase.__name__, SqlDirectory.__name__, SqlSettings.__name__} == {
        "SqlDatabase",
        "SqlDirectory",
        "SqlSettings",
    }


def test_no_page_promises_work_for_a_later_issue() -> None:
    """Finding e: docs/adapters.md spoke of work « in a later issue »."""
    for page in PAGES:
        text = page.read_text(encoding="utf-8").lower()
        assert "later issue" not in text, page.name
        assert "stores issue" not in text, page.name


def test_the_exit_codes_are_documented_as_the_command_line_uses_them() -> None:
    """Finding f: docs/operations.md lists the exit codes of ``EXIT_CODES``."""
    text = " ".join((DOCS / "operations.md").read_text(encoding="utf-8").split())
    for code, meaning in EXIT_CODES.items():
        assert f"| {code} | {meaning} |" in text, code


def test_every_setting_is_documented() -> None:
    """docs/adapters.md names every variable the configuration reads."""
    text = (DOCS / "adapters.md").read_text(encoding="utf-8")
    for variable in [*VARIABLES, "PEPS_DATABASE_URL"]:
        assert f"`{variable}" in text, variable
