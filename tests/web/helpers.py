"""A ``Site`` drives the screens through Starlette's test client: it reads pages, fills
forms with the page's own CSRF token, and keeps the cookie like a browser."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import httpx2
from starlette.testclient import TestClient

from peps_onboarding.testing import Journey
from peps_onboarding.web import WebSettings, create_app

#: The step-2 form of the sample holder, as a person fills it in.
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

SECRET = "a web secret for the tests, long enough to sign"

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_CHALLENGE = re.compile(r'name="defi" value="([^"]*)"')
_TAGS = re.compile(r"<[^>]+>")


def text_of(page: str) -> str:
    """What a person reads: tags dropped, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(_TAGS.sub(" ", page)).split())


class Site:
    def __init__(self, journey: Journey, client: TestClient) -> None:
        self.journey = journey
        self.client = client

    text = staticmethod(text_of)

    def get(self, path: str) -> httpx2.Response:
        return self.client.get(path)

    def csrf(self, path: str = "/connexion") -> str:
        match = _CSRF.search(self.client.get(path).text)
        assert match, path
        return match.group(1)

    def post(
        self,
        path: str,
        data: dict[str, str],
        *,
        csrf_from: str | None = None,
        source: str | None = None,
    ) -> httpx2.Response:
        """Submits a form as the page at ``csrf_from`` (default: ``path``) gave it;
        ``source``: the client address the trusted proxy forwards."""
        token = self.csrf(csrf_from or path)
        headers = {"x-forwarded-for": source} if source else {}
        return self.client.post(
            path, data={"csrf": token, **data}, headers=headers, follow_redirects=True
        )

    def step_one(
        self, siret: str, contract: str, answer: str = "trombone", **extra: str
    ) -> httpx2.Response:
        page = self.client.get("/inscription").text
        token, challenge = _CSRF.search(page), _CHALLENGE.search(page)
        assert token and challenge
        return self.client.post(
            "/inscription",
            data={
                "csrf": token.group(1),
                "defi": challenge.group(1),
                "siret": siret,
                "numero_contrat": contract,
                "controle_securite_son": answer,
                **extra,
            },
            follow_redirects=True,
        )

    def login(
        self, identifier: str, password: str, *, source: str | None = None
    ) -> httpx2.Response:
        return self.post(
            "/connexion", {"identifiant": identifier, "mot_de_passe": password}, source=source
        )


def build_site(journey: Journey, **settings: object) -> Iterator[Site]:
    """The screens behind a reverse proxy at 10.0.0.2, which the settings trust, so a
    test can speak from several sources (P1)."""
    chosen: dict[str, object] = {
        "secret_key": SECRET,
        "secure_cookies": False,
        "trusted_proxies": ("10.0.0.2",),
        **settings,
    }
    web = WebSettings(**chosen)  # type: ignore[arg-type]
    app = create_app(journey.platform, web)
    with TestClient(app, base_url="http://testserver", client=("10.0.0.2", 50000)) as client:
        yield Site(journey, client)
