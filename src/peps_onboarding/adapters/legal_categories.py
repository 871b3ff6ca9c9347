"""French labels of INSEE's legal categories (« catégories juridiques »), from package data.

The nomenclature has three levels: I (1 digit), II (2 digits) and III (4 digits, the
code Sirene gives a legal unit). It ships as ``peps_onboarding/data/legal_categories.csv``
(UTF-8, ``;``-separated, header ``level;code;label``) so that a screen can say
« Commune et commune nouvelle » rather than 7210 without asking INSEE.
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Mapping
from importlib import resources
from types import MappingProxyType

__all__ = ["legal_category_label"]

_RESOURCE = "legal_categories.csv"


@functools.cache
def _labels() -> Mapping[str, str]:
    """Code → label for every level; codes of different levels differ in length."""
    text = resources.files("peps_onboarding.data").joinpath(_RESOURCE).read_text(encoding="utf-8")
    rows = csv.DictReader(io.StringIO(text), delimiter=";")
    return MappingProxyType({row["code"]: row["label"] for row in rows})


def legal_category_label(code: str) -> str | None:
    """The French label of a legal category code, or ``None`` when the code is unknown.

    A level III code missing from the shipped nomenclature (a newer INSEE revision) falls
    back to its level II parent, which still says what kind of body it is.

    >>> legal_category_label("7210")
    'Commune et commune nouvelle'
    """
    labels = _labels()
    label = labels.get(code)
    if label is not None:
        return label
    if len(code) == 4 and code.isascii() and code.isdigit():
        return labels.get(code[:2])
    return None
