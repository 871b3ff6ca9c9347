"""The exported cattrs ``converter`` round-trips every command, result, event and notification.

Round trip: unstructure → ``json.dumps`` → ``json.loads`` → structure → equal, for
values generated from the classes' own type hints (aware datetimes only). Unions go
through their union type, events through the base :class:`DomainEvent` (rule L1).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from types import UnionType
from typing import Any, Union, get_args, get_origin

import attrs
import pytest
from cattrs.errors import BaseValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from peps_onboarding import (
    DomainEvent,
    IdentificationResult,
    NetEntreprisesSignInResult,
    OutboxMessage,
    converter,
)
from peps_onboarding.application import commands, results
from peps_onboarding.domain.events import ALL_EVENTS
from peps_onboarding.domain.notifications import Notification

# Whole-minute offsets: what an ISO 8601 string keeps. (Named zones lose their name but
# keep the instant and offset, checked on its own below.)
FIXED_ZONES = st.one_of(
    st.just(UTC),
    st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m))),
)
AWARE = st.datetimes(
    min_value=datetime(1900, 1, 2), max_value=datetime(2200, 1, 1), timezones=FIXED_ZONES
)


def strategy_for(hint: Any) -> st.SearchStrategy[Any]:
    """Values of ``hint``, read from the attrs classes' type hints, datetimes aware."""
    if hint is datetime:
        return AWARE
    if hint is date:
        return st.dates()
    if hint is type(None):
        return st.none()
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, UnionType):
        return st.one_of(*(strategy_for(arg) for arg in args))
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return st.lists(strategy_for(args[0]), max_size=3).map(tuple)
        return st.tuples(*(strategy_for(arg) for arg in args))
    if isinstance(hint, type) and attrs.has(hint):
        attrs.resolve_types(hint)
        fields = {f.name: strategy_for(f.type) for f in attrs.fields(hint) if f.init}
        return st.builds(hint, **fields)
    return st.from_type(hint)


def round_trip(value: object, as_type: Any) -> object:
    payload = converter.unstructure(value, unstructure_as=as_type)
    return converter.structure(json.loads(json.dumps(payload)), as_type)


def attrs_classes(module: Any) -> list[type]:
    found = [getattr(module, name) for name in module.__all__]
    return [cls for cls in found if isinstance(cls, type) and attrs.has(cls)]


COMMANDS = attrs_classes(commands)
RESULTS = attrs_classes(results)


def test_the_generated_catalogues_are_complete() -> None:
    """Guards the parametrisations below: every command and result class is listed."""
    assert len(COMMANDS) == len(commands.__all__) == 8
    assert {"MembersList", "LoginSucceededResult", "NetEntreprisesSignedIn"} <= {
        cls.__name__ for cls in RESULTS
    }
    assert len(ALL_EVENTS) == len(set(ALL_EVENTS)) == len(DomainEvent.__subclasses__())


@pytest.mark.parametrize("cls", COMMANDS, ids=lambda cls: cls.__name__)
@settings(max_examples=50)
@given(data=st.data())
def test_every_command_round_trips(cls: type, data: st.DataObject) -> None:
    """A command (what a person typed) survives JSON unchanged."""
    value = data.draw(strategy_for(cls))
    assert round_trip(value, cls) == value


@pytest.mark.parametrize("cls", RESULTS, ids=lambda cls: cls.__name__)
@settings(max_examples=50)
@given(data=st.data())
def test_every_result_round_trips(cls: type, data: st.DataObject) -> None:
    """A use case's result survives JSON unchanged, dates and aware datetimes included."""
    value = data.draw(strategy_for(cls))
    assert round_trip(value, cls) == value


@pytest.mark.parametrize(
    "union",
    [
        pytest.param(IdentificationResult, id="IdentificationResult"),
        pytest.param(NetEntreprisesSignInResult, id="NetEntreprisesSignInResult"),
        pytest.param(Notification, id="Notification"),
    ],
)
@settings(max_examples=100)
@given(data=st.data())
def test_unions_round_trip_to_the_same_member(union: Any, data: st.DataObject) -> None:
    """A union's value comes back as the same member class, equal, through its tag."""
    value = data.draw(strategy_for(union))
    back = round_trip(value, union)
    assert type(back) is type(value)
    assert back == value
    assert converter.unstructure(value, unstructure_as=union)["type"] == type(value).__name__


@pytest.mark.rule("L1")
@pytest.mark.parametrize("cls", ALL_EVENTS, ids=lambda cls: cls.__name__)
@settings(max_examples=50)
@given(data=st.data())
def test_every_event_round_trips_through_the_base_class(
    cls: type[DomainEvent], data: st.DataObject
) -> None:
    """An event written as a ``DomainEvent`` reads back as the same subclass, tagged by kind."""
    event = data.draw(strategy_for(cls))
    payload = converter.unstructure(event, unstructure_as=DomainEvent)
    assert payload["kind"] == cls.kind
    back = converter.structure(json.loads(json.dumps(payload)), DomainEvent)
    assert type(back) is cls
    assert back == event


@pytest.mark.rule("M3")
@settings(max_examples=100)
@given(message=strategy_for(OutboxMessage))
def test_outbox_messages_round_trip(message: OutboxMessage) -> None:
    """An owed notification, with its sealed links and retry state, survives JSON unchanged."""
    assert round_trip(message, OutboxMessage) == message


@given(moment=st.datetimes(timezones=st.timezones()))
def test_named_zones_keep_the_instant_and_offset(moment: datetime) -> None:
    """A datetime in a named zone comes back as the same instant with the same UTC offset."""
    back = converter.structure(json.loads(json.dumps(converter.unstructure(moment))), datetime)
    assert back.utcoffset() == moment.utcoffset()
    assert back.astimezone(UTC) == moment.astimezone(UTC)


def refuses(payload: object, as_type: Any) -> bool:
    try:
        converter.structure(payload, as_type)
    except (ValueError, BaseValidationError):
        return True
    return False


@given(moment=st.datetimes())
def test_a_naive_datetime_is_refused(moment: datetime) -> None:
    """A datetime without a time zone never structures, alone or inside a value."""
    naive = moment.isoformat()
    assert refuses(naive, datetime)


@pytest.mark.rule("L1")
@pytest.mark.parametrize("cls", ALL_EVENTS, ids=lambda cls: cls.__name__)
@settings(max_examples=20)
@given(data=st.data(), moment=st.datetimes())
def test_an_event_with_a_naive_time_is_refused(
    cls: type[DomainEvent], data: st.DataObject, moment: datetime
) -> None:
    """An event whose ``at`` lost its time zone is refused, not read as local time."""
    payload = converter.unstructure(data.draw(strategy_for(cls)), unstructure_as=DomainEvent)
    payload["at"] = moment.isoformat()
    assert refuses(payload, DomainEvent)


@settings(max_examples=50)
@given(message=strategy_for(OutboxMessage), moment=st.datetimes())
def test_an_outbox_message_with_a_naive_time_is_refused(
    message: OutboxMessage, moment: datetime
) -> None:
    """An outbox message whose ``created_at`` lost its time zone is refused."""
    payload = converter.unstructure(message)
    payload["created_at"] = moment.isoformat()
    assert refuses(payload, OutboxMessage)
