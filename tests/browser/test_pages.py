"""axe-core on every page the screens serve (W4), with scripts and, where they change
the page, without (W5): each GET route of ``web/app.py`` in the state it needs, and the
pages a form's answer shows that no GET reaches (step 1's errors and outcomes, the
confirmation of « Infirmer », the CSRF refusal). The security check's media route serves
an image or a sound, not a page."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

import pytest
from playwright.sync_api import Page, expect
from tests.browser.test_journeys import (
    EMAIL,
    HOLDER,
    Check,
    Serve,
    fill_fields,
    fill_holder,
    follow,
    heading,
    log_in,
    pass_step_one,
    site,
    start_step_two,
    submit,
    visitor,
)

from peps_onboarding.testing import (
    COMMUNE,
    COMMUNE_CONTRACT,
    HOSPITAL,
    PASSWORD,
    Journey,
    holder_form,
)

_WITHDRAWAL = re.compile(r"/desinscription\?jeton=([A-Za-z0-9_.~-]+)")


class State(NamedTuple):
    reach: Callable[[Page, str, Journey], None]
    h1: str


def _get(path: str) -> Callable[[Page, str, Journey], None]:
    def reach(page: Page, base_url: str, journey: Journey) -> None:
        page.goto(base_url + path)

    return reach


def _signed_in(path: str) -> Callable[[Page, str, Journey], None]:
    def reach(page: Page, base_url: str, journey: Journey) -> None:
        log_in(page, base_url, journey.enrolled_administrator(), PASSWORD)
        page.goto(base_url + path)

    return reach


def _step_one_error(page: Page, base_url: str, journey: Journey) -> None:
    page.goto(base_url + "/inscription")
    fill_fields(page, {"siret": "123", "numero_contrat": ""})
    submit(page, "Suivant")
    expect(page.locator("#erreurs")).to_be_visible()


def _already_enrolled(page: Page, base_url: str, journey: Journey) -> None:
    """More administrators than step 1 shows (C2: three)."""
    admin = journey.enrolled_administrator()
    for first, last in (("Luc", "Moreau"), ("Alice", "Bernard"), ("Marc", "Petit")):
        journey.platform.promote(admin, journey.active_user(admin, first, last))
    page.goto(base_url + "/inscription")
    pass_step_one(page, COMMUNE, COMMUNE_CONTRACT)
    expect(page.get_by_role("link", name="Voir tous les administrateurs")).to_be_visible()


def _all_administrators(page: Page, base_url: str, journey: Journey) -> None:
    _already_enrolled(page, base_url, journey)
    follow(page, page.get_by_role("link", name="Voir tous les administrateurs"))
    expect(page.locator("main > ul > li")).to_have_count(4)


def _pending(page: Page, base_url: str, journey: Journey) -> None:
    journey.register(holder=holder_form())
    page.goto(base_url + "/inscription")
    pass_step_one(page, COMMUNE, COMMUNE_CONTRACT)
    expect(page.locator("main")).to_contain_text("en cours d'inscription")


def _step_two(page: Page, base_url: str, journey: Journey) -> None:
    start_step_two(page, base_url)
    page.goto(base_url + "/inscription/etape-2")


def _step_three(page: Page, base_url: str, journey: Journey) -> None:
    start_step_two(page, base_url)
    fill_holder(page, HOLDER, "Madame")
    page.locator("#champ-cgu").check()
    submit(page, "Suivant")
    page.goto(base_url + "/inscription/etape-3")


def _password_creation(page: Page, base_url: str, journey: Journey) -> None:
    journey.register(holder=holder_form())
    page.goto(f"{base_url}/creer-mot-de-passe?jeton={journey.last_token(EMAIL)}")


def _reset(page: Page, base_url: str, journey: Journey) -> None:
    identifier = journey.enrolled_administrator()
    journey.platform.request_password_reset(identifier)
    page.goto(f"{base_url}/reinitialiser-mot-de-passe?jeton={journey.last_token(EMAIL)}")


def _withdrawal_with_token(page: Page, base_url: str, journey: Journey) -> None:
    journey.register(holder=holder_form())
    texts = [mail.text for mail in journey.mails_to(EMAIL)]
    token = next(match.group(1) for text in texts for match in _WITHDRAWAL.finditer(text))
    page.goto(f"{base_url}/desinscription?jeton={token}")
    expect(page.get_by_role("button", name="Confirmer la désinscription")).to_be_visible()


def _net_entreprises_completion(page: Page, base_url: str, journey: Journey) -> None:
    journey.world.net_entreprises.register(
        siret=HOSPITAL, last_name="Martin", first_name="Paul", password="ne-password"
    )
    page.goto(base_url + "/net-entreprises/connexion")
    fill_fields(
        page, {"siret": HOSPITAL, "nom": "Martin", "prenom": "Paul", "mot_de_passe": "ne-password"}
    )
    submit(page, "Me connecter")
    page.goto(base_url + "/net-entreprises/completer")


def _member(page: Page, base_url: str, journey: Journey) -> None:
    admin = journey.enrolled_administrator()
    user = journey.active_user(admin)
    log_in(page, base_url, admin, PASSWORD)
    page.goto(f"{base_url}/gestion-des-comptes/{user}")


def _confirm_invalidate(page: Page, base_url: str, journey: Journey) -> None:
    _member(page, base_url, journey)
    submit(page, "Infirmer le compte")


def _csrf_refused(page: Page, base_url: str, journey: Journey) -> None:
    page.goto(base_url + "/connexion")
    page.context.clear_cookies()  # the session, and its token, are gone
    fill_fields(page, {"identifiant": "JDU000001", "mot_de_passe": PASSWORD})
    with page.expect_response(lambda response: response.status == 403):
        submit(page, "Me connecter")


STATES = {
    "home": State(_get("/"), "Accéder à la Plateforme Employeurs Publics"),
    "login": State(_get("/connexion"), "Se connecter"),
    "space": State(_signed_in("/espace"), "Mon espace"),
    "establishment-members": State(
        _signed_in("/mon-etablissement/intervenants"), "Mes intervenants"
    ),
    "forgotten-identifier": State(_get("/identifiant-oublie"), "Identifiant oublié"),
    "forgotten-password": State(_get("/mot-de-passe-oublie"), "Mot de passe oublié"),
    "reset": State(_reset, "Renouveler votre mot de passe"),
    "reset-dead-link": State(
        _get("/reinitialiser-mot-de-passe?jeton=perime"), "Renouveler votre mot de passe"
    ),
    "step-one": State(_get("/inscription"), "Inscrire un établissement"),
    "step-one-errors": State(_step_one_error, "Inscrire un établissement"),
    "already-enrolled": State(_already_enrolled, "Inscrire un établissement"),
    "all-administrators": State(_all_administrators, "Les administrateurs de l'établissement"),
    "pending": State(_pending, "Inscrire un établissement"),
    "step-two": State(_step_two, "Inscrire un établissement"),
    "step-three": State(_step_three, "Inscrire un établissement"),
    "password-creation": State(_password_creation, "Créer votre mot de passe"),
    "password-creation-dead-link": State(
        _get("/creer-mot-de-passe?jeton=perime"), "Créer votre mot de passe"
    ),
    "withdrawal-code": State(_get("/desinscription"), "Désinscrire l'établissement"),
    "withdrawal-token": State(_withdrawal_with_token, "Désinscrire l'établissement"),
    "net-entreprises-sign-in": State(
        _get("/net-entreprises/connexion"), "Se connecter avec Net-Entreprises"
    ),
    "net-entreprises-completion": State(
        _net_entreprises_completion, "Informations complémentaires"
    ),
    "accounts": State(_signed_in("/gestion-des-comptes"), "Gestion des comptes"),
    "new-user": State(_signed_in("/gestion-des-comptes/creer"), "Créer un compte utilisateur"),
    "member": State(_member, "Luc Moreau"),
    "confirm-invalidate": State(_confirm_invalidate, "Infirmer le compte de Luc Moreau ?"),
    "not-found": State(_get("/nulle-part"), "Page introuvable"),
    "csrf-refused": State(_csrf_refused, "Votre formulaire a expiré"),
}


# Where the scripts change the page (step 3's buttons, the live password rules, the
# focused error summary, the session's warning): judged a second time with scripts off.
# Every other page is the same markup either way, and the journeys (test_journeys.py)
# judge their pages both ways already; one pass keeps the folder within its time.
SCRIPTED = (
    "step-one-errors",
    "step-three",
    "password-creation",
    "reset",
    "space",
)
CASES = [
    pytest.param(state, javascript, id=f"{state}-{'with' if javascript else 'without'}-js")
    for state in STATES
    for javascript in (True, False)
    if javascript or state in SCRIPTED
]


@pytest.mark.rule("W1", "W4", "W5")
@pytest.mark.parametrize(("state", "javascript"), CASES)
def test_every_page_passes_axe(
    serve: Serve,
    request: pytest.FixtureRequest,
    journey: Journey,
    assert_accessible: Check,
    state: str,
    javascript: bool,
) -> None:
    page = visitor(request, javascript)
    reach, h1 = STATES[state]
    reach(page, site(serve, journey.platform), journey)
    assert heading(page) == h1
    assert page.evaluate("document.documentElement.lang") == "fr"
    assert_accessible(page)
