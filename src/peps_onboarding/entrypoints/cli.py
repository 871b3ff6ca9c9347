"""Command line: ``peps-onboarding`` (or ``python -m peps_onboarding``).

- ``demo``: the whole journey in French, on a SQLite file (or ``--database``), with a
  fake clock; writes the e-mails and letters under ``var/demo``.
- ``db upgrade``: applies the schema migrations.
- ``directory import FILE.csv``: loads establishments, contracts and legal representatives.
- ``worker``: the sweep and the outbox dispatcher in a loop (``--once`` for cron).

The database is ``--database URL``, else ``PEPS_DATABASE_URL``, else a SQLite file
``var/peps-onboarding.db``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from ..domain.policy import Policy

__all__ = ["main"]

DEFAULT_DATABASE = "sqlite:///var/peps-onboarding.db"


def _database_url(args: argparse.Namespace) -> str:
    url: str = args.database or os.environ.get("PEPS_DATABASE_URL") or DEFAULT_DATABASE
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return url


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="peps-onboarding", description="Inscription des employeurs publics à PEP's."
    )
    database = argparse.ArgumentParser(add_help=False)
    database.add_argument(
        "--database", help="URL SQLAlchemy (défaut : PEPS_DATABASE_URL, sinon un fichier SQLite)"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser(
        "demo", parents=[database], help="le parcours complet, avec une horloge simulée"
    )
    demo.add_argument(
        "--files",
        type=Path,
        default=Path("var/demo"),
        help="dossier des courriels (.eml) et des courriers (PDF) ; défaut : var/demo",
    )
    demo.add_argument("--no-files", action="store_true", help="n'écrire aucun fichier")
    demo.add_argument(
        "--in-memory", action="store_true", help="magasins en mémoire plutôt que SQLite"
    )

    db = commands.add_parser("db", help="le schéma de la base")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", parents=[database], help="applique les migrations")

    directory = commands.add_parser("directory", help="le répertoire des établissements")
    directory_commands = directory.add_subparsers(dest="directory_command", required=True)
    load = directory_commands.add_parser(
        "import", parents=[database], help="importe un fichier CSV (UTF-8, séparateur ;)"
    )
    load.add_argument("file", type=Path)

    worker = commands.add_parser(
        "worker", parents=[database], help="balayage et distribution des envois, en boucle"
    )
    worker.add_argument("--once", action="store_true", help="une seule passe (pour cron)")
    worker.add_argument("--interval", type=float, default=30.0, help="secondes entre passes")
    worker.add_argument(
        "--batch", type=_positive_int, default=100, help="envois réservés à la fois (défaut 100)"
    )
    worker.add_argument(
        "--lease",
        type=_positive_int,
        default=int(Policy().notification_claim_lease.total_seconds()),
        help="secondes pendant lesquelles un envoi réservé n'est repris par aucun autre "
        "worker (défaut 300) ; plus long que l'envoi le plus lent",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    # Alembic's own INFO lines (plugins, dialect, each step) say nothing an operator
    # needs; SqlDatabase.upgrade logs the change of revision in one line instead.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if args.command == "demo":
        return _demo(args)
    if args.command == "db":
        return _db_upgrade(args)
    if args.command == "directory":
        return _directory_import(args)
    return _worker(args)


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    files = None if args.no_files else args.files
    if args.in_memory:
        run_demo(files=files)
        return 0
    from ..adapters.sql.stores import SqlDatabase

    url = args.database or os.environ.get("PEPS_DATABASE_URL")
    if url is None:
        path = Path("var/demo/onboarding.db")
        path.parent.mkdir(parents=True, exist_ok=True)
        for stale in path.parent.glob(f"{path.name}*"):  # each demo starts from scratch
            stale.unlink()
        url = f"sqlite:///{path}"
    with SqlDatabase(url) as database:
        database.upgrade()
        run_demo(files=files, unit_of_work=database.unit_of_work)
        print(f"\n   Base de données : {url}")
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    from ..adapters.sql.migrations import SchemaUpgradeError
    from ..adapters.sql.stores import SqlDatabase

    url = _database_url(args)
    with SqlDatabase(url) as database:
        try:
            database.upgrade()
        except SchemaUpgradeError as error:
            print(f"Migration impossible ({database.revision()}) : {error}", file=sys.stderr)
            return 2
        print(f"Schéma à jour ({database.revision()}) : {url}")
    return 0


def _directory_import(args: argparse.Namespace) -> int:
    from ..adapters.sql.directory_import import DirectoryFileError, import_directory
    from ..adapters.sql.stores import SqlDatabase

    with SqlDatabase(_database_url(args)) as database:
        database.upgrade()
        try:
            report = import_directory(database.engine, args.file)
        except (DirectoryFileError, OSError) as error:
            print(f"Import impossible : {error}", file=sys.stderr)
            return 2
    print(report.summary)
    for rejected in report.rejected:
        print(f"  ligne {rejected.line}, {rejected.field} : {rejected.reason}", file=sys.stderr)
    return 0 if report.rows_rejected == 0 else 1


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"un entier positif est attendu, pas {text!r}")
    return value


def _worker(args: argparse.Namespace) -> int:
    from ..adapters.sql.directory import SqlDirectory
    from ..adapters.sql.stores import SqlDatabase
    from ..bootstrap import build_from_config
    from ..config import ConfigError, load_config
    from .worker import Worker

    try:
        config = load_config()
    except ConfigError as error:
        print(f"Configuration : {error}", file=sys.stderr)
        return 2
    with SqlDatabase(_database_url(args)) as database:
        database.upgrade()
        try:
            platform = build_from_config(
                config,
                unit_of_work=database.unit_of_work,
                directory=SqlDirectory(database),
                captcha=_NoCaptcha(),
                policy=Policy(notification_claim_lease=timedelta(seconds=args.lease)),
            )
        except ConfigError as error:
            print(f"Configuration : {error}", file=sys.stderr)
            return 2
        worker = Worker(platform, interval=args.interval, batch=args.batch)
        if args.once:
            report = worker.run_once()
            print(report)
            return 0
        worker.install_signal_handlers()
        worker.run()
    return 0


class _NoCaptcha:
    """The worker answers no form: any security check it were asked would fail."""

    def verify(self, response: str) -> bool:
        return False
