from __future__ import annotations

import pytest

from tests.unit.status.fakes import FakeCaseStore
from tests.unit.status.store_contract import CaseStoreContract


class TestFakeCaseStore(CaseStoreContract):
    @pytest.fixture
    def store(self) -> FakeCaseStore:
        return FakeCaseStore()
