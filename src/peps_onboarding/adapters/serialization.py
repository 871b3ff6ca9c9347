"""The JSON form of what the stores keep: domain events and notifications.

It knows only domain types, so the adapters that write events and the outbox depend on
nothing above the domain. Dates and datetimes become ISO 8601 strings (datetimes stay
aware; a naive one is refused); unions carry a tag: events their ``kind``,
notifications their class name under ``type``. The public
:data:`peps_onboarding.serialization.converter` is this one plus the application's
results.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import partial
from typing import Any

from cattrs.preconf.json import JsonConverter, make_converter
from cattrs.strategies import configure_tagged_union, include_subclasses

from ..domain.events import DomainEvent
from ..domain.notifications import Notification

__all__ = ["converter", "make_domain_converter"]


def _event_tag(cls: type[Any]) -> str:
    kind: str = cls.kind
    return kind


def _aware(value: Any, _: type[datetime]) -> datetime:
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(parsed, datetime) or parsed.tzinfo is None:
        raise ValueError("datetimes must carry their time zone")
    return parsed


def make_domain_converter() -> JsonConverter:
    """A fresh converter for dates, domain events and notifications."""
    conv = make_converter()
    conv.register_unstructure_hook(datetime, datetime.isoformat)
    conv.register_structure_hook(datetime, _aware)
    conv.register_unstructure_hook(date, date.isoformat)
    conv.register_structure_hook(date, lambda value, _: date.fromisoformat(value))
    include_subclasses(
        DomainEvent,
        conv,
        union_strategy=partial(configure_tagged_union, tag_name="kind", tag_generator=_event_tag),
    )
    configure_tagged_union(Notification, conv, tag_name="type")
    return conv


converter = make_domain_converter()
