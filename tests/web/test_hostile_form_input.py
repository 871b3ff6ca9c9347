"""Hostile input on every field of every form (W3, W4, E1, C4): a clear French error tied
to the field, or a value the platform accepts as typed; never a crash, never markup or
a template reflected unescaped, and nothing stored by a refused form."""

from __future__ import annotations

import pytest
from tests.web.helpers import EMAIL, HOLDER, Site, build_site

from peps_onboarding.testing import COMMUNE, COMMUNE_CONTRACT, HOSPITAL, Journey

HOSTILE = {
    "huge": "A" * 5000,
    "nul": "Dupont\x00",
    "control": "Du\x1bpont\x07",
    "bidi": "Dupont\u202etxt.exe",
    "fullwidth_digits": "３３１６０",
    "arabic_digits": "٣٣١٦٠",
    "markup": "<script>alert(1)</script>",
    "sql": "' OR 1=1 --",
    "template": "{{ 7*7 }}{% raw %}",
    "header": "x@employeur.example\r\nBcc: victim@example.org",
    "empty": "",
    "spaces": "     ",
}


def assert_answered_safely(site: Site, page_text: str, status: int, field: str) -> None:
    assert status in (200, 409, 422), status
    assert "<script>alert(1)</script>" not in page_text
    assert "Traceback" not in page_text
    if status == 422:
        assert (
            f'id="erreur-{field}"' in page_text
            or "Le formulaire contient" in page_text
            or ('class="error-summary"' in page_text)
        )


@pytest.mark.rule("W3", "W4", "C4", "E1")
@pytest.mark.parametrize("field", sorted(HOLDER))
@pytest.mark.parametrize("sample", sorted(HOSTILE))
def test_step_two_fields(field: str, sample: str) -> None:
    journey = Journey.start()
    site = next(build_site(journey))
    site.step_one(COMMUNE, COMMUNE_CONTRACT)
    answer = site.post(
        "/inscription/etape-2", {**HOLDER, field: HOSTILE[sample]}, csrf_from="/inscription/etape-2"
    )
    assert_answered_safely(site, answer.text, answer.status_code, field)
    if answer.status_code == 422:
        assert journey.world.mailer.sent == [] and journey.world.letters.sent == []
        assert journey.platform.history(COMMUNE) == ()
        assert 'aria-invalid="true"' in answer.text or "error-summary" in answer.text
    else:  # accepted as typed: the page shows the identifier, escaped
        assert "Votre identifiant de connexion est" in site.text(answer.text)


@pytest.mark.rule("W3", "C1", "E1")
@pytest.mark.parametrize("field", ["siret", "numero_contrat", "controle_securite_son", "defi"])
@pytest.mark.parametrize("sample", sorted(HOSTILE))
def test_step_one_fields(site: Site, field: str, sample: str) -> None:
    values = {"siret": COMMUNE, "numero_contrat": COMMUNE_CONTRACT}
    if field == "controle_securite_son":
        answer = site.step_one(COMMUNE, COMMUNE_CONTRACT, answer=HOSTILE[sample])
    elif field == "defi":
        answer = site.step_one(COMMUNE, COMMUNE_CONTRACT, defi=HOSTILE[sample])
    else:
        values[field] = HOSTILE[sample]
        answer = site.step_one(values["siret"], values["numero_contrat"])
    assert answer.status_code in (200, 422)
    assert "<script>alert(1)</script>" not in answer.text
    if answer.status_code == 422:
        assert "Étape 1" in site.text(answer.text)


FORMS = {
    "/connexion": {"identifiant": "JDU000001", "mot_de_passe": "Motdepasse-1"},
    "/identifiant-oublie": {
        "siret": COMMUNE,
        "nom": "Dupont",
        "prenom": "Jeanne",
        "courriel": EMAIL,
    },
    "/mot-de-passe-oublie": {"identifiant": "JDU000001"},
    "/desinscription": {"code": "AAAA-BBBB-CCCC"},
    "/net-entreprises/connexion": {
        "siret": HOSPITAL,
        "nom": "Martin",
        "prenom": "Paul",
        "mot_de_passe": "ne-password",
    },
}


@pytest.mark.rule("W3", "E1", "P1")
@pytest.mark.parametrize(
    ("path", "field"), [(path, field) for path, form in FORMS.items() for field in form]
)
@pytest.mark.parametrize("sample", sorted(HOSTILE))
def test_the_other_anonymous_forms(journey: Journey, path: str, field: str, sample: str) -> None:
    site = next(build_site(journey))
    answer = site.post(path, {**FORMS[path], field: HOSTILE[sample]})
    assert_answered_safely(site, answer.text, answer.status_code, field)
    assert journey.world.letters.sent == []
