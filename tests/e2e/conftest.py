"""End-to-end tier: the three services run as processes and are driven over HTTP only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from damrong.embedded.platform import Platform
from tests.e2e.platforms import platform_for_tests
from tests.infra import backend


@pytest.fixture(scope="session")
def shared_infra(request: pytest.FixtureRequest) -> dict[str, str] | None:
    """The session's servers under the containers backend (skips without Docker); None
    when every platform starts embedded servers of its own."""
    if backend() != "containers":
        return None
    infra: dict[str, str] = request.getfixturevalue("infra")
    return infra


@pytest.fixture(scope="session")
async def platform(
    tmp_path_factory: pytest.TempPathFactory, shared_infra: dict[str, str] | None
) -> AsyncIterator[Platform]:
    """One running platform shared by the read-mostly end-to-end tests."""
    async with platform_for_tests(Path(tmp_path_factory.mktemp("platform")), shared_infra) as p:
        yield p


@pytest.fixture
async def own_platform(
    tmp_path: Path, shared_infra: dict[str, str] | None
) -> AsyncIterator[Platform]:
    """A platform of the test's own, for tests that kill services."""
    async with platform_for_tests(tmp_path, shared_infra) as p:
        yield p
