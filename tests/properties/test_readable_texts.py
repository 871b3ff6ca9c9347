"""No text a person reads holds a code, a ``None`` or a Python repr (issue 12, M1).

Over generated holders and establishments: every e-mail kind from both renderers (text
and HTML, subject included), every message of the results a journey returns, every
error's ``.text``. An English code here is the ``.value`` or ``.name`` of one of the
project's enums that is not French (``administrator``, ``PENDING_ACTIVATION``…).
"""

from __future__ import annotations

import enum
import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import peps_onboarding
from peps_onboarding import IdentifierRecovery
from peps_onboarding.adapters.clock import FakeClock
from peps_onboarding.adapters.jinja_emails import JinjaEmailRenderer
from peps_onboarding.adapters.randomness import SeededRandomSource
from peps_onboarding.application.rendering import PlainTextEmailRenderer
from peps_onboarding.bootstrap import build_in_memory
from peps_onboarding.domain import errors
from peps_onboarding.domain.errors import FieldError, OnboardingError
from peps_onboarding.domain.links import LinkPurpose
from peps_onboarding.domain.notifications import EmailKind, EmailNotification, SealedLink
from peps_onboarding.domain.values import Civility
from peps_onboarding.domain.wording import (
    WITHDRAWN_BY_APPLICANT,
    WITHDRAWN_BY_LEGAL_REPRESENTATIVE,
)
from peps_onboarding.testing import (
    COMMUNE,
    HOSPITAL,
    HOSPITAL_CONTRACT,
    PASSWORD,
    Journey,
)
from peps_onboarding.testing.journeys import START, holder_form
from peps_onboarding.testing.samples import sample_directory

# --- what no text may hold -----------------------------------------------------------------


def _project_enums() -> Iterator[type[enum.Enum]]:
    for info in pkgutil.walk_packages(peps_onboarding.__path__, "peps_onboarding."):
        if ".migrations" in info.name or ".entrypoints" in info.name:
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, enum.Enum)
                and value.__module__ == module.__name__
            ):
                yield value


def _english_codes() -> frozenset[str]:
    """Every enum member's name, and every value that is a code (``snake_case``), not
    French words (« Madame », « 1 chiffre »)."""
    codes: set[str] = set()
    for kind in _project_enums():
        for member in kind:
            codes.add(member.name)
            if isinstance(member.value, str) and re.fullmatch(r"[a-z][a-z0-9_]*", member.value):
                codes.add(member.value)
    return frozenset(codes)


ENGLISH = _english_codes()
_WORD = re.compile(r"[A-Za-z0-9_]+")
_REPR = re.compile(r"\b[A-Za-z_]\w*\(\w+=|<[A-Za-z_.]+ object at|<[A-Z]\w*\.[A-Z_]+:")


class _Visible(HTMLParser):
    """The text of an HTML e-mail a person sees: its data, not its tags nor styles."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def visible(html: str) -> str:
    reader = _Visible()
    reader.feed(html)
    reader.close()
    return " ".join(reader.parts)


def test_the_codes_are_found() -> None:
    """The check below reads real enums (a moved module would make it pass vacuously)."""
    assert {"administrator", "ADMINISTRATOR", "pending_activation", "read_only"} <= ENGLISH
    assert "Madame" not in ENGLISH


def assert_reads(text: str, where: str) -> None:
    """No English code as a word, no ``None``, no repr, no template left unfilled."""
    words = set(_WORD.findall(text))
    assert not words & ENGLISH, f"{where}: {sorted(words & ENGLISH)} in {text!r}"
    assert "None" not in words, f"{where}: None in {text!r}"
    assert not _REPR.search(text), f"{where}: a repr in {text!r}"
    assert "{{" not in text and "{%" not in text, f"{where}: template code in {text!r}"


# --- generated holders and establishments ----------------------------------------------------

FIRST_NAMES = ("Jeanne", "Jean", "Cécile", "Noël", "Anne-Sophie", "Zoé", "Élodie", "Loïc")
LAST_NAMES = ("Dupont", "Lefèvre", "N'Diaye", "Le Gall", "Garnier", "Müller", "Ébrard")
DESIGNATIONS = (
    "Commune de Saint-Aubin-de-Médoc",
    "Centre hospitalier d'Arcachon",
    "EHPAD « Les Tilleuls »",
    "Syndicat intercommunal des eaux & forêts",
    "Commune de L'Haÿ-les-Roses",
)


def _luhn_completed(digits: str) -> str:
    total = 0
    for index, char in enumerate(reversed(digits + "0")):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return digits + str((10 - total % 10) % 10)


sirets = st.text("0123456789", min_size=13, max_size=13).map(_luhn_completed)
identifiers = st.builds(
    lambda letters, number: f"{letters}{number:06d}",
    st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=3, max_size=3),
    st.integers(0, 999_999),
)
moments = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
)
civilities = st.sampled_from(Civility)


@st.composite
def formal_names(draw: st.DrawFn) -> tuple[Civility, str]:
    civility = draw(civilities)
    first, last = draw(st.sampled_from(FIRST_NAMES)), draw(st.sampled_from(LAST_NAMES))
    return civility, f"{civility.label} {first} {last}"


@st.composite
def notifications(draw: st.DrawFn) -> EmailNotification:
    """An owed e-mail with the facts the use cases give its kind."""
    kind = draw(st.sampled_from(EmailKind))
    civility, recipient = draw(formal_names())
    facts: list[tuple[str, str]] = []
    if kind is EmailKind.PASSWORD_CREATION:
        facts.append(("validity_days", str(draw(st.integers(1, 30)))))
        if draw(st.booleans()):
            facts.append(("created_by", draw(formal_names())[1]))
        elif draw(st.booleans()):
            facts.append(("withdrawal_url", "https://pep.example/desinscription?jeton=w1"))
    elif kind is EmailKind.NEW_NET_ENTREPRISES_USER:
        facts += [("new_user", draw(formal_names())[1]), ("new_user_identifier", "PMA000002")]
    elif kind is EmailKind.ACCESS_OPEN:
        facts.append(("registered_on", f"{draw(moments):%d/%m/%Y}"))
        if draw(st.booleans()):
            facts.append(("login_url", "https://pep.example/"))
    elif kind is EmailKind.REGISTRATION_WITHDRAWN:
        who = st.sampled_from((WITHDRAWN_BY_APPLICANT, WITHDRAWN_BY_LEGAL_REPRESENTATIVE))
        facts.append(("withdrawn_by", draw(who)))
    purpose = (
        LinkPurpose.PASSWORD_RESET
        if kind is EmailKind.PASSWORD_RESET
        else LinkPurpose.PASSWORD_CREATION
    )
    link = SealedLink(purpose=purpose, nonce="00ff", expires_at=draw(moments))
    return EmailNotification(
        kind=kind,
        to="personne@employeur.example",
        recipient=recipient,
        civility=draw(st.none() | st.just(civility)),
        siret=draw(sirets),
        designation=draw(st.sampled_from(DESIGNATIONS)),
        identifier=draw(identifiers),
        facts=tuple(facts),
        link=link if kind.carries_link or draw(st.booleans()) else None,
    )


@pytest.mark.rule("M1")
@given(note=notifications())
def test_no_email_holds_a_code_a_none_or_a_repr(note: EmailNotification) -> None:
    """M1: every kind, both renderers, subject, text and HTML read as French."""
    for renderer in (PlainTextEmailRenderer(), JinjaEmailRenderer()):
        message = renderer.render(note, message_id="m1", link_url="https://pep.example/l?j=1")
        assert_reads(message.subject, f"{note.kind.value} subject")
        assert_reads(message.text, f"{note.kind.value} text")
        if message.html is not None:
            assert_reads(visible(message.html), f"{note.kind.value} html")


# --- results and errors --------------------------------------------------------------------


def _texts(result: object) -> Iterator[str]:
    """What a screen shows of a result: its message, warning and labels."""
    for name in dir(result):
        if name in {"message", "warning"} or name.endswith("_label") or name == "label":
            value = getattr(result, name)
            if isinstance(value, str):
                yield value
    for nested in getattr(result, "rights", ()):
        yield from _texts(nested)
    for row in getattr(result, "members", ()):
        yield from (row.profile, row.status)


def _journey() -> Journey:
    clock = FakeClock(START)
    world = build_in_memory(
        clock=clock,
        random=SeededRandomSource(7),
        directory=sample_directory(),
        renderer=JinjaEmailRenderer(),
        secret=b"journey-secret-journey-secret-00",
    )
    return Journey(world, clock)


@pytest.mark.rule("M1", "C5", "C7", "C9", "A5", "A6", "R5")
@settings(max_examples=15, deadline=None)
@given(
    civility=civilities,
    first=st.sampled_from(FIRST_NAMES),
    last=st.sampled_from(LAST_NAMES),
    late=st.booleans(),
)
def test_no_result_nor_email_of_a_journey_holds_a_code(
    civility: Civility, first: str, last: str, late: bool
) -> None:
    """A classic journey with a generated holder, password created before or after day J,
    then a user, a reset, a recovery, a Net-Entreprises user and a withdrawal: each
    result's message, each e-mail, reads."""
    journey = _journey()
    holder = holder_form(first, last, civility=civility.label)
    results: list[object] = [journey.identify()]
    submitted = journey.register(holder=holder)
    results += [submitted, journey.platform.resend_creation_link(journey.proof())]
    journey.later(days=9 if late else 1)
    token = journey.last_token(holder.email)
    results.append(journey.platform.create_password(token, PASSWORD, PASSWORD))
    journey.later(days=8)
    journey.platform.sweep()
    results.append(journey.platform.login(submitted.identifier, PASSWORD))
    results.append(journey.platform.create_user(submitted.identifier, holder_form("Luc", "Roy")))
    results.append(journey.platform.list_members(submitted.identifier))
    journey.platform.request_password_reset(submitted.identifier)
    reset = journey.last_token(holder.email)
    results.append(journey.platform.reset_password(reset, "Nouveau-mot-2", "Nouveau-mot-2"))
    results.append(
        journey.platform.recover_identifier(
            IdentifierRecovery(siret=COMMUNE, last_name=last, first_name=first, email=holder.email)
        )
    )
    results.append(journey.join_with_net_entreprises())
    other = holder_form(last, first, civility=civility.label, email="autre@employeur.example")
    journey.register(HOSPITAL, HOSPITAL_CONTRACT, holder=other)
    code = journey.withdrawal_code_in_letter(HOSPITAL)
    results.append(journey.platform.withdraw_registration(code))
    for result in results:
        for text in _texts(result):
            assert_reads(text, type(result).__name__)
    journey.deliver()
    assert {mail.kind for mail in journey.world.mailer.sent} == set(EmailKind)
    for mail in journey.world.mailer.sent:
        assert_reads(mail.text, mail.kind.value)
        assert mail.html is not None
        assert_reads(visible(mail.html), mail.kind.value)


def _error_classes() -> list[type[OnboardingError]]:
    found: list[type[OnboardingError]] = []
    pending: list[type[OnboardingError]] = [OnboardingError]
    while pending:
        kind = pending.pop()
        found.append(kind)
        pending += kind.__subclasses__()
    return sorted(set(found), key=lambda k: k.__name__)


_ARGUMENTS: dict[str, st.SearchStrategy[object]] = {
    "access_from": st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31)),
    "administrators": st.lists(formal_names().map(lambda n: n[1]), max_size=4).map(tuple),
    "legal_category": st.sampled_from(("5710", "9220", "1000")),
    "retry_after": st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(hours=3)),
    "state": st.sampled_from(("active", "blocked")),
    "action": st.sampled_from(("renew", "unblock")),
    "fields": st.dictionaries(
        st.sampled_from(("siret", "courriel", "code_postal")),
        st.just(FieldError("field.invalid", "Ce champ est incorrect.")),
        min_size=1,
    ),
}


@st.composite
def onboarding_errors(draw: st.DrawFn) -> OnboardingError:
    """Any error of the tree, built with generated arguments where it takes some."""
    kind = draw(st.sampled_from(_error_classes()))
    parameters = inspect.signature(kind.__init__).parameters
    arguments = {
        name: draw(_ARGUMENTS[name])
        for name, parameter in parameters.items()
        if name != "self" and parameter.default is inspect.Parameter.empty
    }
    build: Callable[..., OnboardingError] = kind  # the arguments are the signature's
    return build(**arguments)


def test_every_error_can_be_built() -> None:
    """The strategy knows every required argument of the tree (a new one must be added)."""
    assert errors.ValidationError in _error_classes()
    for kind in _error_classes():
        for name, parameter in inspect.signature(kind.__init__).parameters.items():
            if name != "self" and parameter.default is inspect.Parameter.empty:
                assert name in _ARGUMENTS, f"{kind.__name__}({name}=…)"


@pytest.mark.rule("M1")
@given(error=onboarding_errors())
def test_no_error_text_holds_a_code_a_none_or_a_repr(error: OnboardingError) -> None:
    """Every error's ``.text`` (and ``message``) is French a screen can show."""
    assert_reads(error.text, type(error).__name__)
    assert_reads(error.message, type(error).__name__)
