"""Rule P4: the letter's withdrawal code — its format, what a person may type, what is
kept at rest (a keyed hash, never the code), and secret rotation."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import UTC, datetime, timedelta

import pypdf
import pytest
from attrs import evolve, fields

from peps_onboarding.adapters.pdf_letters import render_letter_pdf
from peps_onboarding.application.secrets import PlatformSecret
from peps_onboarding.bootstrap import build
from peps_onboarding.domain.errors import LinkNoLongerValidError
from peps_onboarding.domain.links import (
    CODE_ALPHABET,
    LinkPurpose,
    normalise_code,
    withdrawal_code,
)
from peps_onboarding.domain.notifications import Letter, LetterKind
from peps_onboarding.domain.policy import Policy
from peps_onboarding.domain.throttling import RateLimit, RateLimits
from peps_onboarding.testing.journeys import COMMUNE, Journey, holder_form

CODE = re.compile(r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}")
OLD_KEY, NEW_KEY = b"o" * 32, b"n" * 32
JOURNEY_KEY = b"journey-secret-journey-secret-00"  # the key Journey.start runs on


@pytest.mark.rule("P4")
def test_the_alphabet_is_crockfords_without_look_alikes() -> None:
    """P4: 32 symbols, no I, L, O or U: each symbol carries 5 bits."""
    assert len(CODE_ALPHABET) == len(set(CODE_ALPHABET)) == 32
    assert not set("ILOU") & set(CODE_ALPHABET)


@pytest.mark.rule("P4")
def test_a_code_is_twelve_symbols_in_three_groups_carrying_60_bits() -> None:
    """P4: ``K7QM-3XHD-9PVA``: 12 symbols × 5 bits = 60 bits, the first 60 of the input."""
    assert CODE.fullmatch(withdrawal_code(bytes(32)))
    assert withdrawal_code(bytes(32)) == "0000-0000-0000"
    assert withdrawal_code(b"\xff" * 8) == "ZZZZ-ZZZZ-ZZZZ"
    one_bit = (1 << 4).to_bytes(8, "big")  # the 60th bit from the left
    assert withdrawal_code(one_bit) == "0000-0000-0001"
    with pytest.raises(ValueError, match="60 bits"):
        withdrawal_code(b"\x00" * 7)


@pytest.mark.rule("P4")
@pytest.mark.parametrize(
    "typed",
    [
        "K7QM-3XHD-9PVA",
        "k7qm-3xhd-9pva",
        "K7QM 3XHD 9PVA",
        "  k7qm3xhd9pva ",
        "K7QM\u00a03XHD\u20139PVA",  # a no-break space and an en dash, pasted from a PDF
    ],
)
def test_what_a_person_types_is_read_as_the_code(typed: str) -> None:
    """P4: case, spaces and hyphens do not matter."""
    assert normalise_code(typed) == "K7QM3XHD9PVA"


@pytest.mark.rule("P4")
def test_look_alikes_are_read_as_the_digits_they_resemble() -> None:
    """P4: O is 0; I and L are 1 (Crockford's decoding)."""
    assert normalise_code("OIL0-1234-5678") == "011012345678"


@pytest.mark.rule("P4", "E1")
@pytest.mark.parametrize(
    "typed",
    [
        "",
        "K7QM-3XHD-9PV",
        "K7QM-3XHD-9PVAX",
        "K7QM-3XHD-9PVU",
        "K7QM-3XHD-9PV٣",
        None,
        12,
        "-" * 80,
    ],
)
def test_anything_else_is_no_code(typed: object) -> None:
    """P4: the wrong length, a U, a digit of another script, a non-string: no code."""
    assert normalise_code(typed) is None


@pytest.mark.rule("P4")
def test_the_code_derives_from_the_nonce_under_the_key_that_issued_it() -> None:
    """P4: like link tokens, the code is derived at delivery from the outbox's nonce;
    a process already on the next key derives the same code."""
    old = PlatformSecret(OLD_KEY)
    nonce = old.new_nonce(b"r" * 32)
    code = old.withdrawal_code_for(nonce)
    assert CODE.fullmatch(code)
    rotated = PlatformSecret(NEW_KEY, previous=[OLD_KEY])
    assert rotated.withdrawal_code_for(nonce) == code
    assert old.code_hash_for(nonce) in rotated.code_hashes(code.replace("-", ""))


@pytest.mark.rule("P4")
def test_the_stored_hash_is_keyed() -> None:
    """P4: what the store keeps is an HMAC: neither the plain SHA-256 of the code (which
    60 bits would let anyone search offline) nor anything another key computes."""
    secret = PlatformSecret(OLD_KEY)
    nonce = secret.new_nonce(b"r" * 32)
    code = secret.withdrawal_code_for(nonce)
    stored = secret.code_hash_for(nonce)
    for form in (code, code.replace("-", ""), code.lower()):
        assert stored != hashlib.sha256(form.encode()).hexdigest()
    assert stored not in PlatformSecret(NEW_KEY).code_hashes(code.replace("-", ""))


def _unlimited() -> Policy:
    lifted = RateLimit(1_000_000_000, timedelta(seconds=1))
    return evolve(Policy(), rate_limits=RateLimits(**{a.name: lifted for a in fields(RateLimits)}))


@pytest.mark.rule("P4", "M4")
def test_neither_the_links_nor_the_outbox_hold_a_usable_code() -> None:
    """P4, M4: the links table holds the code's keyed hash, the outbox a nonce; nothing
    at rest is the code, in any of its forms, nor its plain hash."""
    journey = Journey.start(policy=_unlimited())
    journey.register()
    code = journey.withdrawal_code_in_letter(COMMUNE)
    database = journey.world.database
    rest = repr(list(database.links.values())) + repr(list(database.outbox.values()))
    symbols = code.replace("-", "")
    plain = {hashlib.sha256(form.encode()).hexdigest() for form in (code, symbols)}
    for secret in (code, symbols, code.lower(), *plain):
        assert secret not in rest
    representative = [
        link
        for link in database.links.values()
        if link.purpose is LinkPurpose.WITHDRAWAL_BY_LEGAL_REPRESENTATIVE
    ]
    assert len(representative) == 1
    assert representative[0].token_hash not in plain


@pytest.mark.rule("P4")
def test_a_code_printed_before_a_rotation_still_withdraws() -> None:
    """P4: the letter went out under the old key; the platform now runs on a new one
    with the old as previous: the typed code is found under the previous key. Without
    the old key, it is not."""
    journey = Journey.start(policy=_unlimited())
    journey.register()
    code = journey.withdrawal_code_in_letter(COMMUNE)
    world = journey.world
    rotated = build(
        unit_of_work=world.database.unit_of_work,
        registry=world.directory,
        contracts=world.directory,
        net_entreprises=world.net_entreprises,
        captcha=world.captcha,
        mailer=world.mailer,
        letters=world.letters,
        secret=PlatformSecret(NEW_KEY, previous=[JOURNEY_KEY]),
        clock=journey.clock,
        policy=journey.platform.policy,
        accept_test_email_domains=True,
    )
    assert rotated.withdraw_registration(code.lower()).siret == COMMUNE
    stranger = build(
        unit_of_work=world.database.unit_of_work,
        registry=world.directory,
        contracts=world.directory,
        net_entreprises=world.net_entreprises,
        captcha=world.captcha,
        mailer=world.mailer,
        letters=world.letters,
        secret=NEW_KEY,
        clock=journey.clock,
        policy=journey.platform.policy,
    )
    journey.register(holder=holder_form("Paul", "Martin"))
    with pytest.raises(LinkNoLongerValidError):
        stranger.withdraw_registration(journey.withdrawal_code_in_letter(COMMUNE))


@pytest.mark.rule("P4", "M2")
@pytest.mark.parametrize("host", ["pep.example", "sous-domaine." * 10 + "example"])
def test_the_printed_code_is_whole_on_its_own_line_however_the_address_wraps(
    host: str,
) -> None:
    """P4: the letter prints the bare page address and, on a line of its own, the code:
    whatever the length of the address, no line break falls inside the code."""
    code = withdrawal_code(b"\x5a" * 8)
    letter = Letter(
        letter_id="ltr-p4",
        kind=LetterKind.CLASSIC_ENROLMENT,
        siret="21330063500017",
        designation="Commune de Saint-Aubin-de-Médoc",
        recipient_name="Madame Christine Lefèvre",
        recipient_title="Maire",
        recipient_address=("6 place des Clémens", "33160 SAINT-AUBIN-DE-MÉDOC"),
        applicant_name="Madame Jeanne Dupont",
        applicant_function="Ressources humaines",
        applicant_email="jeanne.dupont@saint-aubin.example",
        registered_at=datetime(2024, 3, 13, 9, 30, tzinfo=UTC),
        withdrawal_deadline=datetime(2024, 3, 20, 23, 0, tzinfo=UTC),
        withdrawal_code=code,
        withdrawal_url=f"https://{host}/desinscription",
        text="(unused by the PDF adapter)",
    )
    text = pypdf.PdfReader(io.BytesIO(render_letter_pdf(letter))).pages[0].extract_text()
    lines = [" ".join(line.split()) for line in text.splitlines()]
    assert code in lines
