"""JinjaEmailRenderer: the French e-mails of rule M1, in text and HTML."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from jinja2 import ChoiceLoader, DictLoader, PackageLoader, UndefinedError

from peps_onboarding.adapters.jinja_emails import JinjaEmailRenderer
from peps_onboarding.domain.links import LinkPurpose
from peps_onboarding.domain.notifications import (
    EmailKind,
    EmailMessage,
    EmailNotification,
    SealedLink,
)
from peps_onboarding.testing.contracts import EmailRendererContract

TOKEN = "tok-9b1f3e27a4c8"
LINK = f"https://pep.example/mot-de-passe?jeton={TOKEN}&etape=1"
PASSWORD = "Tr0ub4dour&3!"  # must never reach an e-mail (M4)

FOOTER = (
    "À bientôt sur la Plateforme Employeurs Publics Pep's.",
    "***** IMPORTANT *****",
    "Cet email vous a été envoyé par un automate. Merci de ne pas répondre.",
    "Notre politique de protection des données à caractère personnel évolue avec la "
    "nouvelle réglementation.",
    "Découvrez comment nous traitons vos données",
)
SIGNATURE = (
    "L'assistance technique de la Plateforme Employeurs Publics Pep's\n"
    "Direction des Retraites et de la Solidarité - Caisse des Dépôts"
)
CREATION_WARNING = (
    "Pour des raisons de sécurité, vous avez 15 jours pour le créer. "
    "Passé ce délai, vous devrez procéder à une nouvelle inscription."
)
EVERY_FACT = (
    ("withdrawal_url", "https://pep.example/desinscription?jeton=w1"),
    ("registered_on", "2024-03-13"),
    ("login_url", "https://pep.example/connexion"),
    ("new_user", "Madame Anne Martin"),
    ("new_user_identifier", "AMA000002"),
    ("withdrawn_by", "legal_representative"),
    ("password", PASSWORD),  # a mistake upstream: no template may show it
)


@pytest.fixture(scope="module")
def renderer() -> JinjaEmailRenderer:
    return JinjaEmailRenderer()


class TestJinjaEmailRenderer(EmailRendererContract):
    """The port's contract; the tests below pin what this renderer adds (HTML, wording)."""


def link(purpose: LinkPurpose = LinkPurpose.PASSWORD_CREATION) -> SealedLink:
    return SealedLink(
        purpose=purpose, nonce="00ff", expires_at=datetime(2024, 3, 28, 13, 5, tzinfo=UTC)
    )


def notification(
    kind: EmailKind,
    *,
    designation: str = "Commune de Saint-Étienne",
    facts: tuple[tuple[str, str], ...] = EVERY_FACT,
    sealed: SealedLink | None = None,
) -> EmailNotification:
    return EmailNotification(
        kind=kind,
        to="jean.dupont@mairie.example",
        recipient="Monsieur Jean Dupont",
        siret="21420218600017",
        designation=designation,
        identifier="JDU000001",
        facts=facts,
        link=sealed,
    )


def render(
    renderer: JinjaEmailRenderer, note: EmailNotification, link_url: str | None = LINK
) -> EmailMessage:
    return renderer.render(note, message_id="01HV6Z9K3Q2W", link_url=link_url)


def html_of(message: EmailMessage) -> str:
    assert message.html is not None
    return message.html


@pytest.mark.rule("M1")
@pytest.mark.parametrize("kind", list(EmailKind))
def test_every_kind_renders_text_and_html_with_the_automaton_footer(
    renderer: JinjaEmailRenderer, kind: EmailKind
) -> None:
    """Each e-mail kind renders a subject and both bodies, ending with the seed's footer:
    « À bientôt », the signature, the automaton notice and the line on personal data."""
    message = render(renderer, notification(kind, sealed=link()))

    assert message.subject
    assert message.text.startswith("Bonjour Monsieur Jean Dupont,")
    html = html_of(message)
    for line in FOOTER:
        assert line in message.text
        assert line in html
    assert SIGNATURE in message.text
    assert message.text.rstrip().endswith(
        "Découvrez comment nous traitons vos données sur la Plateforme Employeurs Publics Pep's."
    )
    assert "Direction des Retraites et de la Solidarité - Caisse des Dépôts" in html
    assert html.lstrip().startswith("<!DOCTYPE html>")
    assert f"<title>{message.subject}</title>" in html.replace("&#39;", "'")


@pytest.mark.rule("M1", "C5")
def test_password_creation_email_of_the_classic_path(renderer: JinjaEmailRenderer) -> None:
    """The creation e-mail gives the identifier, the link, the 15-day warning, the letter."""
    message = render(renderer, notification(EmailKind.PASSWORD_CREATION, sealed=link()))

    assert message.subject == "Vous pouvez créer votre mot de passe"
    html = html_of(message)
    for body in (message.text, html):
        assert "JDU000001" in body
        assert "Créer mon mot de passe" in body
        assert "Attention" in body
        assert CREATION_WARNING in body
        assert "Le représentant légal de l'établissement est informé de cette inscription" in body
        assert "28/03/2024 à 14:05 (heure de Paris)" in body  # the link's expiry
    assert LINK in message.text
    assert f'href="{LINK.replace("&", "&amp;")}"' in html
    assert "https://pep.example/desinscription?jeton=w1" in message.text
    assert "Annuler l'inscription" in html


@pytest.mark.rule("M1", "C5")
def test_password_creation_without_withdrawal_url_says_nothing_of_cancelling(
    renderer: JinjaEmailRenderer,
) -> None:
    """Without the ``withdrawal_url`` fact, the e-mail has no cancellation link."""
    message = render(renderer, notification(EmailKind.PASSWORD_CREATION, facts=()))
    assert "annuler" not in message.text.lower()
    assert "Annuler" not in html_of(message)
    assert CREATION_WARNING in message.text


@pytest.mark.rule("M1", "R5")
def test_password_creation_for_an_account_made_by_an_administrator(
    renderer: JinjaEmailRenderer,
) -> None:
    """An account made by an administrator names them; no letter, no re-registration."""
    facts = (("created_by", "Madame Odile Garnier"),)
    message = render(renderer, notification(EmailKind.PASSWORD_CREATION, facts=facts))
    assert "Madame Odile Garnier, administratrice de l'établissement" in message.text
    assert "représentant légal" not in message.text
    assert "vous avez 15 jours pour le créer" in message.text
    assert "nouvelle inscription" not in message.text


@pytest.mark.rule("M1", "C5")
def test_validity_days_fact_overrides_the_policy(renderer: JinjaEmailRenderer) -> None:
    """The ``validity_days`` fact, when present, is the number of days the e-mail states."""
    facts = (("validity_days", "7"),)
    message = render(renderer, notification(EmailKind.PASSWORD_CREATION, facts=facts))
    assert "vous avez 7 jours pour le créer" in message.text
    assert "vous avez 7 jours pour le créer" in html_of(message)


@pytest.mark.rule("M1", "N3")
def test_new_net_entreprises_user_email_to_administrators(renderer: JinjaEmailRenderer) -> None:
    """The administrators learn who got an N-E account, its identifier, and what they may do."""
    message = render(renderer, notification(EmailKind.NEW_NET_ENTREPRISES_USER), link_url=None)
    for body in (message.text, html_of(message)):
        assert "Net-Entreprises" in body
        assert "Madame Anne Martin" in body
        assert "AMA000002" in body
        assert "modifier ses droits" in body
        assert "infirmer ce compte" in body


@pytest.mark.rule("M1", "C8")
def test_access_open_email_on_day_j(renderer: JinjaEmailRenderer) -> None:
    """Day J: the seed's wording, the registration date as JJ/MM/AAAA, « Se connecter »."""
    message = render(renderer, notification(EmailKind.ACCESS_OPEN), link_url=None)
    assert message.subject == "Vous pouvez maintenant accéder à la plateforme"
    html = html_of(message)
    for body in (message.text, html):
        assert "Vous avez inscrit depuis le 13/03/2024 l'établissement" in body
        assert (
            "Nous vous informons que vous pouvez accéder dès maintenant à l'ensemble des "
            "services de la Plateforme Employeurs Publics Pep's."
        ) in body
        assert "Se connecter" in body
    assert "Se connecter : https://pep.example/connexion" in message.text
    assert 'href="https://pep.example/connexion"' in html


@pytest.mark.rule("M1", "C8")
def test_access_open_without_login_url_has_no_button(renderer: JinjaEmailRenderer) -> None:
    """Without the ``login_url`` fact, no « Se connecter » link is drawn."""
    facts = (("registered_on", "13/03/2024"),)
    message = render(renderer, notification(EmailKind.ACCESS_OPEN, facts=facts), link_url=None)
    assert "Vous avez inscrit depuis le 13/03/2024" in message.text
    assert "Se connecter" not in message.text
    assert "href" not in html_of(message)


@pytest.mark.rule("M1", "A5")
def test_password_reset_email_gives_three_days(renderer: JinjaEmailRenderer) -> None:
    """The reset e-mail carries the link and the FAQ's 3-day sentence."""
    sealed = link(LinkPurpose.PASSWORD_RESET)
    message = render(renderer, notification(EmailKind.PASSWORD_RESET, facts=(), sealed=sealed))
    for body in (message.text, html_of(message)):
        assert (
            "Vous avez 3 jours pour le faire, passé ce délai vous devez relancer la procédure."
        ) in body
        assert "JDU000001" in body
    assert LINK in message.text


@pytest.mark.rule("M1", "C9")
def test_registration_withdrawn_email(renderer: JinjaEmailRenderer) -> None:
    """The withdrawal e-mail says who withdrew and that a new registration is possible."""
    message = render(renderer, notification(EmailKind.REGISTRATION_WITHDRAWN), link_url=None)
    html = html_of(message)
    for body in (message.text, html.replace("&#39;", "'")):
        assert "a été annulée" in body
        assert (
            "a été annulée. Cette annulation a été demandée par le représentant légal de "
            "l'établissement."
        ) in body
        assert "par :" not in body
        assert "nouvelle inscription de l'établissement reste possible" in body


@pytest.mark.rule("M1")
@pytest.mark.parametrize("kind", list(EmailKind))
def test_html_escapes_what_users_typed(renderer: JinjaEmailRenderer, kind: EmailKind) -> None:
    """A designation holding markup is escaped in the HTML body, kept verbatim in the text."""
    hostile = "<script>alert('x')</script> & Cie"
    message = render(renderer, notification(kind, designation=hostile))
    html = html_of(message)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Cie" in html
    assert hostile in message.text


@pytest.mark.rule("M1")
def test_only_web_addresses_become_links(renderer: JinjaEmailRenderer) -> None:
    """A ``javascript:`` address, which autoescaping would let through, is refused."""
    facts = (("login_url", "javascript:alert(1)"),)
    with pytest.raises(ValueError, match="login_url"):
        render(renderer, notification(EmailKind.ACCESS_OPEN, facts=facts), link_url=None)


@pytest.mark.rule("M1")
def test_host_templates_come_first_and_undefined_variables_fail() -> None:
    """A host's loader overrides a template; a variable no one defines is an error."""
    loader = ChoiceLoader(
        [
            DictLoader({"access_open.txt.j2": '{% set subject = "Ouvert" %}{{ nobody }}'}),
            PackageLoader("peps_onboarding", "templates/emails"),
        ]
    )
    with pytest.raises(UndefinedError):
        render(JinjaEmailRenderer(loader=loader), notification(EmailKind.ACCESS_OPEN))
