"""The command line: schema upgrade, directory import, worker, demo on SQLite."""

from __future__ import annotations

import logging
from datetime import timedelta
from importlib import resources
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert

from peps_onboarding.adapters.sql.directory_tables import contracts, establishments
from peps_onboarding.adapters.sql.stores import upgrade
from peps_onboarding.entrypoints.cli import main
from peps_onboarding.entrypoints.worker import Worker

SECRET = "cd" * 32


@pytest.fixture
def database(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'peps.db'}"


def test_db_upgrade_creates_the_schema(
    database: str, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """``db upgrade`` applies every migration, logs the change of revision in one line
    (not Alembic's chatter) and says which revision it reached."""
    with caplog.at_level(logging.INFO):
        assert main(["db", "upgrade", "--database", database]) == 0
    assert "Schéma à jour (0005)" in capsys.readouterr().out
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO] == [
        "schema upgraded from an empty database to 0005"
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


@pytest.mark.rule("T1", "M3")
def test_worker_once_needs_the_secret_then_does_one_pass(
    database: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``worker --once``: no secret, no start; with one, one pass and a report."""
    monkeypatch.delenv("PEPS_SECRET", raising=False)
    assert main(["worker", "--once", "--database", database]) == 2
    assert "PEPS_SECRET" in capsys.readouterr().err
    monkeypatch.setenv("PEPS_SECRET", SECRET)
    monkeypatch.setenv("PEPS_MAIL_BACKEND", "folder")
    monkeypatch.setenv("PEPS_MAIL_FOLDER", str(tmp_path / "mails"))
    assert main(["worker", "--once", "--database", database]) == 0
    assert "PassReport" in capsys.readouterr().out
    monkeypatch.setenv("PEPS_MAIL_BACKEND", "pigeon")
    assert main(["worker", "--once", "--database", database]) == 2


@pytest.mark.rule("M3")
def test_worker_takes_its_claim_lease_and_batch_from_the_command_line(
    database: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``--lease`` sets how long a claimed message is left to this worker (M3); ``--batch``
    how many it claims at once; anything but a positive integer is refused before start."""
    monkeypatch.setenv("PEPS_SECRET", SECRET)
    monkeypatch.setenv("PEPS_MAIL_BACKEND", "folder")
    seen: list[tuple[object, int]] = []

    def run_once(self: Worker) -> str:
        seen.append((self.platform.policy.notification_claim_lease, self.batch))
        return "done"

    monkeypatch.setattr(Worker, "run_once", run_once)
    assert main(["worker", "--once", "--database", database]) == 0
    assert (
        main(["worker", "--once", "--lease", "900", "--batch", "20", "--database", database]) == 0
    )
    assert seen == [(timedelta(minutes=5), 100), (timedelta(minutes=15), 20)]
    for wrong in (["--lease", "0"], ["--lease", "soon"], ["--batch", "-3"]):
        with pytest.raises(SystemExit) as exited:
            main(["worker", "--once", *wrong, "--database", database])
        assert exited.value.code == 2
        assert "entier positif" in capsys.readouterr().err


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
    assert out.count("Votre identifiant de connexion : JDU000001") == 2
    assert (tmp_path / "var" / "demo" / "courriers").is_dir()


def test_the_demo_can_stay_in_memory_or_use_a_given_database(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``demo --in-memory`` and ``demo --database URL``."""
    assert main(["demo", "--in-memory", "--no-files"]) == 0
    assert main(["demo", "--database", database, "--no-files"]) == 0
    assert database in capsys.readouterr().out
