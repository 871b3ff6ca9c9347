"""Test support for hosts: ready-made journeys, port contract suites, the stateful model.

Install with the ``[testing]`` extra (pytest, hypothesis).
"""

from .journeys import (
    COMMUNE,
    COMMUNE_CONTRACT,
    HOSPITAL,
    HOSPITAL_CONTRACT,
    PASSWORD,
    START,
    Journey,
    address_form,
    holder_form,
    net_entreprises_form,
    step_one_proof,
    unthrottled,
)

__all__ = [
    "COMMUNE",
    "COMMUNE_CONTRACT",
    "HOSPITAL",
    "HOSPITAL_CONTRACT",
    "PASSWORD",
    "START",
    "Journey",
    "address_form",
    "holder_form",
    "net_entreprises_form",
    "step_one_proof",
    "unthrottled",
]
