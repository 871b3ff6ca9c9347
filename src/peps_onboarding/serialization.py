"""A cattrs converter for every input, result, event and notification: JSON-ready and back.

Dates and datetimes become ISO 8601 strings (datetimes stay aware); unions carry a
tag: events their ``kind``, other unions their class name under ``type``.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import partial
from typing import Any

from cattrs.preconf.json import JsonConverter, make_converter
from cattrs.strategies import configure_tagged_union, include_subclasses

from .application.results import IdentificationResult, NetEntreprisesSignInResult
from .domain.events import DomainEvent
from .domain.notifications import Notification

__all__ = ["converter", "make_json_converter"]


def _event_tag(cls: type[Any]) -> str:
    kind: str = cls.kind
    return kind


def _aware(value: Any, _: type[datetime]) -> datetime:
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(parsed, datetime) or parsed.tzinfo is None:
        raise ValueError("datetimes must carry their time zone")
    return parsed


def make_json_converter() -> JsonConverter:
    """A fresh converter; ``converter`` is a ready one."""
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
    for union in (IdentificationResult, NetEntreprisesSignInResult, Notification):
        configure_tagged_union(union, conv, tag_name="type")
    return conv


converter = make_json_converter()
