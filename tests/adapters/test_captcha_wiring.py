"""Which security check production wires (C1): the image choice by default, CaptchEtat
when its credentials are configured, never the in-memory one outside a demo."""

from __future__ import annotations

from pathlib import Path

import pytest

from peps_onboarding import InMemoryCaptchaVerifier
from peps_onboarding.adapters.captcha.captchetat import (
    PRODUCTION_OAUTH_URL,
    CaptchEtatVerifier,
)
from peps_onboarding.adapters.captcha.image_choice import ImageChoiceCaptcha
from peps_onboarding.adapters.sql import SqlDatabase
from peps_onboarding.bootstrap import build_from_config, make_captcha
from peps_onboarding.config import ConfigError, load_config
from peps_onboarding.domain.errors import CaptchaUnavailableError
from peps_onboarding.entrypoints.cli import _NoCaptcha
from peps_onboarding.testing.samples import sample_directory

SECRET = "5e" * 32
CAPTCHETAT = {
    "PEPS_CAPTCHETAT_CLIENT_ID": "application-peps",
    "PEPS_CAPTCHETAT_CLIENT_SECRET": "secret-piste-1234",
}


def production(tmp_path: Path, **extra: str) -> dict[str, str]:
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


@pytest.mark.rule("C1")
def test_the_image_choice_is_the_default(tmp_path: Path) -> None:
    """Rule C1: with no CaptchEtat setting, production asks the image choice, and a
    production configuration then builds without naming a captcha."""
    config = load_config(production(tmp_path))
    assert isinstance(make_captcha(config), ImageChoiceCaptcha)
    database = SqlDatabase(f"sqlite:///{tmp_path / 'peps.db'}")
    database.upgrade()
    try:
        platform = build_from_config(
            config, unit_of_work=database.unit_of_work, directory=sample_directory()
        )
        assert platform.security_check().kind == "images"
    finally:
        database.dispose()


@pytest.mark.rule("C1")
def test_captchetat_is_wired_when_its_credentials_are_given(tmp_path: Path) -> None:
    """Rule C1: a client id and secret choose CaptchEtat, at the configured addresses
    (PISTE's production when none is given)."""
    config = load_config(
        production(
            tmp_path,
            **CAPTCHETAT,
            PEPS_CAPTCHETAT_URL="https://sandbox-api.piste.gouv.fr/piste/captchetat/v2/",
            PEPS_CAPTCHETAT_STYLE="captchaFR",
        )
    )
    captcha = make_captcha(config)
    assert isinstance(captcha, CaptchEtatVerifier)
    assert captcha.settings.base_url == "https://sandbox-api.piste.gouv.fr/piste/captchetat/v2"
    assert captcha.settings.oauth_url == PRODUCTION_OAUTH_URL
    assert captcha.settings.style == "captchaFR"
    assert captcha.settings.client_secret == "secret-piste-1234"
    for shown in (repr(config), repr(captcha), repr(captcha.settings)):
        assert "secret-piste-1234" not in shown
    assert "captcha=captchetat" in repr(config)


@pytest.mark.rule("C1")
def test_the_secret_can_come_from_a_file(tmp_path: Path) -> None:
    """Rule C1: like every secret, the CaptchEtat secret may be read from a file."""
    secret_file = tmp_path / "captchetat"
    secret_file.write_text("secret-du-fichier\n", encoding="utf-8")
    config = load_config(
        production(
            tmp_path,
            PEPS_CAPTCHETAT_CLIENT_ID="application-peps",
            PEPS_CAPTCHETAT_CLIENT_SECRET_FILE=str(secret_file),
        )
    )
    assert config.captchetat_client_secret == "secret-du-fichier"


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"PEPS_CAPTCHETAT_CLIENT_ID": "application-peps"}, "PEPS_CAPTCHETAT_CLIENT_SECRET"),
        ({"PEPS_CAPTCHETAT_CLIENT_SECRET": "s"}, "PEPS_CAPTCHETAT_CLIENT_ID"),
        ({"PEPS_CAPTCHETAT_URL": "https://piste.example"}, "PEPS_CAPTCHETAT_CLIENT_ID"),
        ({**CAPTCHETAT, "PEPS_CAPTCHETAT_URL": "http://piste.example"}, "https://"),
        ({**CAPTCHETAT, "PEPS_CAPTCHETAT_OAUTH_URL": "ftp://x"}, "PEPS_CAPTCHETAT_OAUTH_URL"),
        ({**CAPTCHETAT, "PEPS_CAPTCHETAT_STYLE": "a&get=html"}, "PEPS_CAPTCHETAT_STYLE"),
    ],
)
def test_incomplete_or_wrong_captchetat_settings_are_refused(
    tmp_path: Path, settings: dict[str, str], named: str
) -> None:
    """Rule C1: half a CaptchEtat configuration is refused in French, never silently
    replaced by the image choice."""
    with pytest.raises(ConfigError, match=named):
        load_config(production(tmp_path, **settings))


@pytest.mark.rule("C1")
def test_the_in_memory_check_is_still_refused_in_production(tmp_path: Path) -> None:
    """Rule C1: the in-memory check (it accepts « trombone ») never runs in production."""
    with pytest.raises(ConfigError, match="contrôle de sécurité"):
        build_from_config(
            load_config(production(tmp_path)),
            unit_of_work=lambda: None,  # type: ignore[arg-type, return-value]
            directory=sample_directory(),
            captcha=InMemoryCaptchaVerifier(),
        )


@pytest.mark.rule("C1")
def test_the_worker_shows_no_check_and_passes_none() -> None:
    """Rule C1: the command line answers no form: no challenge, no media, no pass."""
    captcha = _NoCaptcha()
    with pytest.raises(CaptchaUnavailableError):
        captcha.challenge()
    assert captcha.media("any", "son") is None
    assert captcha.verify("", "trombone") is False
