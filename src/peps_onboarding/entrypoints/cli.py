"""Command line: ``peps-onboarding`` (or ``python -m peps_onboarding``), in French.

- ``demo``: the whole journey in French, on a SQLite file (or ``--database``), with a
  fake clock; writes the e-mails and letters under ``var/demo``.
- ``db upgrade``: applies the schema migrations.
- ``directory import FILE.csv``: loads establishments, contracts and legal representatives.
- ``worker``: the sweep and the outbox dispatcher in a loop (``--once`` for cron).
- ``outbox list`` / ``outbox retry [ID…]``: the dead letters, and sending them again.
- ``serve --demo``: the screens in a browser, on a demonstration platform (:mod:`.serve`).

The database is ``--database URL``, else ``PEPS_DATABASE_URL``, else a SQLite file
``var/peps-onboarding.db``. Every message is French, argparse's own included (the
parser and its help are subclassed below); ``--json`` prints what scripts read. A
failure ends in one line on standard error and an exit code (:data:`EXIT_CODES`), never
in a traceback; a URL's password never reaches the screen or the logs.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import textwrap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn
from zoneinfo import ZoneInfo

from attrs import asdict

from ..config import ConfigError
from ..domain.errors import (
    CaptchaUnavailableError,
    NetEntreprisesUnavailableError,
    NotificationDeliveryError,
    OnboardingError,
    ServiceUnavailableError,
)
from ..domain.policy import Policy
from .worker import counted

if TYPE_CHECKING:
    from ..adapters.sql.stores import SqlDatabase
    from ..application.platform import Platform
    from ..domain.notifications import EmailMessage, Letter
    from ..domain.values import Siret
    from ..ports import ChallengeMedia, NetEntreprisesIdentity, SecurityChallenge

__all__ = ["EXIT_CODES", "MaskingFilter", "main", "mask_urls"]

DEFAULT_DATABASE = "sqlite:///var/peps-onboarding.db"
PARIS = ZoneInfo("Europe/Paris")

OK, PARTIAL, USAGE, UNAVAILABLE, INTERNAL, INTERRUPTED = 0, 1, 2, 3, 4, 130
EXIT_CODES = {
    OK: "succès",
    PARTIAL: "terminé, mais avec des refus (lignes rejetées, envois en échec, "
    "identifiants inconnus)",
    USAGE: "usage ou configuration (argument, réglage, fichier illisible, migration "
    "impossible, autre secret)",
    UNAVAILABLE: "base de données ou service extérieur injoignable : réessayer plus tard",
    INTERNAL: "erreur interne inattendue",
    INTERRUPTED: "interrompu (Ctrl-C)",
}

_EPILOG = "\n".join(
    [
        "Codes de sortie :",
        *(
            textwrap.fill(meaning, 78, initial_indent=f"  {code:<4} ", subsequent_indent=" " * 7)
            for code, meaning in EXIT_CODES.items()
        ),
        "",
        textwrap.fill(
            f"La base est --database, sinon PEPS_DATABASE_URL, sinon {DEFAULT_DATABASE}. "
            "Réglages (PEPS_SECRET, PEPS_BASE_URL, PEPS_MAIL_BACKEND…) : docs/adapters.md ; "
            "exploitation : docs/operations.md.",
            78,
            break_on_hyphens=False,
        ),
    ]
)


def _described(text: str) -> str:
    return textwrap.fill(text, 78)


# --- URLs without their password -----------------------------------------------------


_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+", re.IGNORECASE)


def mask_urls(text: str) -> str:
    """``text`` with every URL in it shown by :func:`~peps_onboarding.adapters.sql.mask_url`
    (a password, or a secret-looking query value, as ``***``)."""
    try:
        from ..adapters.sql.urls import mask_url  # here: ``--aide`` needs no database driver
    except Exception:  # the last line must still come out, masked the crude way
        return re.sub(r"(://[^\s:/@]*):[^\s@]*@", r"\1:***@", text)
    return _URL.sub(lambda found: mask_url(found.group(0)), text)


class MaskingFilter(logging.Filter):
    """Masks URL passwords in every log record, whoever logs it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record: logging reports it itself
            return True
        masked = mask_urls(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


# --- argparse, in French ------------------------------------------------------------

_ARGPARSE = (  # argparse's own messages (Python 3.11–3.13), and what we say instead
    (r"the following arguments are required: (.*)", r"arguments obligatoires manquants : \1"),
    (r"unrecognized arguments: (.*)", r"arguments inconnus : \1"),
    (r"invalid choice: (.*) \(choose from (.*)\)", r"choix invalide : \1 (choisir parmi \2)"),
    (r"invalid int value: (.*)", r"un nombre entier est attendu, pas \1"),
    (r"invalid float value: (.*)", r"un nombre est attendu, pas \1"),
    (r"invalid (\S+) value: (.*)", r"valeur invalide : \2"),
    (r"expected one argument", "une valeur est attendue"),
    (r"expected at most one argument", "une valeur au plus est attendue"),
    (r"expected at least one argument", "une valeur au moins est attendue"),
    (r"expected (\d+) arguments?", r"\1 valeur(s) attendue(s)"),
    (r"ambiguous option: (\S+) could match (.*)", r"option ambiguë : \1 peut désigner \2"),
    (r"not allowed with argument (.*)", r"incompatible avec \1"),
    (r"ignored explicit argument (.*)", r"valeur ignorée : \1"),
    (r"one of the arguments (.*) is required", r"l'un des arguments \1 est obligatoire"),
)


def _french(message: str) -> str:
    """argparse's English message, in French (``argument X: …`` keeps its argument)."""
    argument = re.fullmatch(r"argument (.+?): (.*)", message, re.S)
    if argument:
        return f"argument {argument.group(1)} : {_french(argument.group(2))}"
    for pattern, french in _ARGPARSE:
        if re.fullmatch(pattern, message, re.S):
            return re.sub(pattern, french, message, flags=re.S)
    return message


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """« Utilisation : », and each option's default « (défaut : …) » when it has one."""

    def add_usage(
        self,
        usage: str | None,
        actions: Any,
        groups: Any,
        prefix: str | None = None,
    ) -> None:
        super().add_usage(usage, actions, groups, "Utilisation : " if prefix is None else prefix)

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            "%(default)" in text
            or not action.option_strings
            or default is None
            or default is argparse.SUPPRESS
            or isinstance(default, bool)
        ):
            return text
        return f"{text} (défaut : %(default)s)"


class _Parser(argparse.ArgumentParser):
    """argparse with French help, usage and errors; ``-h`` / ``--aide`` for help."""

    def __init__(self, *args: Any, help_option: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        if help_option:
            kwargs.setdefault("epilog", _EPILOG)  # the exit codes, under every help
        kwargs["add_help"] = False
        super().__init__(*args, **kwargs)
        self._positionals.title = "arguments"
        self._optionals.title = "options"
        if help_option:  # a parent parser lends its options only
            self.add_argument(
                "-h", "--aide", action="help", default=argparse.SUPPRESS, help="affiche cette aide"
            )

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE, f"{self.prog} : erreur : {_french(message)} (voir --aide)\n")


def _positive_int(text: str) -> int:
    try:
        # ASCII digits only (E1): int() would read « １０ » as 10.
        value = int(text) if text.isascii() else 0
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"un entier positif est attendu, pas {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"un nombre de secondes est attendu, pas {text!r}")
    return value


def _parser() -> _Parser:
    parser = _Parser(
        prog="peps-onboarding",
        description=_described(
            "Inscription des employeurs publics à PEP's : base, annuaire, worker, envois."
        ),
    )
    database = _Parser(prog="peps-onboarding", help_option=False)
    database._optionals.title = "base de données"
    database.add_argument(
        "--database",
        metavar="URL",
        help="URL SQLAlchemy (défaut : PEPS_DATABASE_URL, sinon un fichier SQLite "
        "var/peps-onboarding.db)",
    )
    output = _Parser(prog="peps-onboarding", help_option=False)
    output.add_argument("--json", action="store_true", help="sortie JSON, pour les scripts")
    common: dict[str, Any] = {"parents": [database, output]}
    commands = parser.add_subparsers(
        dest="command", required=True, title="commandes", metavar="COMMANDE"
    )

    demo = commands.add_parser(
        "demo",
        parents=[database],
        help="le parcours complet, avec une horloge simulée",
        description=_described(
            "Le parcours complet en français, horloge simulée, adaptateurs en "
            "mémoire : une démonstration, rien ne part."
        ),
    )
    demo.add_argument(
        "--files",
        type=Path,
        default=Path("var/demo"),
        metavar="DOSSIER",
        help="dossier des courriels (.eml) et des courriers (PDF)",
    )
    demo.add_argument("--no-files", action="store_true", help="n'écrire aucun fichier")
    demo.add_argument(
        "--in-memory", action="store_true", help="magasins en mémoire plutôt que SQLite"
    )
    demo.set_defaults(run=_demo)

    db = commands.add_parser("db", help="le schéma de la base")
    db_commands = db.add_subparsers(
        dest="db_command", required=True, title="commandes", metavar="COMMANDE"
    )
    upgrade = db_commands.add_parser(
        "upgrade",
        help="applique les migrations",
        description=_described("Crée ou met à jour le schéma (migrations Alembic livrées)."),
        **common,
    )
    upgrade.set_defaults(run=_db_upgrade)

    directory = commands.add_parser("directory", help="l'annuaire des établissements")
    directory_commands = directory.add_subparsers(
        dest="directory_command", required=True, title="commandes", metavar="COMMANDE"
    )
    load = directory_commands.add_parser(
        "import",
        help="importe un fichier CSV (UTF-8, séparateur ;)",
        description=_described(
            "Importe (ou met à jour) établissements, contrats et représentants "
            "légaux ; format : docs/directory-import.md."
        ),
        **common,
    )
    load.add_argument("file", type=Path, metavar="FICHIER", help="le fichier CSV")
    load.set_defaults(run=_directory_import)

    worker = commands.add_parser(
        "worker",
        help="balayage et distribution des envois, en boucle",
        description=_described(
            "Balayage (T1) puis distribution des envois (M3), passe après passe, "
            "jusqu'à SIGTERM. Refuse de démarrer sans PEPS_SECRET, PEPS_BASE_URL et de vrais "
            "envois (PEPS_MAIL_BACKEND, PEPS_LETTERS_BACKEND), sauf --demo."
        ),
        **common,
    )
    worker.add_argument("--once", action="store_true", help="une seule passe (pour cron)")
    worker.add_argument(
        "--interval",
        type=_positive_float,
        default=30.0,
        metavar="SECONDES",
        help="secondes entre deux passes",
    )
    worker.add_argument(
        "--batch", type=_positive_int, default=100, metavar="N", help="envois réservés à la fois"
    )
    worker.add_argument(
        "--lease",
        type=_positive_int,
        default=int(Policy().notification_claim_lease.total_seconds()),
        metavar="SECONDES",
        help="secondes pendant lesquelles un envoi réservé n'est repris par aucun autre "
        "worker ; plus long que l'envoi le plus lent",
    )
    worker.add_argument(
        "--demo",
        action="store_true",
        help="démonstration : accepte les envois en mémoire et une adresse locale des liens "
        "(comme PEPS_DEMO=1)",
    )
    worker.set_defaults(run=_worker)

    outbox = commands.add_parser("outbox", help="les envois abandonnés (lettres mortes)")
    outbox_commands = outbox.add_subparsers(
        dest="outbox_command", required=True, title="commandes", metavar="COMMANDE"
    )
    listing = outbox_commands.add_parser(
        "list",
        help="liste les envois abandonnés",
        description=_described(
            "Les envois abandonnés (refus définitif ou trop d'essais), les plus anciens d'abord."
        ),
        **common,
    )
    listing.set_defaults(run=_outbox_list)
    retry = outbox_commands.add_parser(
        "retry",
        help="remet des envois abandonnés en file",
        description=_described(
            "Remet en file les envois abandonnés donnés (tous sans ID) ; le "
            "worker les distribue à sa prochaine passe."
        ),
        **common,
    )
    retry.add_argument("ids", nargs="*", metavar="ID", help="identifiant d'envoi (outbox list)")
    retry.set_defaults(run=_outbox_retry)

    serve = commands.add_parser(
        "serve",
        help="les écrans dans un navigateur, pour une démonstration (--demo)",
        description=_described(
            "Les écrans sur une plateforme de démonstration : base SQLite temporaire, "
            "annuaire d'exemple, horloge simulée, courriels et courriers montrés sur la page "
            "Démonstration. En production, l'hôte monte peps_onboarding.web.create_app dans "
            "son propre serveur ASGI (docs/web.md)."
        ),
    )
    serve.add_argument(
        "--demo", action="store_true", help="obligatoire : une démonstration, rien ne part"
    )
    serve.add_argument(
        "--host",
        metavar="ADRESSE",
        help="adresse d'écoute (défaut : 127.0.0.1 ; une autre, hors de cette machine, "
        "avec un avertissement)",
    )
    serve.add_argument(
        "--port", type=_positive_int, default=8000, metavar="PORT", help="port d'écoute"
    )
    serve.add_argument(
        "--data",
        type=Path,
        metavar="DOSSIER",
        help="dossier de la base SQLite, gardée (défaut : un dossier temporaire, effacé)",
    )
    serve.set_defaults(run=_serve)
    return parser


# --- running a command ------------------------------------------------------------------


class _CommandError(Exception):
    """Ends the command: one French line on stderr, and the exit code."""

    def __init__(self, line: str, code: int) -> None:
        super().__init__(line)
        self.line, self.code = line, code


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _configure_logging()
    try:
        code: int = args.run(args)
    except _CommandError as failure:
        return _fail(failure.line, failure.code)
    except ConfigError as error:
        return _fail(f"Configuration : {error}", USAGE)
    except ServiceUnavailableError as error:
        return _fail(f"Service indisponible : {error.text}", UNAVAILABLE)
    except OnboardingError as error:
        return _fail(f"Refusé [{error.code}] : {error.text}", USAGE)
    except KeyboardInterrupt:
        return _fail("Interrompu.", INTERRUPTED)
    except Exception as error:  # the last resort: one line, no traceback
        logging.getLogger(__name__).debug("erreur interne", exc_info=True)
        return _fail(f"Erreur interne inattendue ({type(error).__name__}) : {error}", INTERNAL)
    return code


def _fail(line: str, code: int) -> int:
    print(mask_urls(" ".join(line.split())), file=sys.stderr)
    return code


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    masking = MaskingFilter()
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(masking)
    # Alembic's own INFO lines (plugins, dialect, each step) say nothing an operator
    # needs; SqlDatabase.upgrade logs the change of revision in one line instead.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # The stores log the change of revision in English for hosts; the command line says
    # it in French itself (``_database``).
    logging.getLogger("peps_onboarding.adapters.sql.stores").setLevel(logging.WARNING)


def _print_json(data: object) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def _paris(moment: datetime | None) -> str:
    """A moment as Paris reads it: « 13/03/2024 10:30 »."""
    return "-" if moment is None else f"{moment.astimezone(PARIS):%d/%m/%Y %H:%M}"


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def _database_url(args: argparse.Namespace) -> str:
    url: str = args.database or os.environ.get("PEPS_DATABASE_URL") or DEFAULT_DATABASE
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        try:
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise _CommandError(
                f"Base de données : impossible de créer le dossier de {url} ({error.strerror})",
                USAGE,
            ) from None
    return url


@contextmanager
def _database(url: str, *, upgrade: bool = True) -> Iterator[SqlDatabase]:
    """The database at ``url``, brought to the newest schema, or a one-line failure."""
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

    from ..adapters.sql.migrations import SchemaUpgradeError
    from ..adapters.sql.stores import SqlDatabase

    shown = mask_urls(url)
    invalid = _CommandError(
        f"Base de données : adresse invalide {shown} ; SQLite ou PostgreSQL, par exemple "
        "sqlite:///var/peps-onboarding.db ou postgresql+psycopg://utilisateur@hôte/base",
        USAGE,
    )
    try:
        if make_url(url).get_backend_name() not in ("sqlite", "postgresql"):
            raise invalid
        database = SqlDatabase(url)
    except (ArgumentError, NoSuchModuleError, ValueError):
        raise invalid from None
    except ImportError as error:
        raise _CommandError(
            f"Base de données : le pilote {error.name or 'PostgreSQL'} n'est pas installé "
            "(pip install 'peps-onboarding[postgresql]')",
            USAGE,
        ) from None
    try:
        if upgrade:
            before = database.revision()
            try:
                database.upgrade()
            except SchemaUpgradeError as error:
                raise _CommandError(
                    f"Migration impossible ({database.revision()}) : {error}", USAGE
                ) from None
            after = database.revision()
            if after != before and before is None:
                logging.getLogger(__name__).info("schéma créé (révision %s)", after)
            elif after != before:
                logging.getLogger(__name__).info("schéma mis à jour de %s à %s", before, after)
        yield database
    except (ServiceUnavailableError, DBAPIError) as error:
        logging.getLogger(__name__).debug("base injoignable : %s", error)
        raise _CommandError(
            f"Base de données injoignable : {shown} (vérifiez l'adresse, le serveur, le "
            "réseau et les droits ; réessayez ensuite)",
            UNAVAILABLE,
        ) from None
    finally:
        database.dispose()


# --- the commands -------------------------------------------------------------------------


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    files = None if args.no_files else args.files
    if args.in_memory:
        run_demo(files=files)
        return OK
    url = args.database or os.environ.get("PEPS_DATABASE_URL")
    if url is None:
        path = Path("var/demo/onboarding.db")
        path.parent.mkdir(parents=True, exist_ok=True)
        for stale in path.parent.glob(f"{path.name}*"):  # each demo starts from scratch
            stale.unlink()
        url = f"sqlite:///{path}"
    with _database(url) as database:
        run_demo(files=files, unit_of_work=database.unit_of_work)
        print(f"\n   Base de données : {mask_urls(url)}")
    return OK


def _serve(args: argparse.Namespace) -> int:
    if not args.demo:
        raise _CommandError(
            "serve ne sert que la démonstration : ajoutez --demo. En production, montez "
            "peps_onboarding.web.create_app dans le serveur ASGI de l'hôte (voir docs/web.md).",
            USAGE,
        )
    from .serve import ServeError, serve

    try:
        return serve(
            host=args.host,
            port=args.port,
            data=args.data,
            warn=lambda line: print(line, file=sys.stderr),
        )
    except ServeError as error:
        raise _CommandError(error.line, error.code) from None


def _db_upgrade(args: argparse.Namespace) -> int:
    url = _database_url(args)
    with _database(url) as database:
        revision = database.revision()
    if args.json:
        _print_json({"revision": revision, "database": mask_urls(url)})
    else:
        print(f"Schéma à jour ({revision}) : {mask_urls(url)}")
    return OK


def _directory_import(args: argparse.Namespace) -> int:
    from ..adapters.sql import import_directory
    from ..adapters.sql.directory_import import DirectoryFileError

    with _database(_database_url(args)) as database:
        try:
            report = import_directory(
                database.engine, args.file, progress=False if args.json else None
            )
        except DirectoryFileError as error:
            raise _CommandError(f"Import impossible : {args.file} : {error}", USAGE) from None
        except OSError as error:
            raise _CommandError(
                f"Import impossible : {args.file} ({error.strerror or error})", USAGE
            ) from None
    if args.json:
        _print_json(
            {
                "rows_read": report.rows_read,
                "rows_imported": report.rows_imported,
                "rows_rejected": report.rows_rejected,
                "rejected": [
                    {"line": r.line, "field": r.field, "reason": r.reason} for r in report.rejected
                ],
            }
        )
    else:
        print(report.summary)
        for rejected in report.rejected:
            print(f"  ligne {rejected.line}, {rejected.field} : {rejected.reason}", file=sys.stderr)
    return OK if report.rows_rejected == 0 else PARTIAL


def _worker(args: argparse.Namespace) -> int:
    from ..adapters.sql import SqlDirectory
    from ..bootstrap import build_from_config, check_config
    from ..config import load_config
    from .worker import PassReport, Worker

    config = load_config()
    demo = args.demo or config.demo
    # Before the database is even opened: a worker that would lose its e-mails, or mail
    # links to the wrong host, does not start (fail closed).
    check_config(config, demo=demo, net_entreprises=False)
    log = logging.getLogger(__name__)
    if demo:
        log.warning("démonstration : les envois en mémoire sont acceptés, rien ne part")
    url = _database_url(args)
    with _database(url) as database:
        platform = build_from_config(
            config,
            unit_of_work=database.unit_of_work,
            directory=SqlDirectory(database),
            captcha=_NoCaptcha(),
            net_entreprises=_NoNetEntreprises(),
            demo=demo,
            policy=Policy(notification_claim_lease=timedelta(seconds=args.lease)),
        )

        def said(report: PassReport) -> None:
            if report.sweep.total or report.dispatch.sent or report.dispatch.failed:
                log.info("passe : %s", report.summary)

        worker = Worker(platform, interval=args.interval, batch=args.batch)
        if args.once:
            at = datetime.now(UTC)
            report = worker.run_once()
            if args.json:
                _print_json({"at": _iso(at), **report.as_dict()})
            else:
                print(f"Passe du {_paris(at)} (heure de Paris) — {report.summary}")
            return PARTIAL if report.dispatch.failed else OK
        worker.on_pass = said
        log.info("worker démarré sur %s (une passe toutes les %s s)", url, args.interval)
        worker.install_signal_handlers()
        worker.run()
        log.info("worker arrêté")
    return OK


def _outbox_platform(database: SqlDatabase) -> Platform:
    """A platform that reads and requeues the outbox, and never delivers anything."""
    from ..adapters.sql import SqlDirectory
    from ..bootstrap import build

    directory = SqlDirectory(database)
    return build(
        unit_of_work=database.unit_of_work,
        registry=directory,
        contracts=directory,
        net_entreprises=_NoNetEntreprises(),
        captcha=_NoCaptcha(),
        mailer=_NoDelivery(),
        letters=_NoDelivery(),
        secret=os.urandom(32),  # derives no token: nothing is delivered from here
    )


def _outbox_list(args: argparse.Namespace) -> int:
    with _database(_database_url(args)) as database:
        letters = _outbox_platform(database).dead_letters()
    if args.json:
        _print_json(
            [
                {
                    **asdict(letter),
                    "created_at": _iso(letter.created_at),
                    "dead_at": _iso(letter.dead_at),
                }
                for letter in letters
            ]
        )
        return OK
    if not letters:
        print("Aucun envoi abandonné.")
        return OK
    print(f"{counted(len(letters), 'envoi abandonné', 'envois abandonnés')} (heure de Paris) :")
    for letter in letters:
        print(
            f"  {letter.id} — {letter.kind_label} — {letter.recipient} (SIRET {letter.siret})\n"
            f"    créé le {_paris(letter.created_at)}, abandonné le {_paris(letter.dead_at)} "
            f"après {counted(letter.attempts, 'essai', 'essais')} : "
            f"{letter.last_error or 'sans motif enregistré'}"
        )
    print("Pour les renvoyer : peps-onboarding outbox retry ID… (tous : sans ID).")
    return OK


def _outbox_retry(args: argparse.Namespace) -> int:
    with _database(_database_url(args)) as database:
        retried = _outbox_platform(database).retry_dead_letters(args.ids or None)
    asked = len(dict.fromkeys(args.ids))
    unknown = max(0, asked - retried)
    if args.json:
        _print_json({"retried": retried, "unknown": unknown})
    else:
        print(
            f"{counted(retried, 'envoi remis', 'envois remis')} en file ; le worker les "
            "distribue à sa prochaine passe."
        )
        if unknown:
            print(
                f"{counted(unknown, 'identifiant ignoré', 'identifiants ignorés')} : inconnu, "
                "déjà envoyé ou déjà remis en file (voir outbox list).",
                file=sys.stderr,
            )
    return PARTIAL if unknown else OK


# --- what the worker never does -------------------------------------------------------------


class _NoCaptcha:
    """The worker answers no form: it shows no security check, and any it were asked to
    verify would fail."""

    def challenge(self) -> SecurityChallenge:
        raise CaptchaUnavailableError()

    def media(self, challenge_id: str, part: str) -> ChallengeMedia | None:
        return None

    def verify(self, challenge_id: str, response: str) -> bool:
        return False


class _NoNetEntreprises:
    """The worker verifies no Net-Entreprises credentials: it says the service is away."""

    def verify(
        self, *, siret: Siret, last_name: str, first_name: str, password: str
    ) -> NetEntreprisesIdentity:
        raise NetEntreprisesUnavailableError()


class _NoDelivery:
    """``outbox list`` and ``retry`` deliver nothing."""

    def send(self, message: EmailMessage | Letter) -> None:
        raise NotificationDeliveryError("cette commande n'envoie rien")
