"""An in-memory CaseStore with the same contract as PgCaseStore (see store_contract.py)."""

from __future__ import annotations

import uuid

from services.status.domain import CaseState
from services.status.store import ConcurrencyConflict
from shared.chain import env_head, seal
from shared.events import Envelope


class FakeCaseStore:
    def __init__(self) -> None:
        self.events: dict[uuid.UUID, list[Envelope]] = {}
        self.cases: dict[uuid.UUID, CaseState] = {}
        self.published: list[Envelope] = []

    async def load(self, complaint_id: uuid.UUID) -> CaseState | None:
        return self.cases.get(complaint_id)

    async def history(self, complaint_id: uuid.UUID) -> list[Envelope]:
        return list(self.events.get(complaint_id, []))

    async def create(self, env: Envelope, state: CaseState) -> bool:
        if env.complaint_id in self.events:
            return False
        self.events[env.complaint_id] = [env]
        self.cases[env.complaint_id] = state
        return True

    async def append(self, env: Envelope, state: CaseState) -> Envelope:
        stream = self.events.get(env.complaint_id, [])
        current = self.cases.get(env.complaint_id)
        if len(stream) >= env.version or current is None or current.version != env.version - 1:
            raise ConcurrencyConflict(env.complaint_id, env.version)
        env = seal(env, env_head(stream[-1]))
        stream.append(env)
        self.cases[env.complaint_id] = state
        self.published.append(env)
        return env
