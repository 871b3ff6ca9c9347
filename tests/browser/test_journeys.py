"""The seeds' journeys end to end in Chromium, each twice: scripts on and scripts off
(W5). axe-core judges every page on the way (W4); the keyboard completes the forms where
a person would use it (W4); the fake clock moves from the test only.

The Net-Entreprises path speaks HTTP to a loopback server answering as Net-Entreprises
does (the adapter tests' own server, ``tests/adapters/test_net_entreprises.py``), through
the production adapter."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Locator, Page, expect
from starlette.types import ASGIApp
from tests.adapters.test_net_entreprises import NetEntreprisesServer, Reply

from peps_onboarding import (
    Argon2PasswordHasher,
    FakeClock,
    InMemoryCaptchaVerifier,
    InMemoryDatabase,
    InMemoryLetterSender,
    InMemoryMailer,
    Platform,
    SeededRandomSource,
    build,
)
from peps_onboarding.adapters.net_entreprises import (
    HttpNetEntreprisesVerifier,
    NetEntreprisesSettings,
)
from peps_onboarding.testing import (
    COMMUNE,
    COMMUNE_CONTRACT,
    HOSPITAL,
    PASSWORD,
    START,
    Journey,
)
from peps_onboarding.testing.samples import sample_directory
from peps_onboarding.web import WebSettings, create_app

Serve = Callable[[ASGIApp], str]
Check = Callable[[Page], None]

SECRET = "a web secret for the browser tests, long enough"
EMAIL = "jeanne.dupont@employeur.example"
NEW_PASSWORD = "Nouveau-mot2passe"
HOLDER = {
    "nom": "Dupont",
    "prenom": "Jeanne",
    "courriel": EMAIL,
    "confirmation_courriel": EMAIL,
    "telephone": "05 56 11 41 23",
    "service_fonction": "Ressources humaines",
    "voie": "6 place des Clémens",
    "code_postal": "33160",
    "ville": "Saint-Aubin",
}
USER_EMAIL = "luc.moreau@employeur.example"
USER = {
    "nom": "Moreau",
    "prenom": "Luc",
    "courriel": USER_EMAIL,
    "confirmation_courriel": USER_EMAIL,
    "telephone": "0556114125",
    "service_fonction": "Comptabilité",
    "voie": "6 place des Clémens",
    "code_postal": "33160",
    "ville": "Saint-Aubin",
}
NET_EMAIL = "paul.martin@employeur.example"
NET_COMPLETION = {
    "courriel": NET_EMAIL,
    "confirmation_courriel": NET_EMAIL,
    "telephone": "0556114124",
    "service_fonction": "Finances",
    "voie": "1 rue de l'Hôpital",
    "code_postal": "33000",
    "ville": "Bordeaux",
}
NE_TOKEN = b"c2VjcmV0LWpldG9uLWRlLXRlc3Q.0123456789abcdef"

JAVASCRIPT = pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])


# --- helpers, shared with test_pages.py -------------------------------------------------


def site(serve: Serve, platform: Platform) -> str:
    """The screens served for real; the peer 127.0.0.1 is the trusted proxy, so each
    request may say its source in ``X-Forwarded-For`` (P1, P3)."""
    settings = WebSettings(secret_key=SECRET, secure_cookies=False, trusted_proxies=("127.0.0.1",))
    return serve(create_app(platform, settings))


def visitor(request: pytest.FixtureRequest, javascript: bool) -> Page:
    page: Page = request.getfixturevalue("page" if javascript else "page_without_js")
    return page


def submit(page: Page, button: str | Locator) -> None:
    """Clicks a submit button and waits for the page the server answers."""
    target = (
        page.get_by_role("button", name=button, exact=True) if isinstance(button, str) else button
    )
    with page.expect_navigation():
        target.click()


def follow(page: Page, link: Locator) -> None:
    with page.expect_navigation():
        link.click()


def fill_fields(page: Page, values: dict[str, str]) -> None:
    for name, value in values.items():
        page.locator(f"#champ-{name}").fill(value)


def heading(page: Page) -> str:
    return page.locator("h1").inner_text()


def pass_step_one(page: Page, siret: str, contract: str, check: Check | None = None) -> None:
    """Step 1 with the sound version of the security check, opened by its summary."""
    page.get_by_label("SIRET", exact=True).fill(siret)
    page.get_by_label("Numéro de contrat immatriculation/adhésion").fill(contract)
    sound = page.locator("details.security-check__sound")
    sound.locator("summary").click()
    expect(sound).to_have_attribute("open", "")
    page.get_by_label("Saisissez le mot que vous entendez").fill("trombone")
    if check is not None:
        check(page)
    submit(page, "Suivant")


def fill_holder(page: Page, values: dict[str, str], civility: str) -> None:
    page.get_by_role("group", name="Civilité").get_by_label(civility, exact=True).check()
    fill_fields(page, values)


def log_in(page: Page, base_url: str, identifier: str, password: str) -> None:
    page.goto(base_url + "/connexion")
    page.get_by_label("Identifiant", exact=True).fill(identifier)
    page.get_by_label("Mot de passe", exact=True).fill(password)
    submit(page, "Me connecter")


def active_id(page: Page) -> str:
    found: str = page.evaluate("() => document.activeElement ? document.activeElement.id : ''")
    return found


def tab_until(page: Page, element_id: str, most: int = 12) -> None:
    """Tab forward until the element has focus (W4: reachable by the keyboard)."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if active_id(page) == element_id:
            return
    raise AssertionError(f"#{element_id} not reached in {most} Tab presses")


def start_step_two(page: Page, base_url: str, check: Check | None = None) -> None:
    page.goto(base_url + "/inscription")
    pass_step_one(page, COMMUNE, COMMUNE_CONTRACT, check)
    expect(page.get_by_role("heading", name="Créer votre compte administrateur")).to_be_visible()


# --- a. the classic path ----------------------------------------------------------------


@pytest.mark.rule("W1", "W4", "W5", "C1", "C4", "C5", "C6", "C7", "C8")
@JAVASCRIPT
def test_classic_registration_to_mes_intervenants(
    serve: Serve,
    request: pytest.FixtureRequest,
    journey: Journey,
    assert_accessible: Check,
    javascript: bool,
) -> None:
    page = visitor(request, javascript)
    base_url = site(serve, journey.platform)
    page.goto(base_url + "/")
    assert_accessible(page)
    follow(page, page.get_by_role("main").get_by_role("link", name="Inscrire un établissement"))
    assert "Étape 1" in page.title()
    assert_accessible(page)

    pass_step_one(page, COMMUNE, COMMUNE_CONTRACT, assert_accessible)
    expect(page.get_by_role("heading", name="Créer votre compte administrateur")).to_be_visible()
    expect(page.locator("main")).to_contain_text(COMMUNE)
    assert_accessible(page)

    fill_holder(page, HOLDER, "Madame")
    page.get_by_label("Je déclare avoir lu, compris et accepté").check()
    submit(page, "Suivant")
    expect(page.get_by_role("heading", name="Votre identifiant de connexion")).to_be_visible()
    identifier = page.locator(".identifier__value").inner_text().strip()
    assert len(identifier) == 9 and identifier.startswith("JDU")
    expect(page.locator("main")).to_contain_text("21/03/2024")
    print_button = page.get_by_role("button", name="Imprimer mon identifiant")
    if javascript:
        expect(print_button).to_be_visible()
        expect(page.locator(".no-script-only")).to_be_hidden()
    else:
        expect(print_button).to_have_count(0)
        expect(page.locator(".no-script-only")).to_be_visible()
    assert_accessible(page)

    journey.deliver()
    page.goto(f"{base_url}/creer-mot-de-passe?jeton={journey.last_token(EMAIL)}")
    assert heading(page) == "Créer votre mot de passe"
    assert_accessible(page)
    create = page.get_by_role("button", name="Créer", exact=True)
    rules = page.locator("[data-rule]")
    if javascript:
        expect(create).to_be_disabled()
        page.get_by_label("Mot de passe", exact=True).press_sequentially("motdepasse")
        expect(page.locator("[data-rule=lower]")).to_have_attribute("data-met", "true")
        expect(page.locator("[data-rule=upper]")).to_have_attribute("data-met", "false")
        expect(create).to_be_disabled()
        page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
        for index in range(rules.count()):
            expect(rules.nth(index)).to_have_attribute("data-met", "true")
        expect(create).to_be_disabled()  # the confirmation is still empty
        page.get_by_label("Confirmation du mot de passe").fill(PASSWORD)
        expect(create).to_be_enabled()
        expect(page.locator("[data-password-status]")).to_contain_text(
            "Votre mot de passe respecte toutes les règles de sécurité."
        )
        assert_accessible(page)
    else:
        expect(create).to_be_enabled()
        assert rules.first.get_attribute("data-met") is None
        page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
        page.get_by_label("Confirmation du mot de passe").fill(PASSWORD)
    submit(page, create)
    expect(page.locator("main")).to_contain_text("Votre mot de passe a bien été créé")
    expect(page.locator("main")).to_contain_text("à compter du 21/03/2024")
    assert_accessible(page)

    journey.later(days=8)  # the test's control of the fake clock: day J
    journey.platform.sweep()
    follow(
        page,
        page.get_by_role("navigation", name="Menu principal").get_by_role(
            "link", name="Se connecter"
        ),
    )
    assert heading(page) == "Se connecter"
    assert_accessible(page)
    # W4: the login form by the keyboard alone, sent with Enter.
    page.get_by_label("Identifiant", exact=True).focus()
    page.keyboard.type(identifier)
    page.keyboard.press("Tab")
    assert active_id(page) == ""  # « Identifiant oublié ? », a link
    expect(page.get_by_role("link", name="Identifiant oublié ?")).to_be_focused()
    page.keyboard.press("Tab")
    assert active_id(page) == "champ-mot_de_passe"
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert heading(page) == "Mon espace"
    assert_accessible(page)

    follow(
        page,
        page.get_by_role("navigation", name="Menu principal").get_by_role(
            "link", name="Mes intervenants"
        ),
    )
    assert heading(page) == "Mes intervenants"
    members = page.get_by_role("table", name="Les membres de l'établissement")
    expect(members).to_contain_text(identifier)
    expect(members).to_contain_text("Administrateur")
    assert_accessible(page)


# --- b. Net-Entreprises, through the HTTP adapter ---------------------------------------


@pytest.fixture
def net_entreprises() -> Iterator[NetEntreprisesServer]:
    """A loopback server answering as Net-Entreprises' authentication service does."""
    httpd = NetEntreprisesServer()
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    yield httpd
    httpd.release.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def platform_speaking_to(server: NetEntreprisesServer) -> Platform:
    """The in-memory platform of the journeys, but Net-Entreprises over HTTP (N1)."""
    clock = FakeClock(START)
    return build(
        unit_of_work=InMemoryDatabase().unit_of_work,
        registry=(directory := sample_directory()),
        contracts=directory,
        net_entreprises=HttpNetEntreprisesVerifier(
            NetEntreprisesSettings(environment="test", base_url=server.base_url)
        ),
        captcha=InMemoryCaptchaVerifier(clock=clock),
        mailer=InMemoryMailer(),
        letters=InMemoryLetterSender(),
        secret=b"browser-secret-browser-secret-00",
        clock=clock,
        hasher=Argon2PasswordHasher.fast_for_tests(),
        random=SeededRandomSource(7),
        accept_test_email_domains=True,
    )


@pytest.mark.rule("W1", "W4", "W5", "N1", "N3", "N4")
@JAVASCRIPT
def test_net_entreprises_administrator_path(
    serve: Serve,
    request: pytest.FixtureRequest,
    net_entreprises: NetEntreprisesServer,
    assert_accessible: Check,
    javascript: bool,
) -> None:
    page = visitor(request, javascript)
    base_url = site(serve, platform_speaking_to(net_entreprises))
    page.goto(base_url + "/")
    follow(
        page,
        page.get_by_role("main").get_by_role("link", name="Se connecter avec Net-Entreprises"),
    )
    assert heading(page) == "Se connecter avec Net-Entreprises"
    assert_accessible(page)

    net_entreprises.replies.append(
        Reply(401, headers=(("WWW-Authenticate", 'Basic realm="net-entreprises.fr"'),))
    )
    credentials = {"siret": HOSPITAL, "nom": "Martin", "prenom": "Paul"}
    fill_fields(page, {**credentials, "mot_de_passe": "faux"})
    submit(page, "Me connecter")
    expect(page.locator("#erreurs")).to_contain_text("Nous n'avons pas réussi à vous identifier")
    expect(page.get_by_label("Prénom", exact=True)).to_have_value("Paul")
    expect(page.get_by_label("Mot de passe", exact=True)).to_have_value("")
    assert_accessible(page)

    net_entreprises.replies.append(
        Reply(
            200,
            NE_TOKEN,
            (
                ("Content-Type", "text/plain"),
                ("Expires", START.strftime("%a, %d %b %Y %H:%M:%S GMT")),
            ),
        )
    )
    fill_fields(page, {**credentials, "mot_de_passe": "ne-password"})
    submit(page, "Me connecter")
    assert heading(page) == "Informations complémentaires"
    expect(page.locator("main")).to_contain_text("administrateur")
    assert_accessible(page)
    assert [r.path for r in net_entreprises.received] == ["/authentifier/1.0/"] * 2
    assert b"<motdepasse>ne-password</motdepasse>" in net_entreprises.received[1].body

    fill_holder(page, NET_COMPLETION, "Monsieur")
    page.get_by_label("Je déclare avoir lu, compris et accepté").check()
    submit(page, "Confirmer")
    assert heading(page) == "Votre compte est créé"
    expect(page.locator("main")).to_contain_text("Administrateur")
    assert_accessible(page)
    follow(page, page.get_by_role("link", name="Accéder à mon espace"))
    assert heading(page) == "Mon espace"
    assert_accessible(page)


# --- c. lockout, then the reset link ----------------------------------------------------


@pytest.mark.rule("W1", "W4", "W5", "A4", "A5", "P3")
@JAVASCRIPT
def test_lockout_then_reset_by_the_e_mailed_link(
    serve: Serve,
    request: pytest.FixtureRequest,
    journey: Journey,
    assert_accessible: Check,
    javascript: bool,
) -> None:
    page = visitor(request, javascript)
    identifier = journey.enrolled_administrator()
    base_url = site(serve, journey.platform)
    # P3: one source may fail twice per account, so blocking it takes three sources.
    for number in (1, 2, 3):
        page.set_extra_http_headers({"X-Forwarded-For": f"198.51.100.{number}"})
        log_in(page, base_url, identifier, "Pas-le-bon1")
        summary = page.locator("#erreurs")
        if number < 3:
            expect(summary).to_contain_text("Identifiant ou mot de passe incorrect.")
        else:
            expect(summary).to_contain_text("Votre compte est bloqué")
        assert_accessible(page)
    if javascript:
        expect(page.locator("#erreurs")).to_be_focused()

    page.set_extra_http_headers({"X-Forwarded-For": "198.51.100.4"})
    follow(page, page.get_by_role("link", name="Mot de passe oublié ?"))
    assert heading(page) == "Mot de passe oublié"
    assert_accessible(page)
    page.get_by_label("Identifiant", exact=True).fill(identifier)
    submit(page, "Valider")
    expect(page.locator("main")).to_contain_text("Si cet identifiant correspond à un compte")
    assert_accessible(page)

    journey.deliver()
    page.goto(f"{base_url}/reinitialiser-mot-de-passe?jeton={journey.last_token(EMAIL)}")
    assert heading(page) == "Renouveler votre mot de passe"
    assert_accessible(page)
    page.get_by_label("Mot de passe", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirmation du mot de passe").fill(NEW_PASSWORD)
    submit(page, "Valider")
    assert "Votre mot de passe a été renouvelé" in page.title()
    assert_accessible(page)
    follow(page, page.get_by_role("main").get_by_role("link", name="Se connecter"))
    page.get_by_label("Identifiant", exact=True).fill(identifier)
    page.get_by_label("Mot de passe", exact=True).fill(NEW_PASSWORD)
    submit(page, "Me connecter")
    assert heading(page) == "Mon espace"


# --- d. an administrator grants « Remboursements FMIS » Modification -------------------


@pytest.mark.rule("W1", "W4", "W5", "R3", "R4", "R5")
@JAVASCRIPT
def test_an_administrator_grants_remboursements_modification(
    serve: Serve,
    request: pytest.FixtureRequest,
    journey: Journey,
    assert_accessible: Check,
    javascript: bool,
) -> None:
    page = visitor(request, javascript)
    admin = journey.enrolled_administrator()
    base_url = site(serve, journey.platform)
    log_in(page, base_url, admin, PASSWORD)
    follow(page, page.get_by_role("link", name="Gestion des comptes"))
    assert heading(page) == "Gestion des comptes"
    assert_accessible(page)
    follow(page, page.get_by_role("link", name="Créer un compte"))
    assert heading(page) == "Créer un compte utilisateur"
    assert_accessible(page)
    fill_holder(page, USER, "Monsieur")
    submit(page, "Créer le compte")
    expect(page.locator("main")).to_contain_text("est créé. Un courriel est envoyé")
    assert_accessible(page)
    follow(page, page.get_by_role("link", name="Attribuer ses droits"))
    assert heading(page) == "Luc Moreau"
    assert_accessible(page)
    page.get_by_role("group", name="Remboursements FMIS").get_by_label(
        "Modification", exact=True
    ).check()
    submit(page, "Enregistrer les droits")
    expect(page.locator("main")).to_contain_text("Les droits sont enregistrés.")
    expect(
        page.get_by_role("group", name="Remboursements FMIS").get_by_label(
            "Modification", exact=True
        )
    ).to_be_checked()
    assert_accessible(page)
    row = next(
        row for row in journey.platform.list_members(admin).members if row.last_name == "Moreau"
    )
    levels = {right.label: right.level for right in row.rights}
    assert levels["Remboursements FMIS"] == "modify"


# --- W4: the error summary and the security check --------------------------------------


@pytest.mark.rule("W4", "W5")
@JAVASCRIPT
def test_after_a_bad_submit_the_summary_has_focus_and_each_link_reaches_its_field(
    serve: Serve,
    request: pytest.FixtureRequest,
    journey: Journey,
    assert_accessible: Check,
    javascript: bool,
) -> None:
    """Steps 1 and 2. With scripts, the summary is focused and a link focuses its field
    (the checked or first choice of a group: the civility, the security check's images);
    without, ``autofocus`` and the link's fragment do it (a group's fieldset takes
    focus)."""
    page = visitor(request, javascript)
    base_url = site(serve, journey.platform)
    page.goto(base_url + "/inscription")
    submit(page, "Suivant")  # step 1, nothing filled in
    summary_leads_to_each_field(page, expected=3)
    pass_step_one(page, COMMUNE, COMMUNE_CONTRACT)
    submit(page, "Suivant")  # step 2, nothing filled in
    summary_leads_to_each_field(page, expected=10)
    assert_accessible(page)


def summary_leads_to_each_field(page: Page, expected: int) -> None:
    assert active_id(page) == "erreurs"
    links = page.locator("#erreurs a")
    assert links.count() >= expected
    for index in range(links.count()):
        link = links.nth(index)
        target = (link.get_attribute("href") or "").removeprefix("#")
        link.click()
        reached = page.evaluate(
            "(id) => document.getElementById(id).contains(document.activeElement)", target
        )
        assert reached, (target, active_id(page))
        page.locator("#erreurs").focus()


@pytest.mark.rule("W4", "C1")
@JAVASCRIPT
def test_the_security_check_names_no_answer_and_its_sound_version_works_by_keyboard(
    serve: Serve,
    request: pytest.FixtureRequest,
    journey: Journey,
    assert_accessible: Check,
    javascript: bool,
) -> None:
    """RGAA 1.5, which axe cannot judge: no image's accessible name gives the answer, and
    the non-graphic alternative (the sound version) is reached and answered by keyboard."""
    page = visitor(request, javascript)
    page.goto(site(serve, journey.platform) + "/inscription")
    prompt = page.locator("#aide-controle_securite").inner_text()
    assert "Trombone" in prompt  # the word to find is the instruction, not a name
    choices = page.get_by_role("group", name="Contrôle de sécurité").get_by_role("radio")
    assert choices.count() == 4
    for index in range(choices.count()):
        choice = choices.nth(index)
        image = page.locator(f"label[for='{choice.get_attribute('id')}'] img")
        names = [
            choice.evaluate("(e) => e.labels[0].textContent"),
            image.get_attribute("alt") or "",
            image.get_attribute("src") or "",
            image.get_attribute("title") or "",
        ]
        assert all("trombone" not in name.casefold() for name in names), names
        assert (image.get_attribute("alt") or "").strip()  # yet every image is named

    page.get_by_label("SIRET", exact=True).focus()
    page.keyboard.type(COMMUNE)
    page.keyboard.press("Tab")
    assert active_id(page) == "champ-numero_contrat"
    page.keyboard.type(COMMUNE_CONTRACT)
    page.keyboard.press("Tab")
    assert active_id(page) == "choix-1"  # the images, one stop for the group
    page.keyboard.press("Tab")
    expect(page.locator("details.security-check__sound summary")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("details.security-check__sound")).to_have_attribute("open", "")
    tab_until(page, "champ-controle_securite_son")
    page.keyboard.type("trombone")
    assert_accessible(page)
    with page.expect_navigation():
        page.keyboard.press("Enter")  # the form's first button: « Suivant »
    expect(page.get_by_role("heading", name="Créer votre compte administrateur")).to_be_visible()
