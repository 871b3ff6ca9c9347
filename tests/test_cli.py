"""The command line: schema upgrade, directory import, worker, demo on SQLite."""

from __future__ import annotations

import io
import json
import logging
import os
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, insert, select

from peps_onboarding import (
    Argon2PasswordHasher,
    ClassicRegistration,
    InMemoryCaptchaVerifier,
    InMemoryLetterSender,
    InMemoryMailer,
    InMemoryNetEntreprisesVerifier,
    build,
)
from peps_onboarding.adapters.sql import SqlDatabase
from peps_onboarding.adapters.sql.directory_tables import contracts, establishments
from peps_onboarding.adapters.sql.stores import upgrade
from peps_onboarding.adapters.sql.tables import outbox
from peps_onboarding.entrypoints.cli import EXIT_CODES, MaskingFilter, _french, main, mask_urls
from peps_onboarding.entrypoints.worker import PassReport, Worker
from peps_onboarding.testing import holder_form, step_one_proof
from peps_onboarding.testing.postgres import postgres_binaries, throwaway_cluster
from peps_onboarding.testing.samples import sample_directory

SECRET = "cd" * 32


@pytest.fixture
def database(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'peps.db'}"


def test_db_upgrade_creates_the_schema(
    database: str, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """``db upgrade`` applies every migration, logs the change of revision in one French
    line (not Alembic's chatter) and says which revision it reached."""
    with caplog.at_level(logging.INFO):
        assert main(["db", "upgrade", "--database", database]) == 0
    assert "Schéma à jour (0006)" in capsys.readouterr().out
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO] == [
        "schéma créé (révision 0006)"
    ]
    caplog.clear()
    assert main(["db", "upgrade", "--database", database]) == 0  # idempotent
    assert not [r for r in caplog.records if r.levelno >= logging.INFO]


@pytest.mark.rule("E2")
def test_db_upgrade_stops_on_a_number_held_by_two_sirets(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A migration that cannot carry the data forward says why and exits 2."""
    engine = create_engine(database)
    upgrade(engine, "0002")
    with engine.begin() as connection:
        for siret in ("21330063500017", "26330045100014"):
            connection.execute(
                insert(establishments).values(
                    siret=siret, designation="Établissement", legal_category="7210"
                )
            )
            connection.execute(insert(contracts).values(siret=siret, number="FM1", fund="FMIS"))
    engine.dispose()
    assert main(["db", "upgrade", "--database", database]) == 2
    error = capsys.readouterr().err
    assert error.startswith("Migration impossible (0002) : 1 numéro(s) de contrat")
    assert "FM1 : 21330063500017, 26330045100014" in error


@pytest.mark.rule("E2")
def test_directory_import_loads_the_shipped_sample(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``directory import`` reports its counts; re-importing is harmless."""
    sample = resources.files("peps_onboarding") / "data" / "sample_directory.csv"
    with resources.as_file(sample) as path:
        assert main(["directory", "import", str(path), "--database", database]) == 0
        assert main(["directory", "import", str(path), "--database", database]) == 0
    out = capsys.readouterr().out
    assert "0 rejetées" in out


@pytest.mark.rule("E1")
def test_directory_import_lists_rejected_rows_and_fails(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rejected rows are listed with their line; the exit code says something was rejected."""
    sample = resources.files("peps_onboarding") / "data" / "sample_directory.csv"
    lines = sample.read_text(encoding="utf-8").splitlines()
    broken = tmp_path / "broken.csv"
    broken.write_text("\n".join([lines[0], lines[1].replace("2", "3", 1)]) + "\n")
    assert main(["directory", "import", str(broken), "--database", database]) == 1
    assert "ligne 2, siret" in capsys.readouterr().err
    assert main(["directory", "import", str(tmp_path / "none.csv"), "--database", database]) == 2


@pytest.fixture(autouse=True)
def no_peps_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts from an environment without any PEPS_* setting."""
    for name in list(os.environ):
        if name.startswith("PEPS_"):
            monkeypatch.delenv(name)


def production(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, secret: str = SECRET) -> None:
    """A worker's complete production settings: secret, links' base, real back-ends."""
    for name, value in {
        "PEPS_SECRET": secret,
        "PEPS_BASE_URL": "https://peps.example.org",
        "PEPS_MAIL_BACKEND": "folder",
        "PEPS_MAIL_FOLDER": str(tmp_path / "mails"),
        "PEPS_LETTERS_BACKEND": "spool",
        "PEPS_LETTERS_FOLDER": str(tmp_path / "letters"),
    }.items():
        monkeypatch.setenv(name, value)


def owe_two_notifications(url: str, *, refused: bool = False) -> None:
    """A registration committed by a web instance: its e-mail and letter wait in the
    outbox; ``refused``: the relay refuses both for good, which makes them dead letters."""
    with SqlDatabase(url) as database:
        database.upgrade()
        directory = sample_directory()
        mailer, letters = InMemoryMailer(), InMemoryLetterSender()
        mailer.refuse_next(1)
        letters.refuse_next(1)
        platform = build(
            unit_of_work=database.unit_of_work,
            registry=directory,
            contracts=directory,
            net_entreprises=InMemoryNetEntreprisesVerifier(),
            captcha=InMemoryCaptchaVerifier(),
            mailer=mailer,
            letters=letters,
            secret=bytes.fromhex(SECRET),
            hasher=Argon2PasswordHasher.fast_for_tests(),
            accept_test_email_domains=True,
        )
        platform.register(
            ClassicRegistration(
                proof=step_one_proof(platform, "21330063500017", "FM330063"),
                holder=holder_form(),
                terms_accepted=True,
            )
        )
        if refused:
            assert platform.dispatch_notifications().dead_lettered == 2


def unsent(url: str) -> int:
    with SqlDatabase(url) as database, database.engine.connect() as connection:
        count: int = connection.execute(
            select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
        ).scalar_one()
    return count


def one_french_line(error: str) -> str:
    """The whole of stderr is one line, no traceback."""
    assert "Traceback" not in error
    assert error.count("\n") == 1, error
    return error


@pytest.mark.rule("M3")
def test_the_worker_refuses_to_deliver_into_memory(
    database: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Finding a: with only PEPS_SECRET, ``worker --once`` used to mark both owed messages
    sent into memory; now it does not start, names what to set in one French line, and
    leaves the outbox as it was. With real back-ends the same pass delivers into files."""
    owe_two_notifications(database)
    monkeypatch.setenv("PEPS_SECRET", SECRET)
    assert main(["worker", "--once", "--database", database]) == 2
    error = one_french_line(capsys.readouterr().err)
    for named in ("PEPS_BASE_URL", "PEPS_MAIL_BACKEND=smtp", "PEPS_LETTERS_BACKEND=spool"):
        assert named in error
    assert "PEPS_NET_ENTREPRISES_ENV" not in error  # the worker never calls it
    assert unsent(database) == 2
    production(monkeypatch, tmp_path)
    assert main(["worker", "--once", "--database", database]) == 0
    out = capsys.readouterr().out
    assert re.fullmatch(
        r"Passe du \d\d/\d\d/\d{4} \d\d:\d\d \(heure de Paris\) — balayage : 0 inscription "
        r"caduque, 0 compte supprimé, 0 accès ouvert, 0 compte expiré, 0 reporté ; envois : "
        r"2 envoyés, 0 en échec, 0 en attente, 0 abandonné\n",
        out,
    )
    assert unsent(database) == 0
    assert len(list((tmp_path / "mails").glob("*.eml"))) == 1
    assert len(list((tmp_path / "letters").glob("*.pdf"))) == 1


@pytest.mark.rule("M3")
def test_a_demo_worker_says_so_to_accept_memory(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Finding a: ``--demo`` (or PEPS_DEMO=1) is the explicit way to run on memory."""
    monkeypatch.setenv("PEPS_SECRET", SECRET)
    assert main(["worker", "--once", "--demo", "--database", database]) == 0
    monkeypatch.setenv("PEPS_DEMO", "1")
    assert main(["worker", "--once", "--json", "--database", database]) == 0
    report = json.loads(capsys.readouterr().out.split("\n", 1)[1])  # after the human line
    assert report["dispatch"] == {
        "sent": 0,
        "failed": 0,
        "pending": 0,
        "dead_lettered": 0,
        "dead": 0,
    }
    assert set(report["sweep"]) >= {"registrations_lapsed", "access_opened", "skipped"}
    assert datetime.fromisoformat(report["at"]).tzinfo is not None


@pytest.mark.rule("M4")
def test_a_worker_with_another_secret_than_the_database_does_not_start(
    database: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Finding b: the first worker records the secret's fingerprint; one with another
    secret is refused with one French line, and delivers nothing."""
    owe_two_notifications(database)
    production(monkeypatch, tmp_path)
    monkeypatch.setenv("PEPS_MAIL_BACKEND", "smtp")  # unreachable: nothing leaves
    monkeypatch.setenv("PEPS_SMTP_PORT", "1")
    assert main(["worker", "--once", "--database", database]) == 1  # failed deliveries
    capsys.readouterr()
    production(monkeypatch, tmp_path, secret="ef" * 32)
    assert main(["worker", "--once", "--database", database]) == 2
    error = one_french_line(capsys.readouterr().err)
    assert "cette base de données est utilisée avec un autre secret" in error
    assert not list((tmp_path / "mails").glob("*.eml"))
    monkeypatch.setenv("PEPS_PREVIOUS_SECRETS", SECRET)  # a rotation is accepted
    assert main(["worker", "--once", "--database", database]) == 0


@pytest.mark.rule("T1", "M3")
def test_worker_settings_are_checked_before_start(
    database: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``worker --once``: no secret, no start; a wrong back-end is named; each in one line."""
    assert main(["worker", "--once", "--database", database]) == 2
    assert "PEPS_SECRET n'est pas réglé" in one_french_line(capsys.readouterr().err)
    production(monkeypatch, tmp_path)
    monkeypatch.setenv("PEPS_MAIL_BACKEND", "pigeon")
    assert main(["worker", "--once", "--database", database]) == 2
    assert "PEPS_MAIL_BACKEND doit valoir" in one_french_line(capsys.readouterr().err)


@pytest.mark.rule("M3")
def test_worker_takes_its_claim_lease_and_batch_from_the_command_line(
    database: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``--lease`` sets how long a claimed message is left to this worker (M3); ``--batch``
    how many it claims at once; anything but a positive integer is refused before start."""
    production(monkeypatch, tmp_path)
    seen: list[tuple[object, int]] = []
    real = Worker.run_once

    def run_once(self: Worker) -> PassReport:
        seen.append((self.platform.policy.notification_claim_lease, self.batch))
        return real(self)

    monkeypatch.setattr(Worker, "run_once", run_once)
    assert main(["worker", "--once", "--database", database]) == 0
    assert (
        main(["worker", "--once", "--lease", "900", "--batch", "20", "--database", database]) == 0
    )
    assert seen == [(timedelta(minutes=5), 100), (timedelta(minutes=15), 20)]
    capsys.readouterr()
    # E1: « ２０ » is no number either, though int() reads it as 20.
    for wrong in (["--lease", "0"], ["--lease", "soon"], ["--batch", "-3"], ["--batch", "２０"]):
        with pytest.raises(SystemExit) as exited:
            main(["worker", "--once", *wrong, "--database", database])
        assert exited.value.code == 2
        error = one_french_line(capsys.readouterr().err)
        assert error.startswith("peps-onboarding worker : erreur : argument ")
        assert "entier positif" in error


def test_the_demo_runs_on_a_fresh_sqlite_file_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``demo`` with no option: a SQLite file under var/demo, started afresh each run."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PEPS_DATABASE_URL", raising=False)
    assert main(["demo"]) == 0
    assert main(["demo", "--no-files"]) == 0
    out = capsys.readouterr().out
    assert "sqlite:///var/demo/onboarding.db" in out
    assert out.count("Votre identifiant de connexion est JDU000001.") == 2
    assert (tmp_path / "var" / "demo" / "courriers").is_dir()


def test_the_demo_can_stay_in_memory_or_use_a_given_database(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``demo --in-memory`` and ``demo --database URL``."""
    assert main(["demo", "--in-memory", "--no-files"]) == 0
    assert main(["demo", "--database", database, "--no-files"]) == 0
    assert database in capsys.readouterr().out


# --- the outbox's dead letters --------------------------------------------------------


@pytest.mark.rule("M3")
def test_outbox_list_shows_the_dead_letters_and_retry_requeues_them(
    database: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """M3: ``outbox list`` shows each message given up on, in French, dates in Paris
    time; ``outbox retry ID`` puts it back, and the next worker pass delivers it."""
    assert main(["outbox", "list", "--database", database]) == 0
    assert capsys.readouterr().out == "Aucun envoi abandonné.\n"
    owe_two_notifications(database, refused=True)
    assert main(["outbox", "list", "--database", database]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2 envois abandonnés (heure de Paris) :\n")
    assert "jeanne.dupont@employeur.example (SIRET 21330063500017)" in out
    assert "après 1 essai : " in out
    assert re.search(r"abandonné le \d\d/\d\d/\d{4} \d\d:\d\d", out)
    assert main(["outbox", "list", "--json", "--database", database]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {letter["kind"] for letter in listed} == {"password_creation", "classic_enrolment"}
    assert all(
        datetime.fromisoformat(letter["dead_at"]).utcoffset() == timedelta(0) for letter in listed
    )
    mail = next(letter["id"] for letter in listed if letter["kind"] == "password_creation")

    assert main(["outbox", "retry", mail, "inconnu", "--database", database]) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith("1 envoi remis en file")
    assert "1 identifiant ignoré : inconnu" in one_french_line(captured.err)
    production(monkeypatch, tmp_path)
    assert main(["worker", "--once", "--database", database]) == 0
    assert "1 envoyé, 0 en échec, 0 en attente, 1 abandonné" in capsys.readouterr().out
    assert len(list((tmp_path / "mails").glob("*.eml"))) == 1
    assert main(["outbox", "retry", "--json", "--database", database]) == 0  # all of them
    assert json.loads(capsys.readouterr().out) == {"retried": 1, "unknown": 0}


# --- French, for people and for scripts ------------------------------------------------

ENGLISH = (
    "usage:",
    "show this help",
    "positional arguments",
    "optional arguments",
    "default:",
    "the following arguments",
    "required",
    "invalid choice",
    "unrecognized",
    "expected one argument",
    "error:",
)


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["demo"],
        ["db"],
        ["db", "upgrade"],
        ["directory", "import"],
        ["worker"],
        ["outbox"],
        ["outbox", "list"],
        ["outbox", "retry"],
    ],
)
def test_every_help_is_french_and_shows_defaults_and_exit_codes(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Finding f: ``--aide`` (or ``-h``) in French, argparse's own words included, with
    each option's default and the exit codes."""
    for flag in ("--aide", "-h"):
        with pytest.raises(SystemExit) as exited:
            main([*command, flag])
        assert exited.value.code == 0
        out = capsys.readouterr().out
        assert out.startswith("Utilisation : peps-onboarding")
        assert "-h, --aide  " in out or "-h, --aide" in out
        for english in ENGLISH:
            assert english not in out.lower(), english
    if command in (["worker"], ["demo"]):
        assert "(défaut : " in out
    assert "Codes de sortie :" in out


def test_the_worker_help_shows_its_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    """Finding f: the defaults are in the help, in French."""
    with pytest.raises(SystemExit):
        main(["worker", "--aide"])
    out = " ".join(capsys.readouterr().out.split())
    for shown in ("(défaut : 30.0)", "(défaut : 100)", "(défaut : 300)"):
        assert shown in out
    for code, meaning in EXIT_CODES.items():
        assert f"{code} {' '.join(meaning.split())}" in out


@pytest.mark.parametrize(
    ("argv", "french"),
    [
        ([], "arguments obligatoires manquants : COMMANDE"),
        (["frob"], "argument COMMANDE : choix invalide : 'frob' (choisir parmi 'demo'"),
        (["worker", "--bogus"], "arguments inconnus : --bogus"),
        (["worker", "--interval"], "argument --interval : une valeur est attendue"),
        (["worker", "--interval", "bientôt"], "un nombre de secondes est attendu"),
        (["directory", "import"], "arguments obligatoires manquants : FICHIER"),
        (["db", "upgrade", "en-trop"], "arguments inconnus : en-trop"),
    ],
)
def test_usage_errors_are_french_in_one_line(
    argv: list[str], french: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Finding f: argparse's errors in French, one line, exit code 2."""
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    error = one_french_line(capsys.readouterr().err)
    assert error.startswith("peps-onboarding")
    assert " : erreur : " in error
    assert french in error
    for english in ENGLISH:
        assert english not in error


def test_argparse_messages_of_other_forms_are_translated_too() -> None:
    """Finding f: the messages argparse may produce, each in French."""
    assert _french("ambiguous option: --da could match --database, --data") == (
        "option ambiguë : --da peut désigner --database, --data"
    )
    assert _french("argument --x: invalid int value: 'a'") == (
        "argument --x : un nombre entier est attendu, pas 'a'"
    )
    assert _french("argument --x: expected at least one argument") == (
        "argument --x : une valeur au moins est attendue"
    )
    assert _french("argument -a: not allowed with argument -b") == (
        "argument -a : incompatible avec -b"
    )
    assert _french("one of the arguments -a -b is required") == (
        "l'un des arguments -a -b est obligatoire"
    )


def test_an_unreachable_database_is_one_french_line_and_exit_3(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """Findings d and f: ``db upgrade`` against an unreachable PostgreSQL used to print a
    raw ServiceUnavailableError traceback with the URL's password; now one French line,
    password masked, exit code 3."""
    url = "postgresql+psycopg://postgres:s3cret-pw@127.0.0.1:1/peps"
    with caplog.at_level(logging.DEBUG):
        assert main(["db", "upgrade", "--database", url]) == 3
    error = one_french_line(capsys.readouterr().err)
    assert error.startswith("Base de données injoignable : ")
    assert "postgresql+psycopg://postgres:***@127.0.0.1:1/peps" in error
    assert "s3cret-pw" not in error
    assert "s3cret-pw" not in caplog.text


@pytest.mark.parametrize(
    ("argv", "code", "french"),
    [
        (["db", "upgrade", "--database", "pas-une-url"], 2, "Base de données : adresse invalide"),
        (["db", "upgrade", "--database", "mysql://u:pw@h/d"], 2, "mysql://u:***@h/d"),
        (["outbox", "list", "--database", "oracle://h/d"], 2, "SQLite ou PostgreSQL"),
        (["directory", "import", "absent.csv"], 2, "Import impossible : absent.csv"),
    ],
)
def test_bad_inputs_are_one_french_line_and_their_exit_code(
    argv: list[str],
    code: int,
    french: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Finding f: a bad URL or file ends in one French line and its exit code."""
    monkeypatch.chdir(tmp_path)
    assert main(argv) == code
    assert french in one_french_line(capsys.readouterr().err)


def test_a_bad_setting_is_one_french_line(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Finding f: a bad setting: « Configuration : … », exit code 2."""
    monkeypatch.setenv("PEPS_CONFIG", "/nonexistent/peps.toml")
    assert main(["worker", "--once", "--database", database]) == 2
    error = one_french_line(capsys.readouterr().err)
    assert error.startswith("Configuration : PEPS_CONFIG : impossible de lire")


def test_an_unexpected_failure_or_an_interruption_is_one_line_too(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Finding f: even a bug ends in one line (exit 4, password masked), and Ctrl-C in
    « Interrompu. » (exit 130), never a traceback."""

    def broken(self: SqlDatabase, revision: str = "head") -> None:
        raise RuntimeError("bug near postgresql://peps:hunter2@db/peps")

    monkeypatch.setattr(SqlDatabase, "upgrade", broken)
    assert main(["db", "upgrade", "--database", database]) == 4
    error = one_french_line(capsys.readouterr().err)
    assert error == (
        "Erreur interne inattendue (RuntimeError) : bug near postgresql://peps:***@db/peps\n"
    )

    def interrupted(self: SqlDatabase, revision: str = "head") -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(SqlDatabase, "upgrade", interrupted)
    assert main(["db", "upgrade", "--database", database]) == 130
    assert one_french_line(capsys.readouterr().err) == "Interrompu.\n"


def test_scripts_read_json(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Finding f: ``--json`` on ``db upgrade`` and ``directory import``."""
    assert main(["db", "upgrade", "--json", "--database", database]) == 0
    assert json.loads(capsys.readouterr().out) == {"revision": "0006", "database": database}
    sample = resources.files("peps_onboarding") / "data" / "sample_directory.csv"
    with resources.as_file(sample) as path:
        assert main(["directory", "import", str(path), "--json", "--database", database]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["rows_rejected"] == 0
    assert report["rows_read"] == report["rows_imported"] > 0


def test_passwords_in_urls_are_masked_in_text_and_in_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Finding d: every URL in a printed or logged line goes through ``mask_url``."""
    text = "de postgresql://peps:s3cret@db/peps vers sqlite:///var/x.db, puis https://a.fr/b"
    assert mask_urls(text) == (
        "de postgresql://peps:***@db/peps vers sqlite:///var/x.db, puis https://a.fr/b"
    )
    assert mask_urls("postgresql://u@h/d?password=s3cret") == "postgresql://u@h/d?password=***"
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskingFilter())
    logger = logging.getLogger("peps-test-masking")
    logger.addHandler(handler)
    try:
        logger.warning("connexion à %s", "postgresql://peps:s3cret@db/peps")
    finally:
        logger.removeHandler(handler)
    assert "s3cret" not in stream.getvalue()
    assert "postgresql://peps:***@db/peps" in stream.getvalue()


@pytest.fixture(scope="module")
def postgresql_with_password() -> Iterator[str]:
    """A throwaway PostgreSQL (trust authentication), reached with a password in the URL."""
    if postgres_binaries() is None:
        pytest.skip("PostgreSQL is not installed (no initdb/pg_ctl)")
    with throwaway_cluster() as port:
        yield f"postgresql+psycopg://postgres:s3cret-pw@127.0.0.1:{port}/postgres"


def test_db_upgrade_and_the_demo_never_print_the_password(
    postgresql_with_password: str,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Finding d: ``db upgrade`` printed ``postgresql+psycopg://postgres:<password>@…``,
    the demo too; now both show ``postgres:***@``."""
    url = postgresql_with_password
    with caplog.at_level(logging.INFO):
        assert main(["db", "upgrade", "--database", url]) == 0
        assert main(["demo", "--no-files", "--database", url]) == 0
    out = capsys.readouterr().out
    masked = url.replace("s3cret-pw", "***")
    assert f"Schéma à jour (0006) : {masked}" in out
    assert f"Base de données : {masked}" in out
    assert "s3cret-pw" not in out + caplog.text
