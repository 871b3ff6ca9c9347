"""The package layout is the architecture: each layer imports only the layers below it.

Read from the source with :mod:`ast` (nothing is imported), so every import counts:
at the top of a module, under ``TYPE_CHECKING`` or inside a function.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import peps_onboarding

PACKAGE = Path(peps_onboarding.__file__).resolve().parent


def _modules(layer: str) -> Iterator[tuple[str, Path]]:
    """``(dotted name, path)`` of every module of ``peps_onboarding.<layer>``."""
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        parts = ("peps_onboarding", *path.relative_to(PACKAGE).with_suffix("").parts)
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def _imports(module: str, path: Path) -> set[str]:
    """Every module ``module`` imports, relative imports resolved to absolute names."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                found.add(node.module or "")
                continue
            base = ".".join(package[: len(package) - node.level + 1])
            if node.module is None:  # from . import x: x may be a module
                found.update(f"{base}.{alias.name}" for alias in node.names)
            else:
                found.add(f"{base}.{node.module}")
    return found


def _outside(layer: str, allowed: tuple[str, ...]) -> list[str]:
    """``module -> target`` for every import of our own package outside ``allowed``."""
    allowed_names = tuple(f"peps_onboarding.{name}" for name in allowed)
    return [
        f"{module} -> {target}"
        for module, path in _modules(layer)
        for target in sorted(_imports(module, path))
        if target.split(".")[0] == "peps_onboarding"
        and not any(target == a or target.startswith(f"{a}.") for a in allowed_names)
    ]


def test_the_walk_sees_every_layer_module() -> None:
    """The check below reads real modules (a moved package would make it pass vacuously)."""
    adapters = dict(_modules("adapters"))
    domain = dict(_modules("domain"))
    assert "peps_onboarding.adapters.sql.stores" in adapters
    assert "peps_onboarding.domain.account" in domain
    assert "peps_onboarding.domain.links" in _imports(
        "peps_onboarding.adapters.sql.stores", adapters["peps_onboarding.adapters.sql.stores"]
    )


def test_adapters_import_neither_the_application_nor_the_test_support() -> None:
    """An adapter fills a port with a technology: it knows the domain, the ports and other
    adapters, never a use case (``application``), the test support hosts import
    (``testing``), the host-facing converter that knows results (``serialization``), the
    composition root or the entry points."""
    assert _outside("adapters", allowed=("adapters", "domain", "ports")) == []


def test_the_domain_imports_only_itself() -> None:
    """The domain is pure: no adapter, no port, no use case, no test support."""
    assert _outside("domain", allowed=("domain",)) == []


def test_the_screens_speak_only_to_the_use_cases() -> None:
    """The edge parses forms into commands and renders results: it calls the platform
    and reads the domain's errors and values, never an adapter or the composition root,
    so a host can wire any adapters under the same screens."""
    assert "peps_onboarding.web.app" in dict(_modules("web"))
    assert _outside("web", allowed=("web", "application", "domain", "config")) == []
