"""The applicant's screens through the test client (W1, W2, W5): every page in the seeds'
words, every journey completed with plain forms — no script runs here."""

from __future__ import annotations

import pytest
from tests.web.helpers import Site

from peps_onboarding.testing import (
    COMMUNE,
    COMMUNE_CONTRACT,
    PASSWORD,
)

EMAIL = "jeanne.dupont@employeur.example"
HOLDER = {
    "civilite": "Madame",
    "nom": "Dupont",
    "prenom": "Jeanne",
    "courriel": EMAIL,
    "confirmation_courriel": EMAIL,
    "telephone": "05 56 11 41 23",
    "service_fonction": "Ressources humaines",
    "voie": "6 place des Clémens",
    "code_postal": "33160",
    "ville": "Saint-Aubin",
    "cgu": "oui",
}


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
