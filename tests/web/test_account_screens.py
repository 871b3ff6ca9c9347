"""The ways back in and the signed-in pages (W1, W5): lockout, reset by the e-mailed
link, forgotten identifier, « Mes intervenants », the session's limit, logout; and
the Net-Entreprises path and the withdrawal, all with plain forms."""

from __future__ import annotations

import time

import pytest
from tests.web.helpers import Site, build_site

from peps_onboarding.testing import (
    COMMUNE,
    HOSPITAL,
    PASSWORD,
    Journey,
    holder_form,
)

NEW_PASSWORD = "Nouveau-mot2passe"


@pytest.mark.rule("W1", "A4", "A5", "W5")
def test_lockout_then_reset_by_the_e_mailed_link(site: Site) -> None:
    journey = site.journey
    identifier = journey.enrolled_administrator()
    # P3: one source may fail twice per account, so blocking it takes three sources.
    for source in ("198.51.100.1", "198.51.100.2"):
        wrong = site.login(identifier, "Pas-le-bon1", source=source)
        assert "Identifiant ou mot de passe incorrect." in site.text(wrong.text)
        assert wrong.status_code == 422
    blocked = site.text(site.login(identifier, "Pas-le-bon1", source="198.51.100.3").text)
    assert "Votre compte est bloqué" in blocked and "Mot de passe oublié" in blocked
    assert "Votre compte est bloqué" in site.text(site.login(identifier, PASSWORD).text)

    asked = site.post("/mot-de-passe-oublie", {"identifiant": identifier})
    assert "Si cet identifiant correspond à un compte" in site.text(asked.text)
    journey.deliver()
    token = journey.last_token("jeanne.dupont@employeur.example")
    form = site.get(f"/reinitialiser-mot-de-passe?jeton={token}")
    assert "Renouveler votre mot de passe" in site.text(form.text)
    mismatch = site.post(
        "/reinitialiser-mot-de-passe",
        {"jeton": token, "mot_de_passe": NEW_PASSWORD, "confirmation_mot_de_passe": "autre"},
        csrf_from=f"/reinitialiser-mot-de-passe?jeton={token}",
    )
    assert mismatch.status_code == 422
    assert 'aria-invalid="true"' in mismatch.text
    assert "La confirmation ne correspond pas au mot de passe saisi." in site.text(mismatch.text)
    done = site.post(
        "/reinitialiser-mot-de-passe",
        {"jeton": token, "mot_de_passe": NEW_PASSWORD, "confirmation_mot_de_passe": NEW_PASSWORD},
        csrf_from=f"/reinitialiser-mot-de-passe?jeton={token}",
    )
    assert done.status_code == 200
    again = site.get(f"/reinitialiser-mot-de-passe?jeton={token}")
    assert again.status_code == 410 and "Ce lien n'est plus valide" in site.text(again.text)
    assert site.login(identifier, NEW_PASSWORD).url.path == "/espace"


@pytest.mark.rule("W1", "A5", "P2")
def test_forgotten_password_answers_the_same_for_a_stranger(site: Site) -> None:
    answer = site.post("/mot-de-passe-oublie", {"identifiant": "ZZZ999999"})
    assert answer.status_code == 200
    assert "Si cet identifiant correspond à un compte" in site.text(answer.text)


@pytest.mark.rule("W1", "A6")
def test_forgotten_identifier_is_shown_on_screen(site: Site) -> None:
    identifier = site.journey.enrolled_administrator()
    form = {
        "siret": COMMUNE,
        "nom": "Dupont",
        "prenom": "Jeanne",
        "courriel": "jeanne.dupont@employeur.example",
    }
    shown = site.post("/identifiant-oublie", form)
    assert f"Votre identifiant est {identifier}" in site.text(shown.text)
    unknown = site.post("/identifiant-oublie", {**form, "prenom": "Paule"})
    assert "Nous ne pouvons pas retrouver votre identifiant" in site.text(unknown.text)
    wrong = site.post("/identifiant-oublie", {**form, "siret": "123"})
    assert wrong.status_code == 422
    assert 'id="erreur-siret"' in wrong.text and 'href="#champ-siret"' in wrong.text


@pytest.mark.rule("W1", "R8", "R5")
def test_mes_intervenants_shows_the_administrators_contact_details(site: Site) -> None:
    journey = site.journey
    admin = journey.enrolled_administrator()
    user = journey.active_user(admin)
    site.login(user, PASSWORD)
    page = site.get("/mon-etablissement/intervenants")
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
        assert f"{column}" in text
    assert "Madame Jeanne Dupont" in text and "jeanne.dupont@employeur.example" in text
    assert "05 56 11 41 23" in text
    assert page.headers["cache-control"] == "no-store"


@pytest.mark.rule("W1")
def test_signed_out_visitors_are_sent_to_the_login(site: Site) -> None:
    for path in ("/espace", "/mon-etablissement/intervenants"):
        page = site.get(path)
        assert page.url.path == "/connexion"


@pytest.mark.rule("W1", "W3")
def test_logout_ends_the_session(site: Site) -> None:
    identifier = site.journey.enrolled_administrator()
    site.login(identifier, PASSWORD)
    out = site.post("/deconnexion", {}, csrf_from="/espace")
    assert "Vous êtes déconnecté" in site.text(out.text)
    assert site.get("/espace").url.path == "/connexion"


@pytest.mark.rule("W4")
def test_the_session_limit_is_told_and_can_be_extended(
    journey: Journey, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = next(build_site(journey))
    identifier = journey.enrolled_administrator()
    site.login(identifier, PASSWORD)
    text = site.text(site.get("/espace").text)
    assert "Sans activité, votre session se terminera le" in text and "(heure de Paris)" in text
    assert "Prolonger ma session" in text
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 29 * 60)
    site.post("/session/prolonger", {}, csrf_from="/espace")
    monkeypatch.setattr(time, "time", lambda: now + 50 * 60)
    assert site.get("/espace").url.path == "/espace"  # extended at 29 minutes
    monkeypatch.setattr(time, "time", lambda: now + 90 * 60)
    expired = site.get("/espace")
    assert expired.url.path == "/connexion"
    assert "Votre session a expiré" in site.text(expired.text)
    assert "Votre session a expiré" not in site.text(site.get("/connexion").text)  # once


@pytest.mark.rule("W1", "P1")
def test_a_throttled_login_says_when_to_come_back(site: Site) -> None:
    identifier = site.journey.enrolled_administrator()
    texts = [site.text(site.login(identifier, "Pas-le-bon1").text) for _ in range(3)]
    assert "Identifiant ou mot de passe incorrect." in texts[0]
    assert "Trop de tentatives. Veuillez réessayer dans 15 minutes." in texts[2]
    assert site.login(identifier, PASSWORD, source="198.51.100.9").url.path == "/espace"


@pytest.mark.rule("W1", "N1", "N3", "N4")
def test_net_entreprises_administrator_path(site: Site) -> None:
    journey = site.journey
    journey.world.net_entreprises.register(
        siret=HOSPITAL, last_name="Martin", first_name="Paul", password="ne-password"
    )
    refused = site.post(
        "/net-entreprises/connexion",
        {"siret": HOSPITAL, "nom": "Martin", "prenom": "Paul", "mot_de_passe": "faux"},
    )
    text = site.text(refused.text)
    assert "Nous n'avons pas réussi à vous identifier" in text
    assert "0 820 000 516" in text
    assert "Paul" in refused.text and "faux" not in refused.text
    completion = site.post(
        "/net-entreprises/connexion",
        {"siret": HOSPITAL, "nom": "Martin", "prenom": "Paul", "mot_de_passe": "ne-password"},
    )
    text = site.text(completion.text)
    assert "Informations complémentaires" in text and "administrateur" in text
    assert "À quoi vont servir les données collectées" in text
    email = "paul.martin@employeur.example"
    joined = site.post(
        "/net-entreprises/completer",
        {
            "civilite": "Monsieur",
            "courriel": email,
            "confirmation_courriel": email,
            "telephone": "0556114124",
            "service_fonction": "Finances",
            "voie": "1 rue de l'Hôpital",
            "code_postal": "33000",
            "ville": "Bordeaux",
            "cgu": "oui",
        },
        csrf_from="/net-entreprises/completer",
    )
    text = site.text(joined.text)
    assert "Votre compte est créé" in text and "Administrateur" in text
    assert site.get("/espace").url.path == "/espace"
    spent = site.get("/net-entreprises/completer")
    assert spent.url.path == "/net-entreprises/connexion"


@pytest.mark.rule("W1", "N3")
def test_net_entreprises_user_path_on_an_enrolled_establishment(site: Site) -> None:
    journey = site.journey
    journey.enrolled_administrator()
    journey.world.net_entreprises.register(
        siret=COMMUNE, last_name="Martin", first_name="Paul", password="ne-password"
    )
    completion = site.post(
        "/net-entreprises/connexion",
        {"siret": COMMUNE, "nom": "Martin", "prenom": "Paul", "mot_de_passe": "ne-password"},
    )
    text = site.text(completion.text)
    assert "utilisateur" in text and "À quoi vont servir" not in text
    missing = site.post(
        "/net-entreprises/completer",
        {"civilite": "Monsieur"},
        csrf_from="/net-entreprises/completer",
    )
    assert missing.status_code == 422
    assert "Le formulaire contient" in site.text(missing.text)
    assert 'id="erreur-courriel"' in missing.text


@pytest.mark.rule("W1", "W2", "C9")
def test_the_legal_representative_withdraws_with_the_letters_code(site: Site) -> None:
    journey = site.journey
    journey.register(holder=holder_form())
    journey.deliver()
    code = journey.withdrawal_code_in_letter(COMMUNE)
    wrong = site.post("/desinscription", {"code": "AAAA-BBBB-CCCC"})
    assert wrong.status_code == 422 and "Ce lien n'est plus valide" in site.text(wrong.text)
    done = site.post("/desinscription", {"code": code.lower()})
    assert done.status_code == 200
    assert (
        "L'inscription de l'établissement à la Plateforme Employeurs Publics Pep's est "
        "annulée" in site.text(done.text)
    )
    assert type(journey.identify()).__name__ == "EstablishmentNotEnrolled"  # free again
