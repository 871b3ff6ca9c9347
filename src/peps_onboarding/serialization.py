"""A cattrs converter for every input, result, event and notification: JSON-ready and back.

Dates and datetimes become ISO 8601 strings (datetimes stay aware); unions carry a
tag: events their ``kind``, other unions their class name under ``type``. Events and
notifications are read and written as the stores do
(:mod:`peps_onboarding.adapters.serialization`); this converter adds the use cases'
result unions.
"""

from __future__ import annotations

from cattrs.preconf.json import JsonConverter
from cattrs.strategies import configure_tagged_union

from .adapters.serialization import make_domain_converter
from .application.results import IdentificationResult, NetEntreprisesSignInResult

__all__ = ["converter", "make_json_converter"]


def make_json_converter() -> JsonConverter:
    """A fresh converter; ``converter`` is a ready one."""
    conv = make_domain_converter()
    for union in (IdentificationResult, NetEntreprisesSignInResult):
        configure_tagged_union(union, conv, tag_name="type")
    return conv


converter = make_json_converter()
