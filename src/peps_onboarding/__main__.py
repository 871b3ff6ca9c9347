"""Command line: ``python -m peps_onboarding demo``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="peps-onboarding", description="Inscription des employeurs publics à PEP's."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="le parcours complet, sur des adaptateurs en mémoire")
    demo.add_argument(
        "--files",
        type=Path,
        default=Path("var/demo"),
        help="dossier où écrire les courriels (.eml) et les courriers (PDF) ; défaut : var/demo",
    )
    demo.add_argument("--no-files", action="store_true", help="n'écrire aucun fichier")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from .demo import run_demo

        run_demo(files=None if args.no_files else args.files)
    return 0


if __name__ == "__main__":
    sys.exit(main())
