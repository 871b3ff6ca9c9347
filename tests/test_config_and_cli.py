"""Configuration of the adapters, the folder mailer, the command line and the demo."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest

from peps_onboarding import (
    InMemoryCaptchaVerifier,
    InMemoryDatabase,
    InMemoryLetterSender,
    InMemoryMailer,
    InMemoryNetEntreprisesVerifier,
    NotificationDeliveryError,
    PlainTextEmailRenderer,
)
from peps_onboarding.adapters.folder_mailer import FolderMailer
from peps_onboarding.adapters.jinja_emails import JinjaEmailRenderer
from peps_onboarding.adapters.net_entreprises import HttpNetEntreprisesVerifier
from peps_onboarding.adapters.pdf_letters import SpoolLetterSender
from peps_onboarding.adapters.smtp import SmtpMailer
from peps_onboarding.bootstrap import (
    build_from_config,
    make_letters,
    make_mailer,
    make_net_entreprises,
    make_renderer,
)
from peps_onboarding.config import ConfigError, load_config
from peps_onboarding.domain.notifications import EmailKind, EmailMessage
from peps_onboarding.entrypoints.cli import main
from peps_onboarding.entrypoints.demo import run_demo
from peps_onboarding.testing import Journey
from peps_onboarding.testing.samples import sample_directory

SECRET = "ab" * 32


@pytest.mark.rule("M3")
def test_no_configuration_keeps_everything_in_memory() -> None:
    """Wiring: zero configuration gives in-memory mail and letters."""
    config = load_config({})
    assert config.secret is None
    assert isinstance(make_mailer(config), InMemoryMailer)
    assert isinstance(make_letters(config), InMemoryLetterSender)
    assert isinstance(make_net_entreprises(config), InMemoryNetEntreprisesVerifier)
    assert isinstance(make_renderer(config), JinjaEmailRenderer)


@pytest.mark.rule("M1", "M2", "N1")
def test_environment_variables_pick_the_production_adapters(tmp_path: Path) -> None:
    """Wiring: SMTP, spooled letters, Net-Entreprises over HTTP, plain-text e-mails."""
    config = load_config(
        {
            "PEPS_SECRET": SECRET,
            "PEPS_MAIL_BACKEND": "smtp",
            "PEPS_SMTP_HOST": "smtp.example.org",
            "PEPS_SMTP_PORT": "465",
            "PEPS_SMTP_SECURITY": "tls",
            "PEPS_SMTP_USERNAME": "peps",
            "PEPS_SMTP_PASSWORD": "smtp-secret",
            "PEPS_MAIL_HTML": "false",
            "PEPS_LETTERS_BACKEND": "spool",
            "PEPS_LETTERS_FOLDER": str(tmp_path),
            "PEPS_NET_ENTREPRISES_ENV": "test",
            "PEPS_NET_ENTREPRISES_SERVICE_CODE": "98",
        }
    )
    assert isinstance(make_mailer(config), SmtpMailer)
    assert isinstance(make_letters(config), SpoolLetterSender)
    assert isinstance(make_renderer(config), PlainTextEmailRenderer)
    verifier = make_net_entreprises(config)
    assert isinstance(verifier, HttpNetEntreprisesVerifier)
    assert verifier.settings.service_code == "98"
    assert "smtp-secret" not in repr(config)
    assert SECRET not in repr(config)


def test_a_toml_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    """Wiring: PEPS_CONFIG names a TOML file; variables override it; secrets from files."""
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")
    toml = tmp_path / "peps.toml"
    toml.write_text(
        '[platform]\nbase_url = "https://peps.example.org"\n'
        f'[mail]\nbackend = "folder"\nfolder = "{tmp_path / "mails"}"\n'
        '[letters]\nbackend = "spool"\n'
    )
    config = load_config(
        {
            "PEPS_CONFIG": str(toml),
            "PEPS_SECRET_FILE": str(secret_file),
            "PEPS_MAIL_BACKEND": "smtp",
        }
    )
    assert config.base_url == "https://peps.example.org"
    assert config.mail_backend == "smtp"
    assert config.letters_backend == "spool"
    assert config.secret == bytes.fromhex(SECRET)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"PEPS_SECRET": "zz"}, "hexadecimal"),
        ({"PEPS_SECRET": "abcd"}, "32 bytes"),
        ({"PEPS_MAIL_BACKEND": "pigeon"}, "mail backend"),
        ({"PEPS_LETTERS_BACKEND": "fax"}, "letters backend"),
        ({"PEPS_SMTP_PORT": "twenty-five"}, "PEPS_SMTP_PORT"),
        ({"PEPS_CONFIG": "/nonexistent/peps.toml"}, "PEPS_CONFIG"),
        ({"PEPS_SECRET_FILE": "/nonexistent/secret"}, "PEPS_SECRET_FILE"),
    ],
)
def test_wrong_settings_are_named(environ: dict[str, str], message: str) -> None:
    """Wiring: a wrong setting is a ConfigError that names it."""
    with pytest.raises(ConfigError, match=message):
        load_config(environ)


def test_a_toml_value_that_is_not_a_table_is_refused(tmp_path: Path) -> None:
    """Wiring: the TOML file holds tables only."""
    toml = tmp_path / "peps.toml"
    toml.write_text('base_url = "x"\n')
    with pytest.raises(ConfigError, match="must be a table"):
        load_config({"PEPS_CONFIG": str(toml)})


@pytest.mark.rule("C5", "M1", "M2")
def test_build_from_config_runs_a_registration_into_files(tmp_path: Path) -> None:
    """Wiring: a configured platform writes its e-mail and letter where configured."""
    config = load_config(
        {
            "PEPS_SECRET": SECRET,
            "PEPS_MAIL_BACKEND": "folder",
            "PEPS_MAIL_FOLDER": str(tmp_path / "mails"),
            "PEPS_LETTERS_BACKEND": "spool",
            "PEPS_LETTERS_FOLDER": str(tmp_path / "letters"),
        }
    )
    from peps_onboarding import Argon2PasswordHasher, ClassicRegistration
    from peps_onboarding.testing import holder_form

    platform = build_from_config(
        config,
        unit_of_work=InMemoryDatabase().unit_of_work,
        directory=sample_directory(),
        captcha=InMemoryCaptchaVerifier(),
        hasher=Argon2PasswordHasher.fast_for_tests(),
    )
    platform.register(
        ClassicRegistration(
            siret="21330063500017",
            contract_number="FM330063",
            holder=holder_form(email="jeanne@mairie.fr"),
            terms_accepted=True,
        )
    )
    assert platform.dispatch_notifications().sent == 2
    (eml,) = (tmp_path / "mails").glob("*.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["Subject"] == "Vous pouvez créer votre mot de passe"
    assert message["Auto-Submitted"] == "auto-generated"
    assert len(list((tmp_path / "letters").glob("*.pdf"))) == 1


def test_build_from_config_needs_the_secret() -> None:
    """Wiring: no secret, no platform."""
    with pytest.raises(ConfigError, match="PEPS_SECRET"):
        build_from_config(
            load_config({}),
            unit_of_work=InMemoryDatabase().unit_of_work,
            directory=sample_directory(),
            captcha=InMemoryCaptchaVerifier(),
        )


@pytest.mark.rule("M3")
def test_the_folder_mailer_writes_one_file_per_message_and_reports_failures(
    tmp_path: Path,
) -> None:
    """M3: a retry rewrites the same file; an unwritable folder is a delivery error."""
    mailer = FolderMailer(tmp_path / "out")
    message = EmailMessage(
        message_id="abc123", to="a@b.fr", subject="Objet", text="Corps", kind=EmailKind.ACCESS_OPEN
    )
    mailer.send(message)
    mailer.send(message)
    assert [p.name for p in mailer.paths()] == ["abc123.eml"]
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(NotificationDeliveryError):
        FolderMailer(blocker / "sub").send(message)


def test_the_demo_prints_the_journey_and_writes_its_mails_and_letters(tmp_path: Path) -> None:
    """make demo: every step of the journey, then where e-mails and letters went."""
    lines: list[str] = []
    world = run_demo(lines.append, files=tmp_path)
    text = "\n".join(lines)
    for expected in (
        "Votre identifiant de connexion : JDU000001",
        "Vous pouvez créer votre mot de passe",
        "Courrier postal à Madame Christine Lefèvre",
        "Votre mot de passe a bien été créé",
        "Vous pouvez maintenant accéder à la plateforme",
        "Un nouveau compte utilisateur a été créé pour votre établissement",
        "Remboursements FMIS",
        "login.account_blocked",
        "unblocked=True",
        "registrations_lapsed=1",
        "Ce lien n'est plus valide",
        "Où sont partis les envois",
    ):
        assert expected in text
    assert len(list((tmp_path / "courriels").glob("*.eml"))) == len(world.mailer.sent)
    assert len(list((tmp_path / "courriers").glob("*.pdf"))) == 2


def test_the_command_line_runs_the_demo(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """``python -m peps_onboarding demo`` exits 0 and prints in French."""
    assert main(["demo", "--in-memory", "--files", str(tmp_path)]) == 0
    assert "Inscription classique" in capsys.readouterr().out
    assert main(["demo", "--in-memory", "--no-files"]) == 0


def test_the_journey_helper_reports_missing_mail() -> None:
    """testing.Journey: asking for a link nobody received is an error, not a silent pass."""
    journey = Journey.start()
    with pytest.raises(LookupError):
        journey.last_token("nobody@employeur.example")
    with pytest.raises(LookupError):
        journey.withdrawal_code_in_letter("21330063500017")
