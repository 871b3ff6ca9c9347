"""Configuration of the adapters, the folder mailer, the command line and the demo."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from peps_onboarding import (
    Argon2PasswordHasher,
    ClassicRegistration,
    FakeClock,
    InMemoryCaptchaVerifier,
    InMemoryDatabase,
    InMemoryLetterSender,
    InMemoryMailer,
    InMemoryNetEntreprisesVerifier,
    LinkNoLongerValidError,
    NetEntreprisesCompletion,
    NetEntreprisesCredentials,
    NetEntreprisesSignedIn,
    NotificationDeliveryError,
    PlainTextEmailRenderer,
    Platform,
    SeededRandomSource,
)
from peps_onboarding.adapters.folder_mailer import FolderMailer
from peps_onboarding.adapters.jinja_emails import JinjaEmailRenderer
from peps_onboarding.adapters.net_entreprises import HttpNetEntreprisesVerifier
from peps_onboarding.adapters.pdf_letters import SpoolLetterSender
from peps_onboarding.adapters.smtp import SmtpMailer
from peps_onboarding.adapters.sql import SqlDatabase, SqlSettings
from peps_onboarding.application.secrets import PlatformSecret
from peps_onboarding.bootstrap import (
    build,
    build_from_config,
    check_config,
    check_secret,
    make_letters,
    make_mailer,
    make_net_entreprises,
    make_renderer,
)
from peps_onboarding.config import (
    DEFAULT_BASE_URL,
    DEMO_BASE_URL,
    ConfigError,
    PlatformConfig,
    load_config,
)
from peps_onboarding.domain.notifications import EmailKind, EmailMessage
from peps_onboarding.entrypoints.cli import main
from peps_onboarding.ports import ChallengeMedia, SecurityChallenge
from peps_onboarding.testing import Journey, holder_form, step_one_proof
from peps_onboarding.testing.journeys import HOSPITAL, PASSWORD, START, net_entreprises_form
from peps_onboarding.testing.samples import sample_directory

SECRET = "ab" * 32


@pytest.mark.rule("M3")
def test_no_configuration_names_the_in_memory_back_ends_and_no_links_base() -> None:
    """Wiring: zero configuration reads as in-memory mail, letters and Net-Entreprises,
    and no links' base at all (never the production domain, finding c)."""
    config = load_config({})
    assert config.secret is None
    assert config.base_url is None
    assert config.demo is False
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
        '[platform]\nbase_url = "https://peps.example.org"\ndemo = true\n'
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
    assert config.demo is True
    assert config.mail_backend == "smtp"
    assert config.letters_backend == "spool"
    assert config.secret == bytes.fromhex(SECRET)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"PEPS_SECRET": "zz"}, "PEPS_SECRET doit être en hexadécimal"),
        ({"PEPS_SECRET": "abcd"}, "PEPS_SECRET doit contenir au moins 32 octets"),
        ({"PEPS_SECRET": SECRET, "PEPS_PREVIOUS_SECRETS": "abcd"}, "PEPS_PREVIOUS_SECRETS doit"),
        ({"PEPS_PREVIOUS_SECRETS": SECRET}, "sans PEPS_SECRET"),
        ({"PEPS_MAIL_BACKEND": "pigeon"}, "PEPS_MAIL_BACKEND doit valoir smtp, folder"),
        ({"PEPS_LETTERS_BACKEND": "fax"}, "PEPS_LETTERS_BACKEND doit valoir spool"),
        ({"PEPS_SMTP_PORT": "twenty-five"}, "PEPS_SMTP_PORT doit être un nombre"),
        ({"PEPS_SMTP_PORT": "５８７"}, "PEPS_SMTP_PORT doit être un nombre"),  # E1
        ({"PEPS_SMTP_PORT": "²"}, "PEPS_SMTP_PORT doit être un nombre"),  # E1
        ({"PEPS_NET_ENTREPRISES_ENV": "prod"}, "PEPS_NET_ENTREPRISES_ENV doit valoir"),
        ({"PEPS_BASE_URL": "peps.example.org"}, "PEPS_BASE_URL doit être une adresse https"),
        ({"PEPS_BASE_URL": "http://peps.example.org"}, "PEPS_BASE_URL doit être une adresse"),
        ({"PEPS_BASE_URL": "https://peps.example.org/?a=1"}, "ni « \\? » ni « # »"),
        ({"PEPS_DEMO": "peut-être"}, "PEPS_DEMO doit valoir 1 ou 0"),
        ({"PEPS_CONFIG": "/nonexistent/peps.toml"}, "PEPS_CONFIG : impossible de lire"),
        ({"PEPS_SECRET_FILE": "/nonexistent/secret"}, "PEPS_SECRET_FILE : impossible de lire"),
    ],
)
def test_wrong_settings_are_named_in_french(environ: dict[str, str], message: str) -> None:
    """Wiring: a wrong setting is a ConfigError that names it and says, in French, what
    it should be."""
    with pytest.raises(ConfigError, match=message):
        load_config(environ)


def test_previous_secrets_come_comma_separated_or_from_a_file(tmp_path: Path) -> None:
    """Rotation: PEPS_PREVIOUS_SECRETS lists the old secrets (commas), or
    PEPS_PREVIOUS_SECRETS_FILE holds them (one a line)."""
    old, older = "01" * 32, "02" * 32
    listed = load_config({"PEPS_SECRET": SECRET, "PEPS_PREVIOUS_SECRETS": f"{old}, {older}"})
    assert listed.previous_secrets == (bytes.fromhex(old), bytes.fromhex(older))
    file = tmp_path / "previous"
    file.write_text(f"{old}\n{older}\n")
    filed = load_config({"PEPS_SECRET": SECRET, "PEPS_PREVIOUS_SECRETS_FILE": str(file)})
    assert filed.previous_secrets == listed.previous_secrets
    assert old not in repr(filed)
    assert load_config({"PEPS_BASE_URL": "https://peps.example.org/"}).base_url == (
        "https://peps.example.org"
    )
    assert load_config({"PEPS_BASE_URL": "http://localhost:8000"}).base_url == (
        "http://localhost:8000"
    )


def test_a_toml_value_that_is_not_a_table_is_refused(tmp_path: Path) -> None:
    """Wiring: the TOML file holds tables only."""
    toml = tmp_path / "peps.toml"
    toml.write_text('base_url = "x"\n')
    with pytest.raises(ConfigError, match="doit être une table TOML"):
        load_config({"PEPS_CONFIG": str(toml)})


class HostCaptcha:
    """What a host brings: its own security check (here, one that accepts one answer)."""

    def challenge(self) -> SecurityChallenge:
        return SecurityChallenge(
            id="du-jour",
            kind="text",
            prompt="Saisissez la réponse du jour",
            choices=(),
            sound_prompt="Saisissez la réponse du jour",
            expires_at=START + timedelta(days=1),
        )

    def media(self, challenge_id: str, part: str) -> ChallengeMedia | None:
        return None

    def verify(self, challenge_id: str, response: str) -> bool:
        return response == "réponse-du-jour"


def production(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A complete production configuration: every back-end real, the links' base set."""
    return {
        "PEPS_SECRET": SECRET,
        "PEPS_BASE_URL": "https://peps.example.org",
        "PEPS_MAIL_BACKEND": "folder",
        "PEPS_MAIL_FOLDER": str(tmp_path / "mails"),
        "PEPS_LETTERS_BACKEND": "spool",
        "PEPS_LETTERS_FOLDER": str(tmp_path / "letters"),
        "PEPS_NET_ENTREPRISES_ENV": "test",
        **extra,
    }


@pytest.fixture
def database(tmp_path: Path) -> Iterator[SqlDatabase]:
    db = SqlDatabase(f"sqlite:///{tmp_path / 'peps.db'}")
    db.upgrade()
    yield db
    db.dispose()


def build_on(database: SqlDatabase, config: PlatformConfig, **options: Any) -> Platform:
    sample = sample_directory()
    return build_from_config(
        config,
        unit_of_work=database.unit_of_work,
        directory=sample,
        captcha=options.pop("captcha", HostCaptcha()),
        hasher=Argon2PasswordHasher.fast_for_tests(),
        **options,
    )


def text_of(message: Any) -> str:
    """The plain-text body of a parsed e-mail."""
    text: str = message.get_body(preferencelist=("plain",)).get_content()
    return text


def register(platform: Platform, *, captcha_response: str = "réponse-du-jour") -> None:
    """Steps 1 to 3 for the sample commune; the answer is the host check's by default."""
    platform.register(
        ClassicRegistration(
            proof=step_one_proof(
                platform, "21330063500017", "FM330063", captcha_response=captcha_response
            ),
            holder=holder_form(email="jeanne@mairie.fr"),
            terms_accepted=True,
        )
    )


@pytest.mark.rule("C5", "M1", "M2")
def test_build_from_config_runs_a_registration_into_files(
    tmp_path: Path, database: SqlDatabase
) -> None:
    """Wiring: a configured platform writes its e-mail and letter where configured, with
    links on the configured base."""
    platform = build_on(database, load_config(production(tmp_path)))
    register(platform)
    assert platform.dispatch_notifications().sent == 2
    (eml,) = (tmp_path / "mails").glob("*.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["Subject"] == "Vous pouvez créer votre mot de passe"
    assert message["Auto-Submitted"] == "auto-generated"
    assert "https://peps.example.org/creer-mot-de-passe?jeton=" in text_of(message)
    assert len(list((tmp_path / "letters").glob("*.pdf"))) == 1


def test_build_from_config_needs_the_secret() -> None:
    """Wiring: no secret, no platform; the message says what to set, in French."""
    with pytest.raises(ConfigError, match="PEPS_SECRET n'est pas réglé"):
        build_from_config(
            load_config({}),
            unit_of_work=InMemoryDatabase().unit_of_work,
            directory=sample_directory(),
            captcha=InMemoryCaptchaVerifier(),
            demo=True,
        )


@pytest.mark.rule("M3")
def test_in_memory_back_ends_are_refused_outside_a_demo() -> None:
    """Finding a: outside a demo, in-memory mail, letters, Net-Entreprises and captcha
    (which would « deliver » into the process and lose everything) and a missing links'
    base stop the start, with one French message naming each setting."""
    with pytest.raises(ConfigError) as refused:
        build_from_config(
            load_config({"PEPS_SECRET": SECRET}),
            unit_of_work=InMemoryDatabase().unit_of_work,
            directory=sample_directory(),
            captcha=InMemoryCaptchaVerifier(),
        )
    message = str(refused.value)
    assert message.startswith("configuration de production incomplète : ")
    for named in (
        "PEPS_BASE_URL n'est pas réglé",
        "réglez PEPS_MAIL_BACKEND=smtp",
        "réglez PEPS_LETTERS_BACKEND=spool",
        "réglez PEPS_NET_ENTREPRISES_ENV=production",
        "le contrôle de sécurité serait simulé en mémoire",
        "la base ne garde pas l'empreinte du secret",
        "PEPS_DEMO=1",
    ):
        assert named in message
    with pytest.raises(ConfigError, match="Net-Entreprises serait simulé"):
        check_config(load_config({"PEPS_SECRET": SECRET}))
    check_config(load_config({"PEPS_SECRET": SECRET}), demo=True)


@pytest.mark.rule("M3")
def test_an_explicit_in_memory_verifier_is_refused_too(
    tmp_path: Path, database: SqlDatabase
) -> None:
    """Finding a: passing the in-memory Net-Entreprises verifier by hand is refused too."""
    with pytest.raises(ConfigError, match="Net-Entreprises serait simulé en mémoire"):
        build_on(
            database,
            load_config(production(tmp_path)),
            net_entreprises=InMemoryNetEntreprisesVerifier(),
        )


def test_a_demo_says_so_and_then_keeps_everything_in_memory() -> None:
    """Finding a: the demo flag (``demo=True`` or ``PEPS_DEMO=1``) is the one way to run
    on in-memory back-ends; its links go to a local address, never the real platform."""
    for config, flag in (
        (load_config({"PEPS_SECRET": SECRET}), True),
        (load_config({"PEPS_SECRET": SECRET, "PEPS_DEMO": "1"}), False),
    ):
        platform = build_from_config(
            config,
            unit_of_work=InMemoryDatabase().unit_of_work,
            directory=sample_directory(),
            captcha=InMemoryCaptchaVerifier(),
            hasher=Argon2PasswordHasher.fast_for_tests(),
            demo=flag,
        )
        register(platform, captcha_response="trombone")
        assert platform.dispatch_notifications().sent == 2


def test_the_links_go_to_the_configured_base_and_never_to_the_production_default(
    tmp_path: Path, database: SqlDatabase
) -> None:
    """Finding c: with no PEPS_BASE_URL a production process does not start; a demo's
    links point at this machine, never at the real platform."""
    environ = production(tmp_path)
    del environ["PEPS_BASE_URL"]
    with pytest.raises(ConfigError, match="PEPS_BASE_URL n'est pas réglé"):
        build_on(database, load_config(environ))
    demo = build_on(database, load_config({**environ, "PEPS_DEMO": "oui"}))
    register(demo)
    demo.dispatch_notifications()
    (eml,) = (tmp_path / "mails").glob("*.eml")
    body = text_of(email.message_from_bytes(eml.read_bytes(), policy=email.policy.default))
    assert f"{DEMO_BASE_URL}/creer-mot-de-passe?jeton=" in body
    assert DEFAULT_BASE_URL not in body


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


# --- one secret per database, and its rotation ----------------------------------------

OLD, NEW = bytes.fromhex("01" * 32), bytes.fromhex("02" * 32)


def test_the_fingerprint_names_a_secret_without_revealing_it() -> None:
    """Finding b: the database keeps an HMAC of a fixed label under the secret: the same
    for the same secret, another for another, and never the secret itself."""
    secret = PlatformSecret(OLD)
    assert secret.fingerprint == PlatformSecret(OLD).fingerprint
    assert secret.fingerprint != PlatformSecret(NEW).fingerprint
    assert OLD.hex() not in secret.fingerprint
    assert len(secret.fingerprint) == 64
    rotated = PlatformSecret(NEW, previous=[OLD, NEW])
    assert rotated.fingerprints == (PlatformSecret(NEW).fingerprint, secret.fingerprint)
    assert "01" * 32 not in repr(rotated)


@pytest.mark.rule("M4")
def test_a_second_secret_on_one_database_refuses_to_start(
    tmp_path: Path, database: SqlDatabase
) -> None:
    """Finding b: the first process records its secret's fingerprint; a process with
    another secret (whose every mailed link would answer « Ce lien n'est plus valide »)
    does not start, and says so in French."""
    build_on(database, load_config(production(tmp_path)))
    recorded = SqlSettings(database).secret_fingerprint()
    assert recorded == PlatformSecret(bytes.fromhex(SECRET)).fingerprint
    other = production(tmp_path, PEPS_SECRET="ef" * 32)
    with pytest.raises(ConfigError, match="utilisée avec un autre secret que PEPS_SECRET"):
        build_on(database, load_config(other))
    with pytest.raises(ConfigError, match="autre secret"):  # a demo is checked as well
        build_on(database, load_config({**other, "PEPS_DEMO": "1"}))
    build_on(database, load_config(production(tmp_path)))  # the same secret starts again
    assert SqlSettings(database).secret_fingerprint() == recorded


def test_the_fingerprint_moves_forward_with_a_rotation(database: SqlDatabase) -> None:
    """Rotation: a process whose previous secret is recorded starts and records its new
    one; from then on a process with only the old secret is refused."""
    settings = SqlSettings(database)
    check_secret(settings, PlatformSecret(OLD))
    check_secret(settings, PlatformSecret(NEW, previous=[OLD]))
    assert settings.secret_fingerprint() == PlatformSecret(NEW).fingerprint
    with pytest.raises(ConfigError, match="autre secret"):
        check_secret(settings, PlatformSecret(OLD))
    check_secret(settings, PlatformSecret(NEW))  # the old one may now be dropped
    check_secret(settings, PlatformSecret(OLD, previous=[NEW]))  # rolling back is a rotation


def test_two_first_starts_record_one_fingerprint(database: SqlDatabase) -> None:
    """One secret per database under a race: the record is a compare-and-set, so of two
    processes starting at once with different secrets one records, the other is refused."""
    settings = SqlSettings(database)
    assert settings.record_secret_fingerprint("a" * 64, replacing=None) is True
    assert settings.record_secret_fingerprint("b" * 64, replacing=None) is False
    assert settings.record_secret_fingerprint("b" * 64, replacing="c" * 64) is False
    assert settings.secret_fingerprint() == "a" * 64
    with pytest.raises(ConfigError, match="autre secret"):
        check_secret(settings, PlatformSecret(OLD))


class _Racing:
    """A store where another process records its own fingerprint between our read and
    our write, every time."""

    def __init__(self) -> None:
        self.value: str | None = None

    def secret_fingerprint(self) -> str | None:
        return self.value

    def record_secret_fingerprint(self, fingerprint: str, *, replacing: str | None) -> bool:
        self.value = PlatformSecret(NEW).fingerprint if self.value is None else "0" * 64
        return False


def test_a_fingerprint_that_keeps_changing_is_refused() -> None:
    """A process that loses every compare-and-set does not start on a guess."""
    with pytest.raises(ConfigError, match="autre secret"):
        check_secret(_Racing(), PlatformSecret(OLD, previous=[NEW]))


def _shared(secret: bytes | PlatformSecret, world: dict[str, Any], seed: int) -> Platform:
    """A platform on the stores, directory and outside services in ``world``: two of them
    are two processes (a web instance, a worker) of one host."""
    return build(
        unit_of_work=world["database"].unit_of_work,
        registry=world["directory"],
        contracts=world["directory"],
        net_entreprises=world["net_entreprises"],
        captcha=InMemoryCaptchaVerifier(),
        mailer=world["mailer"],
        letters=InMemoryLetterSender(),
        secret=secret,
        clock=world["clock"],
        hasher=Argon2PasswordHasher.fast_for_tests(),
        random=SeededRandomSource(seed),
        accept_test_email_domains=True,
    )


@pytest.fixture
def world() -> dict[str, Any]:
    return {
        "database": InMemoryDatabase(),
        "directory": sample_directory(),
        "net_entreprises": InMemoryNetEntreprisesVerifier(),
        "mailer": InMemoryMailer(),
        "clock": FakeClock(START),
    }


@pytest.mark.rule("M4", "A8", "N3")
def test_after_a_rotation_links_and_tickets_of_the_old_secret_still_work(
    world: dict[str, Any],
) -> None:
    """Rotation: the new secret first, the old one in PEPS_PREVIOUS_SECRETS. A link
    issued under the old secret and mailed after the rotation still opens (its nonce
    says which key derives it), and a Net-Entreprises ticket signed under the old one
    still verifies; new links and tickets use the new key."""
    old = _shared(OLD, world, 1)
    register(old, captcha_response="trombone")  # owed, not yet delivered, when the secret changes
    world["net_entreprises"].register(
        siret=HOSPITAL, last_name="Martin", first_name="Paul", password="ne-password"
    )
    signed = old.sign_in_with_net_entreprises(
        NetEntreprisesCredentials(
            siret=HOSPITAL, last_name="Martin", first_name="Paul", password="ne-password"
        )
    )
    assert isinstance(signed, NetEntreprisesSignedIn)

    rotated = _shared(PlatformSecret(NEW, previous=[OLD]), world, 2)
    assert rotated.dispatch_notifications().sent == 2
    token = (world["mailer"].to("jeanne@mairie.fr")[0].link_url or "").split("jeton=")[1]
    assert rotated.create_password(token, PASSWORD, PASSWORD).message
    joined = rotated.complete_net_entreprises(
        NetEntreprisesCompletion(ticket=signed.ticket, form=net_entreprises_form())
    )
    assert joined.siret == HOSPITAL


@pytest.mark.rule("M4", "A8")
def test_without_the_previous_secret_an_undelivered_link_breaks(world: dict[str, Any]) -> None:
    """Why PEPS_PREVIOUS_SECRETS: a worker with only the new secret mails a link that no
    longer matches the one stored, « Ce lien n'est plus valide » (finding b, in small)."""
    register(_shared(OLD, world, 1), captcha_response="trombone")
    bare = _shared(NEW, world, 2)
    bare.dispatch_notifications()
    token = (world["mailer"].to("jeanne@mairie.fr")[0].link_url or "").split("jeton=")[1]
    with pytest.raises(LinkNoLongerValidError):
        bare.create_password(token, PASSWORD, PASSWORD)


def test_a_ticket_signed_under_a_dropped_secret_is_refused() -> None:
    """Signatures: the current key signs; previous keys verify; a key no longer listed
    does not."""
    old, rotated, new = (
        PlatformSecret(OLD),
        PlatformSecret(NEW, previous=[OLD]),
        PlatformSecret(NEW),
    )
    signature = old.sign("payload")
    assert rotated.verify("payload", signature)
    assert not new.verify("payload", signature)
    assert rotated.sign("payload") == new.sign("payload")
    assert not rotated.verify("other payload", signature)


# --- the throttle's storage (P1) --------------------------------------------------------


@pytest.mark.rule("P1")
def test_the_throttle_counts_in_memory_unless_a_redis_is_named() -> None:
    """Rule P1: PEPS_THROTTLE_URL defaults to memory://; redis:// and rediss:// are
    taken as given."""
    assert load_config({}).throttle_url == "memory://"
    for url in ("redis://cache.example:6379/0", "rediss://:pw@cache.example:6380/1"):
        assert load_config({"PEPS_THROTTLE_URL": url}).throttle_url == url


@pytest.mark.rule("P1")
@pytest.mark.parametrize(
    "url",
    [
        "memcached://cache:11211",
        "cache.example:6379",
        "redis://",
        "http://cache.example",
        "redis://:hunter2-pw@cache:99999999/0",
        "redis://user:hunter2-pw@/0",
    ],
)
def test_a_wrong_throttle_url_is_refused_in_french_and_masked(url: str) -> None:
    """Rule P1: any other storage is a ConfigError naming PEPS_THROTTLE_URL in French,
    and the refusal never quotes the password."""
    with pytest.raises(ConfigError, match="PEPS_THROTTLE_URL doit valoir memory://") as raised:
        load_config({"PEPS_THROTTLE_URL": url})
    assert "hunter2-pw" not in str(raised.value)


@pytest.mark.rule("P1")
def test_the_throttle_url_is_shown_masked() -> None:
    """Rule P1: the configuration's printout masks the Redis password, as it masks
    database URLs."""
    config = load_config({"PEPS_THROTTLE_URL": "redis://peps:hunter2-pw@cache:6379/0"})
    assert "hunter2-pw" not in repr(config)
    assert "throttle=redis://peps:***@cache:6379/0" in repr(config)


@pytest.mark.rule("P1")
def test_a_redis_password_is_refused_in_the_toml_file(tmp_path: Path) -> None:
    """Rule P1: like every secret, a Redis password stays out of the TOML file (the
    environment variable carries it); a URL without one is read from the file."""
    toml = tmp_path / "peps.toml"
    toml.write_text('[throttle]\nurl = "redis://:hunter2-pw@cache:6379/0"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="ne s'écrit pas dans le fichier") as raised:
        load_config({"PEPS_CONFIG": str(toml)})
    assert "hunter2-pw" not in str(raised.value)
    toml.write_text('[throttle]\nurl = "redis://cache:6379/0"\n', encoding="utf-8")
    assert load_config({"PEPS_CONFIG": str(toml)}).throttle_url == "redis://cache:6379/0"


@pytest.mark.rule("P1")
def test_build_from_config_counts_in_the_configured_storage(
    tmp_path: Path, database: SqlDatabase
) -> None:
    """Rule P1: the platform's throttle is the storage PEPS_THROTTLE_URL names; here a
    Redis nothing answers for, which refuses rather than admits (fail closed)."""
    import socket
    from datetime import timedelta

    from peps_onboarding.domain.errors import ThrottleUnavailableError
    from peps_onboarding.domain.throttling import RateLimit

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"redis://:hunter2-pw@127.0.0.1:{port}/0"
    platform = build_on(database, load_config(production(tmp_path, PEPS_THROTTLE_URL=url)))
    throttle = platform._deps.throttle  # the wiring is what this test pins
    assert repr(throttle) == f"LimitsThrottle('redis://:***@127.0.0.1:{port}/0')"
    with pytest.raises(ThrottleUnavailableError):
        throttle.hit(RateLimit(1, timedelta(minutes=1)), "wiring")


@pytest.mark.rule("M1")
def test_the_page_on_personal_data_comes_from_the_configuration(tmp_path: Path) -> None:
    """M1: PEPS_PRIVACY_URL (or ``[mail] privacy_url``) is where both renderers' footer
    line « Découvrez comment nous traitons vos données » leads; unset, no link; a value
    that is no web address is refused when the configuration is read."""
    page = "https://employeur.example/donnees-personnelles"
    for html in ("true", "false"):
        renderer = make_renderer(load_config({"PEPS_PRIVACY_URL": page, "PEPS_MAIL_HTML": html}))
        assert isinstance(renderer, JinjaEmailRenderer | PlainTextEmailRenderer)
        assert renderer.privacy_url == page
    assert make_renderer(load_config({})).privacy_url is None  # type: ignore[attr-defined]
    toml = tmp_path / "peps.toml"
    toml.write_text(f'[mail]\nprivacy_url = "{page}"\n', encoding="utf-8")
    assert load_config({"PEPS_CONFIG": str(toml)}).privacy_url == page
    with pytest.raises(ConfigError, match="PEPS_PRIVACY_URL doit être une adresse https"):
        load_config({"PEPS_PRIVACY_URL": "javascript:alert(1)"})
