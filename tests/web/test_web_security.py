"""Rules W2, W3, P1 at the screens: no change on GET, CSRF on every form, what the
session may hold, the security headers, and the client address the limits count."""

from __future__ import annotations

import base64
import json

import pytest
from starlette.requests import Request
from tests.web.helpers import SECRET, Site, build_site

from peps_onboarding.config import ConfigError
from peps_onboarding.testing import COMMUNE, PASSWORD, Journey, holder_form
from peps_onboarding.web import WebSettings
from peps_onboarding.web.security import client_address

#: Every form the screens post, with the page that carries it.
FORMS = [
    ("/connexion", "/connexion"),
    ("/inscription", "/inscription"),
    ("/inscription/etape-2", "/inscription"),
    ("/inscription/nouveau-lien", "/inscription"),
    ("/creer-mot-de-passe", "/creer-mot-de-passe"),
    ("/reinitialiser-mot-de-passe", "/reinitialiser-mot-de-passe"),
    ("/desinscription", "/desinscription"),
    ("/identifiant-oublie", "/identifiant-oublie"),
    ("/mot-de-passe-oublie", "/mot-de-passe-oublie"),
    ("/net-entreprises/connexion", "/net-entreprises/connexion"),
    ("/net-entreprises/completer", "/net-entreprises/connexion"),
    ("/deconnexion", "/connexion"),
    ("/session/prolonger", "/connexion"),
]


def session_of(site: Site) -> dict[str, object]:
    """What the signed cookie carries: readable by its holder, so never a secret."""
    cookie = site.client.cookies.get("peps_session")
    assert cookie
    payload = cookie.split(".")[0]
    decoded = json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))
    assert isinstance(decoded, dict)
    return decoded


@pytest.mark.rule("W3")
@pytest.mark.parametrize(("path", "page"), FORMS)
def test_a_form_without_the_session_token_is_refused_and_changes_nothing(
    site: Site, path: str, page: str
) -> None:
    site.get(page)
    before = len(site.journey.platform.history(COMMUNE))
    missing = site.client.post(path, data={"identifiant": "JDU000001"})
    forged = site.client.post(path, data={"csrf": "x" * 43, "identifiant": "JDU000001"})
    for answer in (missing, forged):
        assert answer.status_code == 403
        assert "Votre formulaire a expiré" in site.text(answer.text)
    assert len(site.journey.platform.history(COMMUNE)) == before
    assert site.journey.world.mailer.sent == []


@pytest.mark.rule("W3")
def test_another_visitors_token_does_not_open_this_session(journey: Journey) -> None:
    first, second = build_site(journey), build_site(journey)
    alice, mallory = next(first), next(second)
    token = mallory.csrf("/mot-de-passe-oublie")
    answer = alice.client.post(
        "/mot-de-passe-oublie", data={"csrf": token, "identifiant": "JDU000001"}
    )
    assert answer.status_code == 403


@pytest.mark.rule("W2")
def test_opening_an_e_mailed_link_changes_nothing(site: Site) -> None:
    journey = site.journey
    submitted = journey.register(holder=holder_form())
    journey.deliver()
    token = journey.last_token("jeanne.dupont@employeur.example")
    history = journey.platform.history(COMMUNE)
    for _ in range(3):  # a link scanner, a preview, the person
        for path in ("/creer-mot-de-passe", "/desinscription"):
            page = site.client.get(f"{path}?jeton={token}")
            assert page.status_code == 200
            assert "<form" in page.text
    assert journey.platform.history(COMMUNE) == history
    journey.platform.create_password(token, PASSWORD, PASSWORD)  # still usable
    assert submitted.identifier


@pytest.mark.rule("W2", "C6")
def test_a_dead_link_says_so_and_names_the_administrators_when_opened(site: Site) -> None:
    journey = site.journey
    journey.enrolled_administrator()
    page = site.get("/creer-mot-de-passe?jeton=" + "A" * 43)
    assert page.status_code == 410
    assert "Ce lien n'est plus valide" in site.text(page.text)
    assert "<form" not in page.text.split("<main", 1)[1]


@pytest.mark.rule("W3")
def test_the_session_holds_identifiers_only_and_is_renewed_at_login(site: Site) -> None:
    journey = site.journey
    identifier = journey.enrolled_administrator()
    site.get("/connexion")
    before = session_of(site)
    site.login(identifier, PASSWORD)
    after = session_of(site)
    assert after["user"] == identifier
    assert after["csrf"] != before["csrf"]  # a token seen before the login is worth nothing
    assert PASSWORD not in json.dumps(after)
    assert set(after) <= {"csrf", "sid", "user", "seen", "admin"}


@pytest.mark.rule("W3")
def test_the_step_one_proof_is_the_only_thing_step_two_needs(site: Site) -> None:
    site.step_one(COMMUNE, "FM330063")
    kept = session_of(site)["inscription"]
    assert isinstance(kept, dict)
    assert set(kept) == {"proof", "siret", "designation", "contrat"}
    assert "trombone" not in json.dumps(kept)


@pytest.mark.rule("W3")
def test_every_page_carries_the_security_headers(site: Site) -> None:
    page = site.get("/connexion")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["x-frame-options"] == "DENY"
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert "<script>" not in page.text and " on" + "click=" not in page.text
    static = site.get("/static/peps.css")
    assert static.status_code == 200 and static.headers.get("cache-control") != "no-store"


@pytest.mark.rule("W3")
def test_cookies_are_secure_unless_the_host_turns_it_off(journey: Journey) -> None:
    site = next(build_site(journey, secure_cookies=True))
    assert "secure" in site.get("/connexion").headers["set-cookie"].lower()


@pytest.mark.rule("W3")
def test_a_host_may_let_itself_frame_the_pages(journey: Journey) -> None:
    site = next(build_site(journey, frame_ancestors=("https://intranet.example",)))
    page = site.get("/connexion")
    assert "frame-ancestors https://intranet.example" in page.headers["content-security-policy"]
    assert "x-frame-options" not in page.headers


@pytest.mark.rule("W3")
@pytest.mark.parametrize("secret", ["", "short", "x" * 31])
def test_a_weak_secret_stops_the_start(secret: str) -> None:
    with pytest.raises(ConfigError, match="secret_key"):
        WebSettings(secret_key=secret)


@pytest.mark.rule("W3")
def test_an_unparsable_proxy_setting_stops_the_start() -> None:
    with pytest.raises(ConfigError, match="trusted_proxies"):
        WebSettings(secret_key=SECRET, trusted_proxies=("not an address",))


def _request(peer: str, forwarded: str | None = None) -> Request:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return Request({"type": "http", "client": (peer, 1234), "headers": headers})


@pytest.mark.rule("P1")
@pytest.mark.parametrize(
    ("peer", "forwarded", "proxies", "expected"),
    [
        ("203.0.113.9", None, (), "203.0.113.9"),
        ("203.0.113.9", "198.51.100.1", (), "203.0.113.9"),  # nobody trusted: header ignored
        ("10.0.0.2", "198.51.100.1", ("10.0.0.0/8",), "198.51.100.1"),
        ("10.0.0.2", "1.1.1.1, 198.51.100.1, 10.0.0.3", ("10.0.0.0/8",), "198.51.100.1"),
        ("10.0.0.2", "garbage", ("10.0.0.0/8",), "10.0.0.2"),
        ("10.0.0.2", None, ("10.0.0.0/8",), "10.0.0.2"),
        ("2001:db8::1", "198.51.100.7", ("2001:db8::/32",), "198.51.100.7"),
    ],
)
def test_the_client_address_believes_only_trusted_proxies(
    peer: str, forwarded: str | None, proxies: tuple[str, ...], expected: str
) -> None:
    settings = WebSettings(secret_key=SECRET, trusted_proxies=proxies)
    assert client_address(_request(peer, forwarded), settings) == expected


@pytest.mark.rule("W3")
def test_a_huge_form_is_refused_before_it_is_read(site: Site) -> None:
    token = site.csrf("/connexion")
    answer = site.client.post(
        "/connexion", data={"csrf": token, "identifiant": "A" * 100_000, "mot_de_passe": "x"}
    )
    assert answer.status_code == 413
    assert "Votre saisie est trop longue" in site.text(answer.text)


@pytest.mark.rule("W3")
def test_an_unknown_page_is_a_french_404(site: Site) -> None:
    page = site.get("/nulle-part")
    assert page.status_code == 404 and "Page introuvable" in site.text(page.text)
    assert site.client.put("/connexion").status_code == 405


@pytest.mark.rule("P1", "W1")
def test_a_flood_of_step_one_pages_gets_the_wait_and_no_form(site: Site) -> None:
    limit = site.journey.platform.policy.rate_limits.security_check_per_source.amount
    for _ in range(limit):
        assert site.get("/inscription").status_code == 200
    held = site.get("/inscription")
    assert held.status_code == 429
    assert "Trop de tentatives. Veuillez réessayer dans" in site.text(held.text)
    assert "<form" not in held.text.split("<main", 1)[1]
