"""The documentation's examples are executed, so they cannot rot."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def run_doctests(name: str) -> doctest.TestResults:
    return doctest.testfile(
        str(DOCS / name), module_relative=False, optionflags=OPTIONS, encoding="utf-8"
    )


@pytest.mark.rule("C1", "C2", "C4", "C5", "C7", "C8", "A4", "E2", "M3", "T1")
def test_embedding_guide_runs_as_written() -> None:
    """docs/embedding.md: wiring, the classic path to the first login, and errors."""
    results = run_doctests("embedding.md")
    assert results.attempted > 0
    assert results.failed == 0


@pytest.mark.rule("M4", "A8")
def test_architecture_examples_run_as_written() -> None:
    """docs/architecture.md: link tokens derive from the outbox's nonces, stored hashed."""
    results = run_doctests("architecture.md")
    assert results.attempted > 0
    assert results.failed == 0
