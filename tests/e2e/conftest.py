"""End-to-end tier: the three services run as processes and are driven over HTTP only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shared.embedded.platform import Platform


@pytest.fixture(scope="session")
async def platform(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Platform]:
    """One running platform shared by the read-mostly end-to-end tests."""
    async with Platform.for_tests(Path(tmp_path_factory.mktemp("platform"))) as p:
        yield p


@pytest.fixture
async def own_platform(tmp_path: Path) -> AsyncIterator[Platform]:
    """A platform of the test's own, for tests that kill services."""
    async with Platform.for_tests(tmp_path) as p:
        yield p
