"""The screens on in-memory adapters and a fake clock (see ``helpers.Site``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.web.helpers import Site, build_site

from peps_onboarding.testing import Journey


@pytest.fixture
def site(journey: Journey) -> Iterator[Site]:
    yield from build_site(journey)
