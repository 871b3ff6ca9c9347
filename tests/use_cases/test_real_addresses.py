"""Real addresses are accepted as typed (rule C4), and every numeric field takes only the
ASCII digits 0–9 (rule E1): what the person sees, and what is (not) stored."""

from __future__ import annotations

import pytest

from peps_onboarding import (
    ClassicRegistration,
    EstablishmentIdentification,
    Identifier,
    NetEntreprisesCompletion,
    NetEntreprisesCredentials,
    NetEntreprisesSignedIn,
    ValidationError,
)
from peps_onboarding.application.commands import HolderForm
from peps_onboarding.testing import COMMUNE, COMMUNE_CONTRACT, Journey
from peps_onboarding.testing.journeys import address_form, holder_form, net_entreprises_form

LONGEST_COMMUNE = "Saint-Rémy-en-Bouzemont-Saint-Genest-et-Isson"  # 45 characters
LONG_STREET = "12 avenue du Maréchal de Lattre de Tassigny"  # 43 characters


def nothing_stored(journey: Journey) -> bool:
    db = journey.world.database
    return (db.enrolments, db.accounts, db.links, db.events, db.outbox) == ({}, {}, {}, [], {})


def register(journey: Journey, **address: str) -> str:
    submitted = journey.register(holder=holder_form(address=address_form(**address)))
    return submitted.identifier


def refused(journey: Journey, holder: HolderForm) -> ValidationError:
    with pytest.raises(ValidationError) as error:
        journey.platform.register(
            ClassicRegistration(proof=journey.proof(), holder=holder, terms_accepted=True)
        )
    return error.value


# --- C4: lengths --------------------------------------------------------------------------


@pytest.mark.rule("C4")
def test_the_longest_commune_and_a_long_avenue_are_accepted_as_typed(journey: Journey) -> None:
    """« Saint-Rémy-en-Bouzemont-Saint-Genest-et-Isson » and « 12 avenue du Maréchal de
    Lattre de Tassigny » are stored exactly as the person typed them."""
    identifier = register(
        journey,
        street=LONG_STREET,
        postal_code="51290",
        city=LONGEST_COMMUNE,
        address_complement="Bâtiment administratif, escalier B, 2e étage",
        identification_complement="Direction des ressources humaines et des relations sociales",
        locality="Lieu-dit la Grande Pièce des Champs Saint-Genest",
    )
    account = journey.world.database.accounts[Identifier.parse(identifier)]
    address = account.holder.address
    assert str(address.street) == LONG_STREET
    assert str(address.city) == LONGEST_COMMUNE
    assert str(address.postal_code) == "51290"
    assert str(address.address_complement) == "Bâtiment administratif, escalier B, 2e étage"


@pytest.mark.rule("C4")
@pytest.mark.parametrize(
    ("field", "changes", "message"),
    [
        ("voie", {"street": "1" + " rue" * 50}, "Ce champ ne doit pas dépasser 100 caractères."),
        ("ville", {"city": "Saint-" * 11}, "Ce champ ne doit pas dépasser 60 caractères."),
        (
            "complement_adresse",
            {"address_complement": "B" * 101},
            "Ce champ ne doit pas dépasser 100 caractères.",
        ),
        ("lieu_dit", {"locality": "B" * 10_000}, "Ce champ est trop long."),
        (
            "ville",
            {"city": "33000"},
            "Le nom de la ville doit contenir des lettres (ex. : Bordeaux).",
        ),
        (
            "voie",
            {"street": "12 rue\x00 de la Paix"},
            "Ce champ contient des caractères non autorisés.",
        ),
        (
            "voie",
            {"street": "<script>alert(1)</script>"},
            "Ce champ contient des caractères non autorisés.",
        ),
    ],
)
def test_huge_or_hostile_address_text_is_a_field_error_and_nothing_is_stored(
    journey: Journey, field: str, changes: dict[str, str], message: str
) -> None:
    """Beyond the caps (a real address never reaches them), control characters and
    markup: a French error on that field alone, and nothing stored."""
    error = refused(journey, holder_form(address=address_form(**changes)))
    assert error.messages == {field: message}
    assert nothing_stored(journey)


# --- E1: ASCII digits ---------------------------------------------------------------------

FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
DEVANAGARI = str.maketrans("0123456789", "०१२३४५६७८९")
SCRIPTS = pytest.mark.parametrize(
    "script", [FULLWIDTH, ARABIC_INDIC, DEVANAGARI], ids=["fullwidth", "arabic-indic", "devanagari"]
)


@pytest.mark.rule("E1", "C4")
@SCRIPTS
def test_a_postal_code_in_digits_of_another_script_is_refused(
    journey: Journey, script: dict[int, str]
) -> None:
    """« ３３１６０ » or « ٣٣١٦٠ » is never stored as 33160: an error on code postal."""
    error = refused(
        journey, holder_form(address=address_form(postal_code="33160".translate(script)))
    )
    assert error.messages == {"code_postal": "Le code postal doit comporter 5 chiffres de 0 à 9."}
    assert nothing_stored(journey)


@pytest.mark.rule("E1", "C4")
@SCRIPTS
def test_a_phone_number_in_digits_of_another_script_is_refused(
    journey: Journey, script: dict[int, str]
) -> None:
    """phonenumbers would read « ０５ ５６ … » as 05 56 …: the form refuses it first."""
    error = refused(journey, holder_form(phone="05 56 11 41 23".translate(script)))
    assert error.messages == {
        "telephone": "Le numéro de téléphone fixe doit comporter 10 chiffres de 0 à 9."
    }
    assert nothing_stored(journey)


@pytest.mark.rule("E1", "C1")
@SCRIPTS
def test_a_siret_or_contract_number_in_digits_of_another_script_is_refused_at_step_one(
    journey: Journey, script: dict[int, str]
) -> None:
    """Step 1 reports both fields, with what to type instead."""
    with pytest.raises(ValidationError) as error:
        journey.platform.identify_establishment(
            EstablishmentIdentification(
                siret=COMMUNE.translate(script),
                contract_number=COMMUNE_CONTRACT.translate(script),
                captcha_response="trombone",
            )
        )
    assert error.value.messages == {
        "siret": "Le SIRET doit être composé de 14 chiffres de 0 à 9.",
        "numero_contrat": (
            "Le numéro de contrat ne doit contenir que des lettres et des chiffres de 0 à 9."
        ),
    }
    assert nothing_stored(journey)


@pytest.mark.rule("E1", "N1", "N4")
def test_the_net_entreprises_form_refuses_look_alike_digits(journey: Journey) -> None:
    """The same fields on the Net-Entreprises path: errors on code postal and téléphone."""
    journey.world.net_entreprises.register(
        siret=COMMUNE, last_name="Martin", first_name="Paul", password="ne-password"
    )
    signed = journey.platform.sign_in_with_net_entreprises(
        NetEntreprisesCredentials(
            siret=COMMUNE, last_name="Martin", first_name="Paul", password="ne-password"
        )
    )
    assert isinstance(signed, NetEntreprisesSignedIn)
    form = net_entreprises_form(
        phone="05 56 11 41 23".translate(FULLWIDTH),
        address=address_form(postal_code="33160".translate(ARABIC_INDIC)),
    )
    with pytest.raises(ValidationError) as error:
        journey.platform.complete_net_entreprises(
            NetEntreprisesCompletion(ticket=signed.ticket, form=form)
        )
    assert set(error.value.fields) == {"code_postal", "telephone"}
    assert nothing_stored(journey)
