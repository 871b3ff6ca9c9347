"""Command line: ``python -m peps_onboarding demo``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="peps-onboarding", description="Inscription des employeurs publics à PEP's."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="le parcours complet, sur des adaptateurs en mémoire")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from .demo import run_demo

        run_demo()
    return 0


if __name__ == "__main__":
    sys.exit(main())
