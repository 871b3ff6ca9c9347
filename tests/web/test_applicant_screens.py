"""The applicant's screens through the test client (W1, W2, W5): every page in the seeds'
words, every journey completed with plain forms — no script runs here."""

from __future__ import annotations

import pytest
from tests.web.helpers import EMAIL, HOLDER, Site

from peps_onboarding.testing import (
    COMMUNE,
    COMMUNE_CONTRACT,
    PASSWORD,
    holder_form,
)


@pytest.mark.rule("W1")
@pytest.mark.parametrize(
    ("path", "words"),
    [
        (
            "/",
            [
                "Accéder à la Plateforme Employeurs Publics",
                "Se connecter avec Net-Entreprises",
                "Inscrire un établissement",
                "Simplifier vos démarches",
            ],
        ),
        (
            "/connexion",
            [
                "Se connecter",
                "Identifiant oublié ?",
                "Mot de passe oublié ?",
                "Ex : JDA000001",
                "Identifiant unique à 9 caractères fourni lors de l'inscription",
                "Me connecter",
                "Tous les champs sont requis.",
            ],
        ),
        (
            "/inscription",
            [
                "Inscrire un établissement",
                "Étape 1",
                "Identifier votre établissement",
                "SIRET",
                "Numéro de contrat immatriculation/adhésion",
                "Contrôle de sécurité",
                "Version sonore",
                "Renouveler le contrôle de sécurité",
                "Suivant",
            ],
        ),
        ("/identifiant-oublie", ["Identifiant oublié", "SIRET", "Courriel"]),
        ("/mot-de-passe-oublie", ["Mot de passe oublié", "3 jours"]),
        (
            "/desinscription",
            [
                "Désinscrire l'établissement",
                "Code de désinscription",
                "Confirmer la désinscription",
            ],
        ),
        (
            "/net-entreprises/connexion",
            [
                "Se connecter avec Net-Entreprises",
                "Siret",
                "Ex : 180 020 026 00019",
                "Nom",
                "Prénom",
                "Mot de passe",
                "Me connecter",
            ],
        ),
    ],
)
def test_every_entry_page_speaks_the_seeds_words(site: Site, path: str, words: list[str]) -> None:
    page = site.get(path)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    text = site.text(page.text)
    for expected in words:
        assert expected in text, expected
    assert '<html lang="fr">' in page.text


@pytest.mark.rule("W1", "C1", "C4", "C5", "C6", "C7", "C8", "W5")
def test_classic_registration_from_step_one_to_the_first_login(site: Site) -> None:
    journey = site.journey
    step_two = site.step_one(COMMUNE, COMMUNE_CONTRACT)
    text = site.text(step_two.text)
    assert "Étape 2" in text and "Créer votre compte administrateur" in text
    assert COMMUNE in text and "À quoi vont servir les données collectées" in text
    assert "Ex : Dupont" in text and "Ex : 6 place des clemens" in text

    step_three = site.post("/inscription/etape-2", HOLDER)
    text = site.text(step_three.text)
    identifier = next(word for word in text.split() if len(word) == 9 and word[:3] == "JDU")
    assert "Votre identifiant de connexion est" in text
    assert "Un courriel vous est envoyé afin de créer votre mot de passe" in text
    assert "21/03/2024" in text  # day J, 8 days after 13/03/2024, in Paris time

    journey.deliver()
    token = journey.last_token(EMAIL)
    page = site.get(f"/creer-mot-de-passe?jeton={token}")
    text = site.text(page.text)
    assert "Votre mot de passe doit être composé au minimum de" in text
    assert "1 caractère spécial" in text
    created = site.post(
        "/creer-mot-de-passe",
        {"jeton": token, "mot_de_passe": PASSWORD, "confirmation_mot_de_passe": PASSWORD},
        csrf_from=f"/creer-mot-de-passe?jeton={token}",
    )
    text = site.text(created.text)
    assert "Votre mot de passe a bien été créé" in text
    assert "à compter du 21/03/2024" in text
    assert "Nous vous informons par courriel dès que vous pourrez accéder à votre espace" in text

    refused = site.login(identifier, PASSWORD)
    assert "à compter du 21/03/2024" in site.text(refused.text)
    journey.later(days=8)
    journey.platform.sweep()
    space = site.login(identifier, PASSWORD)
    assert space.url.path == "/espace"
    members = site.get("/mon-etablissement/intervenants")
    text = site.text(members.text)
    assert "Mes intervenants" in text and identifier in text and "Administrateur" in text


@pytest.mark.rule("W1", "C2", "R7")
def test_an_enrolled_establishment_shows_its_first_administrators_then_all(site: Site) -> None:
    journey = site.journey
    admin = journey.enrolled_administrator()
    shown = journey.platform.policy.administrators_shown
    for index in range(shown):  # one more administrator than the page shows
        user = journey.active_user(admin, first_name=f"Admin{chr(65 + index)}", last_name="Roux")
        journey.platform.promote(admin, user)
    page = site.step_one(COMMUNE, COMMUNE_CONTRACT)
    text = site.text(page.text)
    assert "L'établissement est déjà inscrit" in text
    assert "Vous ne pouvez pas effectuer son inscription." in text
    assert "Voir tous les administrateurs" in text
    everyone = site.text(site.get("/inscription/administrateurs").text)
    assert "Jeanne Dupont" in everyone
    assert all(f"Admin{chr(65 + i)} Roux" in everyone for i in range(shown))
    assert "@" not in everyone  # names only, never an e-mail (R7)


@pytest.mark.rule("W1", "C3")
def test_a_registration_in_progress_offers_a_new_link(site: Site) -> None:
    journey = site.journey
    journey.register(holder=holder_form())
    journey.deliver()
    page = site.step_one(COMMUNE, COMMUNE_CONTRACT)
    assert "Votre établissement est en cours d'inscription." in site.text(page.text)
    first = journey.last_token(EMAIL)
    resent = site.post("/inscription/nouveau-lien", {}, csrf_from="/inscription/etape-2")
    assert "Un nouveau courriel vous a été envoyé" in site.text(resent.text)
    journey.deliver()
    assert journey.last_token(EMAIL) != first


@pytest.mark.rule("W1", "C4")
def test_previous_keeps_what_was_typed_in_step_two(site: Site) -> None:
    site.step_one(COMMUNE, COMMUNE_CONTRACT)
    typed = {**HOLDER, "courriel": "pas-un-courriel", "ville": "Saint-Aubin-de-Médoc"}
    back = site.post("/inscription/etape-2", {**typed, "action": "precedent"})
    text = back.text
    assert "Étape 1" in site.text(text)
    assert f'value="{COMMUNE}"' in text and f'value="{COMMUNE_CONTRACT}"' in text
    assert 'name="ville" value="Saint-Aubin-de-Médoc"' in text  # carried, not stored
    again = site.step_one(
        COMMUNE,
        COMMUNE_CONTRACT,
        ville="Saint-Aubin-de-Médoc",
        courriel="pas-un-courriel",
        nom="Dupont",
    )
    assert 'value="Saint-Aubin-de-Médoc"' in again.text and 'value="pas-un-courriel"' in again.text
    assert site.journey.platform.history(COMMUNE) == ()


@pytest.mark.rule("W1", "C1")
def test_renewing_the_check_keeps_the_typed_pair(site: Site) -> None:
    page = site.get("/inscription").text
    token = page.split('name="csrf" value="')[1].split('"')[0]
    first = page.split('name="defi" value="')[1].split('"')[0]
    renewed = site.client.post(
        "/inscription",
        data={
            "csrf": token,
            "defi": first,
            "siret": COMMUNE,
            "numero_contrat": "FM33",
            "action": "renouveler",
        },
    )
    assert renewed.status_code == 200
    assert f'value="{COMMUNE}"' in renewed.text and 'value="FM33"' in renewed.text
    assert f'name="defi" value="{first}"' not in renewed.text
    assert "Le formulaire contient" not in site.text(renewed.text)


@pytest.mark.rule("W1", "C10")
def test_step_two_without_step_one_goes_back_to_step_one(site: Site) -> None:
    assert site.get("/inscription/etape-2").url.path == "/inscription"
    assert site.get("/inscription/etape-3").url.path == "/inscription"
    refused = site.post("/inscription/etape-2", HOLDER, csrf_from="/inscription")
    assert refused.status_code == 409
    assert "Votre saisie a expiré" in site.text(refused.text)


@pytest.mark.rule("W1", "W2", "C9")
def test_the_applicant_withdraws_from_the_e_mailed_link(site: Site) -> None:
    journey = site.journey
    journey.register(holder=holder_form())
    journey.deliver()
    mails = journey.mails_to(EMAIL)
    withdrawal = next(
        line.split("jeton=")[1].strip()
        for mail in mails
        for line in mail.text.splitlines()
        if "/desinscription?jeton=" in line
    )
    page = site.get(f"/desinscription?jeton={withdrawal}")
    assert "Confirmer la désinscription" in site.text(page.text)
    done = site.post(
        "/desinscription", {"jeton": withdrawal}, csrf_from=f"/desinscription?jeton={withdrawal}"
    )
    assert done.status_code == 200
    assert "est annulée" in site.text(done.text)
