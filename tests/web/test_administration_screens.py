"""« Gestion des comptes » through the test client (W1, R1–R7, E5): the members with
R5's columns and the single-administrator warning, creating a user, rights per service,
and every account action — each a form, each decided by the platform."""

from __future__ import annotations

import pytest
from tests.web.helpers import Site

from peps_onboarding.testing import PASSWORD, Journey

EMAIL = "luc.moreau@employeur.example"
USER = {
    "civilite": "Monsieur",
    "nom": "Moreau",
    "prenom": "Luc",
    "courriel": EMAIL,
    "confirmation_courriel": EMAIL,
    "telephone": "0556114125",
    "service_fonction": "Comptabilité",
    "voie": "6 place des Clémens",
    "code_postal": "33160",
    "ville": "Saint-Aubin",
}


@pytest.fixture
def admin(site: Site) -> str:
    identifier = site.journey.enrolled_administrator()
    site.login(identifier, PASSWORD)
    return identifier


def rights_of(journey: Journey, admin: str, identifier: str) -> dict[str, str]:
    listed = journey.platform.list_members(admin)
    row = next(row for row in listed.members if row.identifier == identifier)
    return {right.label: right.level_label for right in row.rights}


@pytest.mark.rule("W1", "R5", "E5")
def test_the_members_list_has_r5s_columns_and_the_warning(site: Site, admin: str) -> None:
    page = site.get("/gestion-des-comptes")
    text = site.text(page.text)
    for column in (
        "Nom",
        "Prénom",
        "N-E",
        "Identifiant",
        "Service",
        "Profil",
        "Statut",
        "Expiration du compte",
        "Connexion",
    ):
        assert column in text
    assert "Votre établissement n'a qu'un seul administrateur" in text
    assert admin in text and "Gestion des comptes" in site.text(site.get("/espace").text)


@pytest.mark.rule("W1", "R5", "R3", "R4")
def test_an_administrator_creates_a_user_and_grants_remboursements_modification(
    site: Site, admin: str
) -> None:
    journey = site.journey
    missing = site.post("/gestion-des-comptes/creer", {"nom": "Moreau"})
    assert missing.status_code == 422 and 'id="erreur-courriel"' in missing.text
    created = site.post("/gestion-des-comptes/creer", USER)
    text = site.text(created.text)
    assert "est créé. Un courriel est envoyé à son titulaire" in text
    identifier = next(
        row.identifier
        for row in journey.platform.list_members(admin).members
        if row.last_name == "Moreau"
    )
    page = site.get(f"/gestion-des-comptes/{identifier}")
    text = site.text(page.text)
    assert "Dotations FMIS" in text and "Remboursements FMIS" in text
    assert "Aucun" in text and "Lecture seule" in text and "Modification" in text
    saved = site.post(
        f"/gestion-des-comptes/{identifier}/droits",
        {"droit_fmis_refunds": "modify", "droit_fmis_allocations": "read_only"},
        csrf_from=f"/gestion-des-comptes/{identifier}",
    )
    assert "Les droits sont enregistrés." in site.text(saved.text)
    assert rights_of(journey, admin, identifier) == {
        "Dotations FMIS": "Lecture seule",
        "Remboursements FMIS": "Modification",
    }
    bogus = site.post(
        f"/gestion-des-comptes/{identifier}/droits",
        {"droit_fmis_refunds": "owner"},
        csrf_from=f"/gestion-des-comptes/{identifier}",
    )
    assert bogus.status_code == 422
    assert rights_of(journey, admin, identifier)["Remboursements FMIS"] == "Modification"


@pytest.mark.rule("W1", "R1", "E5")
def test_promote_demote_and_the_last_administrator(site: Site, admin: str) -> None:
    journey = site.journey
    user = journey.active_user(admin)
    member = f"/gestion-des-comptes/{user}"
    promoted = site.post(f"{member}/promouvoir", {}, csrf_from=member)
    assert "profil Administrateur" in site.text(promoted.text)
    demoted = site.post(f"{member}/retrograder", {}, csrf_from=member)
    assert "profil Utilisateur" in site.text(demoted.text)
    myself = f"/gestion-des-comptes/{admin}"
    refused = site.post(f"{myself}/retrograder", {}, csrf_from=myself)
    assert refused.status_code == 422
    assert "l'établissement doit toujours avoir au moins un administrateur" in site.text(
        refused.text
    )


@pytest.mark.rule("W1", "W2", "R6")
def test_infirming_asks_for_confirmation_first(site: Site, admin: str) -> None:
    journey = site.journey
    user = journey.active_user(admin)
    member = f"/gestion-des-comptes/{user}"
    asked = site.post(f"{member}/infirmer", {}, csrf_from=member)
    assert "Confirmer" in site.text(asked.text)
    assert "Actif" in site.text(site.get(member).text)
    done = site.post(f"{member}/infirmer", {"confirmer": "oui"}, csrf_from=member)
    assert "Le compte est infirmé." in site.text(done.text)
    assert site.login(user, PASSWORD).status_code == 422


@pytest.mark.rule("W1", "R6")
def test_a_user_administers_nothing(site: Site) -> None:
    journey = site.journey
    admin = journey.enrolled_administrator()
    user = journey.active_user(admin)
    site.login(user, PASSWORD)
    assert "Gestion des comptes" not in site.text(site.get("/espace").text)
    page = site.get("/gestion-des-comptes")
    assert page.status_code == 403
    assert "Vous n'avez pas les droits nécessaires" in site.text(page.text)
    forced = site.post(f"/gestion-des-comptes/{admin}/retrograder", {}, csrf_from="/espace")
    assert forced.status_code == 403
    assert journey.platform.list_members(admin).members[0].profile == "Administrateur"


@pytest.mark.rule("W1", "R6", "A4")
def test_unblock_is_offered_to_a_blocked_account(site: Site, admin: str) -> None:
    journey = site.journey
    user = journey.active_user(admin)
    member = f"/gestion-des-comptes/{user}"
    assert "Débloquer le compte" not in site.text(site.get(member).text)
    for source in ("198.51.100.1", "198.51.100.2", "198.51.100.3"):  # P3: three sources
        site.login(user, "Pas-le-bon1", source=source)
    site.login(admin, PASSWORD)
    page = site.text(site.get(member).text)
    assert "Bloqué" in page and "Débloquer le compte" in page
    unblocked = site.post(f"{member}/debloquer", {}, csrf_from=member)
    assert "Le compte est débloqué." in site.text(unblocked.text)
    assert site.login(user, PASSWORD).url.path == "/espace"


@pytest.mark.rule("W1", "A7")
def test_renew_is_offered_to_an_expired_account(site: Site, admin: str) -> None:
    journey = site.journey
    user = journey.active_user(admin)
    member = f"/gestion-des-comptes/{user}"
    assert "Renouveler le compte" not in site.text(site.get(member).text)
    journey.later(days=300)  # a second administrator, younger than the user's account
    second = journey.active_user(admin, first_name="Alice", last_name="Bernard")
    journey.platform.promote(admin, second)
    journey.later(days=270)  # past the user's 18 months, not the second's
    journey.platform.sweep()
    site.login(second, PASSWORD)
    page = site.text(site.get(member).text)
    assert "Expiré" in page and "Renouveler le compte" in page
    renewed = site.post(f"{member}/renouveler", {}, csrf_from=member)
    assert "Le compte est renouvelé." in site.text(renewed.text)
    assert "Actif" in site.text(renewed.text)
