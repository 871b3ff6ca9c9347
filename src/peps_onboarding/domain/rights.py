"""Services, access levels and rights (rules R2, R3, R4)."""

from __future__ import annotations

import enum

from attrs import frozen

__all__ = ["FMIS_ALLOCATIONS", "FMIS_REFUNDS", "AccessLevel", "Right", "Service", "Theme"]


class AccessLevel(enum.Enum):
    """Rule R3: « Aucun », « Lecture seule » or « Modification »."""

    NONE = "none"
    READ_ONLY = "read_only"
    MODIFY = "modify"

    @property
    def label(self) -> str:
        return _ACCESS_LABELS[self]


_ACCESS_LABELS = {
    AccessLevel.NONE: "Aucun",
    AccessLevel.READ_ONLY: "Lecture seule",
    AccessLevel.MODIFY: "Modification",
}


@frozen
class Theme:
    code: str
    label: str


@frozen
class Service:
    """Rule R2: a platform service in a theme; ``code`` is the stable key."""

    code: str
    label: str
    theme: Theme


SUBSIDIES = Theme("subsidies", "Subventions / Aides")
FMIS_ALLOCATIONS = Service("fmis_allocations", "Dotations FMIS", SUBSIDIES)
FMIS_REFUNDS = Service("fmis_refunds", "Remboursements FMIS", SUBSIDIES)


@frozen
class Right:
    """One (service, level) pair held by an account."""

    service: str
    level: AccessLevel
