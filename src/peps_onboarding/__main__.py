"""``python -m peps_onboarding``: the command line of :mod:`.entrypoints.cli`."""

from .entrypoints.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
