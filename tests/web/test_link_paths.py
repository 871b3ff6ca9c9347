"""The e-mails' links land on the screens (W1, W2): the paths are the platform's, so a
host that moves them moves both at once."""

from __future__ import annotations

import pytest
from tests.web.helpers import build_site

from peps_onboarding import LinkPaths, build_in_memory
from peps_onboarding.adapters.clock import FakeClock
from peps_onboarding.adapters.randomness import SeededRandomSource
from peps_onboarding.testing import START, Journey, holder_form
from peps_onboarding.testing.samples import sample_directory

EMAIL = "jeanne.dupont@employeur.example"


@pytest.mark.rule("W1", "W2", "C5")
def test_a_host_moves_the_links_and_the_screens_follow() -> None:
    clock = FakeClock(START)
    paths = LinkPaths(password_creation="/activer", withdrawal="/retirer", login="/entrer")
    world = build_in_memory(
        clock=clock,
        random=SeededRandomSource(3),
        directory=sample_directory(),
        secret=b"link-paths-secret-link-paths-000",
        base_url="https://employeurs.example/peps",
        link_paths=paths,
    )
    journey = Journey(world, clock)
    site = next(build_site(journey))
    journey.register(holder=holder_form())
    journey.deliver()
    body = journey.mails_to(EMAIL)[0].text
    assert "https://employeurs.example/peps/activer?jeton=" in body
    token = journey.last_token(EMAIL)
    assert "<form" in site.get(f"/activer?jeton={token}").text
    assert site.get(f"/creer-mot-de-passe?jeton={token}").status_code == 404
    assert site.get("/entrer").status_code == 200
    assert 'href="/entrer"' in site.get("/").text


@pytest.mark.rule("W1")
@pytest.mark.parametrize(
    "path", ["", "activer", "//evil.example/x", "/a?b=c", "/a#b", "/é", "/a b"]
)
def test_a_link_path_is_a_plain_path_under_the_base_url(path: str) -> None:
    with pytest.raises(ValueError, match="password_creation"):
        LinkPaths(password_creation=path)
