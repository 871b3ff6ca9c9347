"""Properties of the value objects and of the policy's calendar (E1, A1, C4, A3, C5, T1, A7).

Oracles are restated here from the spec, never imported from the code under test.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import phonenumbers
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from stdnum.fr import siret as stdnum_siret

from peps_onboarding import (
    ContractNumber,
    EmailAddress,
    FixedPhone,
    Identifier,
    Policy,
    PostalCode,
    Siret,
    TextLine,
)
from peps_onboarding.domain.password import PASSWORD_OK_MESSAGE, PasswordRule, check_password
from peps_onboarding.domain.policy import add_months
from peps_onboarding.domain.values import (
    ADDRESS_LINE_MAX_LENGTH,
    CITY_MAX_LENGTH,
    InvalidFieldError,
    LegalCategory,
    parse_city,
)

PARIS = ZoneInfo("Europe/Paris")

# --- E1: SIRET --------------------------------------------------------------------------


def luhn_ok(number: str) -> bool:
    """The Luhn key, restated: double every second digit from the right."""
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char) * (2 if index % 2 else 1)
        total += digit - 9 if digit > 9 else digit
    return total % 10 == 0


def with_luhn_key(body: str) -> str:
    return next(body + d for d in "0123456789" if luhn_ok(body + d))


# A SIRET is a Luhn-valid SIREN (8 digits + key) then 4 digits + the SIRET's key. La
# Poste's SIREN follows another rule (below), so generated ones stay out of it.
SIRETS = (
    st.from_regex(r"\A[0-9]{8}\Z")
    .map(with_luhn_key)
    .filter(lambda siren: siren not in {"000000000", "356000000"})
    .flatmap(lambda siren: st.from_regex(r"\A[0-9]{4}\Z").map(lambda nic: siren + nic))
    .map(with_luhn_key)
)
SEPARATORS = st.lists(st.sampled_from(["", "", " ", ".", "  ", ". "]), min_size=15, max_size=15)


def interleave(digits: str, separators: list[str]) -> str:
    return (
        "".join(sep + digit for sep, digit in zip(separators, digits, strict=False))
        + (separators[-1])
    )


@pytest.mark.rule("E1")
@given(siret=SIRETS, separators=SEPARATORS)
@example(siret="18002002600019", separators=["", "", "", " ", "", "", " ", "", "", " ", *[""] * 5])
def test_siret_parse_accepts_any_valid_number_with_spaces_and_dots(
    siret: str, separators: list[str]
) -> None:
    """Any Luhn-valid SIRET, spaces and dots anywhere, parses to its 14 compact digits."""
    typed = interleave(siret, separators)
    assert Siret.parse(typed).value == siret
    assert Siret.parse(typed).siren == siret[:9]


@pytest.mark.rule("E1")
@given(siret=SIRETS, position=st.integers(0, 13), shift=st.integers(1, 9))
def test_siret_parse_rejects_a_changed_digit(siret: str, position: int, shift: int) -> None:
    """Changing any one digit breaks the Luhn key: a field error, never a wrong SIRET."""
    changed = siret[:position] + str((int(siret[position]) + shift) % 10) + siret[position + 1 :]
    with pytest.raises(InvalidFieldError) as raised:
        Siret.parse(changed)
    assert raised.value.error.code.startswith("siret.")


@pytest.mark.rule("E1")
@pytest.mark.parametrize(
    "typed",
    [
        "00000000000000",
        "000 000 000 00000",
        "1800200260001",
        "180020026000190",
        "18002002600018",
        "180-020-026-00019",
        "18002002600O19",
        "１８００２００２６０００１９",
    ],
)
def test_siret_parse_rejects_zeros_wrong_lengths_and_non_digits(typed: str) -> None:
    """All zeros (Luhn-valid but no SIRET), 13 or 15 digits, dashes, letters, full-width."""
    with pytest.raises(InvalidFieldError):
        Siret.parse(typed)


FOURTEEN_DIGITS = st.one_of(
    st.from_regex(r"\A[0-9]{14}\Z"),
    SIRETS,
    st.from_regex(r"\A356000000[0-9]{5}\Z"),  # La Poste's, keyed otherwise
    st.from_regex(r"\A[0-9]{13}\Z").map(with_luhn_key),  # the SIRET key alone right
)


@pytest.mark.rule("E1")
@given(number=FOURTEEN_DIGITS)
@example(number="35600000000048")
@example(number="35600000049837")
@example(number="00000000000000")
def test_siret_parse_agrees_with_python_stdnum_on_any_fourteen_digits(number: str) -> None:
    """The parse's fast key check never disagrees with python-stdnum, the reference for
    E1 (La Poste included); all zeros, Luhn-valid but no SIRET, is refused besides."""
    if stdnum_siret.is_valid(number) and set(number) != {"0"}:
        assert Siret.parse(number).value == number
    else:
        with pytest.raises(InvalidFieldError) as refused:
            Siret.parse(number)
        assert refused.value.error.code == "siret.checksum"


@pytest.mark.rule("E1")
@pytest.mark.parametrize("typed", ["35600000000048", "356 000 000 00048", "35600000049837"])
def test_siret_parse_knows_la_poste(typed: str) -> None:
    """La Poste's head office (Luhn) and an office (digit sum multiple of 5) are accepted."""
    assert Siret.parse(typed).value == typed.replace(" ", "")


# --- A1: identifier prefix ---------------------------------------------------------------

ASCII_NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2)
ACCENTS = st.sampled_from(["\u0301", "\u0300", "\u0302", "\u0308", "\u0327", "\u030c", "\u0303"])
NOISE = st.text(alphabet=" -'’.0123456789_()", max_size=3)


@st.composite
def decorated(draw: st.DrawFn, name: str) -> str:
    """``name`` with combining accents on its letters and punctuation, digits, spaces between."""
    out = []
    for letter in name:
        out.append(draw(NOISE) + letter + draw(st.one_of(st.just(""), ACCENTS)))
    return unicodedata.normalize("NFC", "".join(out))


@pytest.mark.rule("A1")
@given(first=st.text(), last=st.text())
@example(first="", last="")
@example(first="\ud800", last="\u202e")
def test_identifier_prefix_is_always_three_ascii_capitals(first: str, last: str) -> None:
    """Whatever the names, the prefix is 3 ASCII capitals, and builds a valid identifier."""
    prefix = Identifier.prefix_for(first, last)
    assert re.fullmatch(r"[A-Z]{3}", prefix)
    assert Identifier.parse(str(Identifier.build(prefix, 1))).value == f"{prefix}000001"


@pytest.mark.rule("A1")
@given(data=st.data(), first=ASCII_NAMES, last=ASCII_NAMES)
def test_identifier_prefix_folds_accents_and_drops_other_characters(
    data: st.DataObject, first: str, last: str
) -> None:
    """First letter of the first name, first two of the last; accents and non-letters ignored."""
    expected = (first[0] + last[:2]).upper()
    assert Identifier.prefix_for(first, last) == expected
    assert (
        Identifier.prefix_for(data.draw(decorated(first)), data.draw(decorated(last))) == expected
    )


@pytest.mark.rule("A1")
@pytest.mark.parametrize(
    ("first", "last", "prefix"),
    [
        ("Jean", "Dupont", "JDU"),
        ("Élodie", "Żółć", "EZO"),
        ("Œdipe", "Ærø", "OAE"),
        ("Jean-Édouard", "d'Estaing", "JDE"),
        ("Zoë", "Ô", "ZOX"),
        ("李", "王", "XXX"),
    ],
)
def test_identifier_prefix_examples(first: str, last: str, prefix: str) -> None:
    """Worked examples, ligatures and short or non-Latin names padded with X."""
    assert Identifier.prefix_for(first, last) == prefix


# --- C4: fixed phone ---------------------------------------------------------------------


def phone_forms(national: str) -> list[str]:
    """The ways a person types a French number: compact, pairs, dots, +33, 4-2-2-2."""
    pairs = [national[i : i + 2] for i in range(0, 10, 2)]
    rest = " ".join(pairs[1:])
    return [
        national,
        " ".join(pairs),
        ".".join(pairs),
        f"+33 {national[1]} {rest}",
        f"+33{national[1:]}",
        f"{national[:4]} {national[4:6]} {national[6:8]} {national[8:]}",
        f"  {national} ",
    ]


NATIONAL_NUMBERS = st.from_regex(r"\A0[1-9][0-9]{8}\Z")


def fixed_for_phonenumbers(national: str) -> bool:
    number = phonenumbers.parse(national, "FR")
    return phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in {
        phonenumbers.PhoneNumberType.FIXED_LINE,
        phonenumbers.PhoneNumberType.VOIP,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    }


def parsed_phone(typed: str) -> str | None:
    try:
        return FixedPhone.parse(typed).digits
    except InvalidFieldError:
        return None


@pytest.mark.rule("C4")
@given(national=NATIONAL_NUMBERS)
@example(national="0556114123")
@example(national="0970809329")
@example(national="0590123456")
def test_fixed_phone_accepts_every_form_of_the_same_number_alike(national: str) -> None:
    """Every typed form of a number gets the same answer; 01–05, 09 fixed lines are kept."""
    answers = {parsed_phone(typed) for typed in phone_forms(national)}
    assert len(answers) == 1, answers
    (answer,) = answers
    if national[1] in "678":
        assert answer is None
    elif fixed_for_phonenumbers(national):
        assert answer == national


@pytest.mark.rule("C4")
@pytest.mark.parametrize(
    "typed",
    [
        "0556114123",
        "05 56 11 41 23",
        "05.56.11.41.23",
        "+33 5 56 11 41 23",
        "0590 12 34 56",
        "01 40 20 50 50",
        "02 99 87 65 43",
        "03 88 12 34 56",
        "04 72 12 34 56",
        "09 70 80 93 29",
        "0596 12 34 56",
        "0262 12 34 56",
    ],
)
def test_fixed_phone_accepts_fixed_and_overseas_numbers(typed: str) -> None:
    """Geographic 01–05 (overseas included) and 09 numbers are accepted, stored as 10 digits."""
    typed_digits = re.sub(r"\D", "", typed)
    national = "0" + typed_digits[2:] if typed.startswith("+33") else typed_digits
    assert FixedPhone.parse(typed).digits == national


@pytest.mark.rule("C4")
@pytest.mark.parametrize(
    "typed",
    [
        "06 12 34 56 78",
        "07 12 34 56 78",
        "+33 6 12 34 56 78",
        "08 00 12 34 56",
        "0556114123x",
        "055611412",
        "05561141234",
        "05 56 11 41 23 45",
        "x0556114123",
        "+44 20 7946 0958",
        "",
    ],
)
def test_fixed_phone_refuses_mobile_special_and_junk(typed: str) -> None:
    """Mobiles (06, 07), special numbers (08) and anything but 10 digits are refused."""
    with pytest.raises(InvalidFieldError):
        FixedPhone.parse(typed)


# --- C4: e-mail and postal code ----------------------------------------------------------


@pytest.mark.rule("C4")
@given(email=st.emails())
@example(email="Jean.Dupont@Employeur.FR")
def test_email_address_round_trips(email: str) -> None:
    """A parsed address parses again to itself, with or without blanks or domain case."""
    parsed = EmailAddress.parse(email)
    assert EmailAddress.parse(str(parsed)) == parsed
    assert EmailAddress.parse(f"  {email}\t") == parsed
    local, _, domain = email.rpartition("@")
    assert EmailAddress.parse(f"{local}@{domain.upper()}").same_as(parsed)


@pytest.mark.rule("C4")
@given(code=st.from_regex(r"\A(?:0[1-9]|[1-9][0-9])[0-9]{3}\Z"))
def test_postal_code_accepts_five_digits(code: str) -> None:
    """Any 5-digit postal code (01000 to 99999) is kept as typed."""
    assert PostalCode.parse(code).value == code
    assert PostalCode.parse(f" {code} ").value == code


@pytest.mark.rule("C4")
@given(
    code=st.one_of(st.from_regex(r"\A[0-9]{1,4}\Z"), st.from_regex(r"\A[0-9]{6,9}\Z"), st.text())
)
@example(code="2A004")
@example(code="00100")  # no French postal code starts with 00
def test_postal_code_refuses_anything_else(code: str) -> None:
    """Anything but 5 digits (spaces aside) is a field error."""
    compact = code.strip().replace(" ", "")
    if re.fullmatch(r"(?:0[1-9]|[1-9]\d)\d{3}", compact, flags=re.ASCII):
        return  # st.text() drew a real postal code
    with pytest.raises(InvalidFieldError):
        PostalCode.parse(code)


# --- A3: password rules ------------------------------------------------------------------

# In this alphabet « chiffre », « minuscule », « majuscule » and « caractère spécial »
# mean one thing each (no superscript digits, no letter-like symbols).
PASSWORD_ALPHABET = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~€£§«»"
    "éÉàÀçÇßœŒ \t\x00\x7f"
)
PASSWORDS = st.text(alphabet=PASSWORD_ALPHABET, max_size=140) | st.text(
    alphabet=PASSWORD_ALPHABET, min_size=120, max_size=140
)


def unmet_rules(password: str) -> set[PasswordRule]:
    """Rule A3 restated from the spec (plus the library's 128-character and control bounds)."""
    categories = [unicodedata.category(c) for c in password]
    holds = {
        PasswordRule.MIN_LENGTH: len(password) >= 8,
        PasswordRule.DIGIT: any("0" <= c <= "9" for c in password),
        PasswordRule.LOWER: "Ll" in categories,
        PasswordRule.UPPER: "Lu" in categories,
        PasswordRule.SPECIAL: any(cat[0] in "PS" for cat in categories),
        PasswordRule.MAX_LENGTH: len(password) <= 128,
        PasswordRule.NO_CONTROL: "Cc" not in categories,
    }
    return {rule for rule, held in holds.items() if not held}


@pytest.mark.rule("A3", "E1")
@given(password=PASSWORDS)
@example(password="Motdepasse-1")
@example(password="motdepasse-1")
@example(password="Mo-1")
@example(password="Motdepasse\x001")
@example(password="Motdepasse-٣")  # E1: a look-alike digit is not the digit A3 asks for
@example(password="Motdepasse-²")
def test_check_password_reports_exactly_the_unmet_rules(password: str) -> None:
    """``ok`` iff 8+ characters with a digit, a lower, an upper and a special; all unmet listed."""
    check = check_password(password)
    expected = unmet_rules(password)
    assert set(check.unmet) == expected
    assert len(check.unmet) == len(set(check.unmet))
    assert check.ok == (not expected)
    if check.ok:
        assert check.message == PASSWORD_OK_MESSAGE
    else:
        assert all(rule.label in check.message for rule in check.unmet)


@pytest.mark.rule("A3")
@given(password=PASSWORDS, confirmation=st.one_of(st.none(), PASSWORDS))
def test_check_password_checks_the_confirmation(password: str, confirmation: str | None) -> None:
    """A given confirmation that differs is one more unmet rule; none given, none checked."""
    check = check_password(password, confirmation)
    mismatch = confirmation is not None and confirmation != password
    assert (PasswordRule.CONFIRMATION in check.unmet) == mismatch
    assert set(check.unmet) - {PasswordRule.CONFIRMATION} == unmet_rules(password)


# --- C5, T1: day J; A7: expiry -----------------------------------------------------------

MOMENTS = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.one_of(st.just(UTC), st.just(PARIS), st.timezones()),
)


@pytest.mark.rule("C5", "T1")
@settings(max_examples=300)
@given(submitted_at=MOMENTS)
@example(submitted_at=datetime(2024, 3, 30, 23, 30, tzinfo=UTC))
@example(submitted_at=datetime(2024, 10, 26, 22, 30, tzinfo=UTC))
@example(submitted_at=datetime(2024, 10, 27, 2, 30, fold=1, tzinfo=PARIS))
def test_access_opens_at_local_midnight_eight_calendar_days_later(submitted_at: datetime) -> None:
    """Day J is local (Paris) midnight of the submission's local day + 8, across DST too."""
    opening = Policy().access_opening(submitted_at)
    assert opening.tzinfo is not None
    local = opening.astimezone(PARIS)
    assert local.time() == time(0, 0)
    assert local.date() == submitted_at.astimezone(PARIS).date() + timedelta(days=8)
    assert opening > submitted_at


@pytest.mark.rule("C5", "T1")
@pytest.mark.parametrize(
    ("submitted_at", "opening"),
    [
        # Spring forward on 31/03/2024: day J on 08/04 is in summer time (UTC+2).
        (datetime(2024, 3, 30, 23, 30, tzinfo=UTC), datetime(2024, 4, 7, 22, 0, tzinfo=UTC)),
        # 23:59 local on 23/03: day J is 31/03, whose midnight is still winter time (UTC+1).
        (datetime(2024, 3, 23, 22, 59, tzinfo=UTC), datetime(2024, 3, 30, 23, 0, tzinfo=UTC)),
        # Fall back on 27/10/2024: 00:30 local on the 20th opens on 28/10 at UTC+1.
        (datetime(2024, 10, 19, 22, 30, tzinfo=UTC), datetime(2024, 10, 27, 23, 0, tzinfo=UTC)),
        (datetime(2024, 10, 26, 22, 30, tzinfo=UTC), datetime(2024, 11, 3, 23, 0, tzinfo=UTC)),
        # The seed's 13/03/2024 submission at 10:30 local opens on 21/03/2024.
        (datetime(2024, 3, 13, 9, 30, tzinfo=UTC), datetime(2024, 3, 20, 23, 0, tzinfo=UTC)),
    ],
)
def test_access_opening_examples_across_dst(submitted_at: datetime, opening: datetime) -> None:
    """Worked day-J examples around both DST changes of 2024."""
    assert Policy().access_opening(submitted_at) == opening


@pytest.mark.rule("A7")
@given(
    moment=st.datetimes(
        min_value=datetime(1900, 1, 1),
        max_value=datetime(2400, 12, 31),
        timezones=st.one_of(st.just(UTC), st.builds(timezone, st.just(timedelta(hours=2)))),
    ),
    months=st.integers(0, 600),
)
@example(moment=datetime(2023, 8, 31, tzinfo=UTC), months=18)
def test_add_months_moves_calendar_months_and_clamps_the_day(moment: datetime, months: int) -> None:
    """Same day and time ``months`` later; a day the month lacks becomes its last day."""
    moved = add_months(moment, months)
    assert moved.year * 12 + moved.month == moment.year * 12 + moment.month + months
    assert moved.day == min(moment.day, calendar.monthrange(moved.year, moved.month)[1])
    assert (moved.time(), moved.tzinfo) == (moment.time(), moment.tzinfo)


@pytest.mark.rule("A7")
@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (datetime(2023, 8, 31, tzinfo=UTC), 18, datetime(2025, 2, 28, tzinfo=UTC)),
        (datetime(2022, 8, 31, tzinfo=UTC), 18, datetime(2024, 2, 29, tzinfo=UTC)),
        (datetime(2024, 1, 31, tzinfo=UTC), 1, datetime(2024, 2, 29, tzinfo=UTC)),
        (datetime(2024, 3, 31, tzinfo=UTC), 6, datetime(2024, 9, 30, tzinfo=UTC)),
    ],
)
def test_add_months_clamps_to_the_end_of_short_months(
    start: datetime, months: int, end: datetime
) -> None:
    """31/08 + 18 months is 28/02 (29/02 in a leap year)."""
    assert add_months(start, months) == end


@pytest.mark.rule("A7")
def test_expiry_is_eighteen_months_after_access_the_seeds_example() -> None:
    """Access from 21/03/2024 expires on 21/09/2025 (the seed's example), at local midnight."""
    expiry = Policy().expiry_from(datetime(2024, 3, 21, tzinfo=PARIS))
    assert expiry.astimezone(PARIS).date() == datetime(2025, 9, 21).date()
    assert expiry == datetime(2025, 9, 21, tzinfo=PARIS)


# --- E1: a digit is one of the ASCII digits 0–9 ------------------------------------------

# Digits of every other script (Unicode « Nd ») and the superscripts ``str.isdigit``
# takes too; ``int()``, ``\d`` and phonenumbers read most of them as ASCII digits.
FOREIGN_DIGITS = st.one_of(
    st.characters(categories=["Nd"]).filter(lambda c: not "0" <= c <= "9"),
    st.sampled_from("²³¹⁰"),
)


@st.composite
def look_alike(draw: st.DrawFn, valid: str) -> str:
    """``valid`` with at least one of its ASCII digits written in another script."""
    positions = [i for i, c in enumerate(valid) if "0" <= c <= "9"]
    chosen = draw(st.sets(st.sampled_from(positions), min_size=1))
    return "".join(draw(FOREIGN_DIGITS) if i in chosen else c for i, c in enumerate(valid))


NUMERIC_VALUES = [
    pytest.param(Siret.parse, "213 300 635 00017", id="siret"),
    pytest.param(PostalCode.parse, "33160", id="code_postal"),
    pytest.param(FixedPhone.parse, "05 56 11 41 23", id="telephone"),
    pytest.param(FixedPhone.parse, "+33 5 56 11 41 23", id="telephone_international"),
    pytest.param(ContractNumber.parse, "FM330063", id="numero_contrat"),
    pytest.param(Identifier.parse, "JDA000001", id="identifiant"),
    pytest.param(LegalCategory, "7210", id="categorie_juridique"),
]


@pytest.mark.rule("E1")
@pytest.mark.parametrize(("parse", "valid"), NUMERIC_VALUES)
@settings(max_examples=60)
@given(data=st.data())
def test_every_numeric_value_refuses_digits_of_other_scripts(
    parse: Callable[[str], object], valid: str, data: st.DataObject
) -> None:
    """A valid value with any digit written in another script is a field error with a
    French message, never read (and stored) as the ASCII digit it resembles."""
    assert parse(valid)  # the ASCII value itself is right
    typed = data.draw(look_alike(valid))
    with pytest.raises(InvalidFieldError) as refused:
        parse(typed)
    assert re.search(r"[éèàç]|\b(?:le|la|de|des|doit|ce)\b", str(refused.value))


@pytest.mark.rule("E1", "C4")
@pytest.mark.parametrize(
    ("parse", "typed", "message"),
    [
        (PostalCode.parse, "３３０００", "Le code postal doit comporter 5 chiffres de 0 à 9."),
        (PostalCode.parse, "٣٣٠٠٠", "Le code postal doit comporter 5 chiffres de 0 à 9."),
        (
            FixedPhone.parse,
            "０５ ５６ １１ ４１ ２３",
            "Le numéro de téléphone fixe doit comporter 10 chiffres de 0 à 9.",
        ),
        (Siret.parse, "٢١٣٣٠٠٦٣٥٠٠٠١٧", "Le SIRET doit être composé de 14 chiffres de 0 à 9."),
        (
            ContractNumber.parse,
            "FM３３００６３",
            "Le numéro de contrat ne doit contenir que des lettres et des chiffres de 0 à 9.",
        ),
    ],
)
def test_look_alike_digits_are_told_to_be_typed_0_to_9(
    parse: Callable[[str], object], typed: str, message: str
) -> None:
    """The message says what to type instead: the digits 0 to 9."""
    with pytest.raises(InvalidFieldError) as refused:
        parse(typed)
    assert refused.value.error.message == message


@pytest.mark.rule("E1")
@pytest.mark.parametrize("typed", ["ﬁ330063", "FM33006ı", "ſM330063"])
def test_a_contract_number_never_gains_letters_by_capitalisation(typed: str) -> None:
    """« ﬁ » upper-cases to « FI » and « ı » to « I »: refused, never stored as ASCII."""
    with pytest.raises(InvalidFieldError):
        ContractNumber.parse(typed)


# --- C4: every real address fits --------------------------------------------------------

REAL_ADDRESS_LINES = [
    "12 avenue du Maréchal de Lattre de Tassigny",
    "145 boulevard du Général Charles de Gaulle et de la Libération",
    "Allée des Anciens Combattants d'Afrique du Nord",
    "Résidence les Jardins de Saint-Exupéry, bâtiment C, escalier 4",
]
REAL_COMMUNES = [
    "Saint-Rémy-en-Bouzemont-Saint-Genest-et-Isson",
    "Y",
    "L'Haÿ-les-Roses",
    "Bordeaux Cedex 9",
    "Saint-Germain-de-Tournebut Cedex",
]


@pytest.mark.rule("C4")
@pytest.mark.parametrize("typed", REAL_ADDRESS_LINES)
def test_real_street_lines_are_accepted_as_typed(typed: str) -> None:
    """Street and complement lines longer than the envelope's 38 characters are kept."""
    assert TextLine.parse(typed).value == typed
    assert TextLine.parse_optional(typed) == TextLine.parse(typed)


@pytest.mark.rule("C4")
@pytest.mark.parametrize("typed", REAL_COMMUNES)
def test_real_commune_names_are_accepted_as_typed(typed: str) -> None:
    """The longest commune name (45 characters) and the shortest (« Y ») are villes."""
    assert parse_city(typed).value == typed


@pytest.mark.rule("C4")
@given(
    line=st.text(
        alphabet=st.characters(categories=["L", "Nd", "Zs"], codec="utf-8"), min_size=1
    ).filter(lambda t: t.strip() and t.isprintable())
)
def test_address_lines_are_refused_only_beyond_their_caps(line: str) -> None:
    """Letters, digits and spaces: a line is refused for its length only, past 100
    characters (60 for the ville), with a French message saying the cap."""
    collapsed = " ".join(unicodedata.normalize("NFC", line).split())
    if len(collapsed) <= ADDRESS_LINE_MAX_LENGTH:
        assert TextLine.parse(line).value == collapsed
    else:
        with pytest.raises(InvalidFieldError) as refused:
            TextLine.parse(line)
        assert refused.value.error.message in {
            "Ce champ ne doit pas dépasser 100 caractères.",
            "Ce champ est trop long.",
        }
    if len(collapsed) > CITY_MAX_LENGTH:
        with pytest.raises(InvalidFieldError):
            parse_city(line)
