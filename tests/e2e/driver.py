"""A client that files complaints and moves cases like officers do, keeping the truth.

It survives services that die mid-request: a transition whose answer was lost is
checked against the case before it is retried, so the truth never counts one twice.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

PLANS: tuple[tuple[tuple[str, dict[str, Any]], ...], ...] = (
    (),
    (("accept", {}),),
    (("accept", {}), ("start", {})),
    (("accept", {}), ("start", {}), ("close", {"reason": "resolved"})),
    (("accept", {}), ("close", {"reason": "mediated"})),
    (("accept", {}), ("start", {}), ("forward", {"agency": "อบต.", "due_date": "2099-01-31"})),
    (("accept", {}), ("start", {}), ("close", {"reason": "resolved"}), ("reopen", {})),
    (("close", {"reason": "duplicate"}),),
)
TARGET = {
    "accept": "accepted",
    "start": "in_progress",
    "forward": "forwarded",
    "close": "closed",
    "reopen": "reopened",
    "reject": "rejected",
}


@dataclass
class Case:
    complaint_id: str
    channel: str
    district_code: str
    status: str = "filed"
    version: int = 1


@dataclass
class Truth:
    cases: dict[str, Case] = field(default_factory=dict)
    transitions: int = 0

    def counts(self) -> dict[str, int]:
        closed = sum(1 for c in self.cases.values() if c.status == "closed")
        return {"received": len(self.cases), "closed": closed, "open": len(self.cases) - closed}

    def by_channel(self) -> dict[str, Counter[str]]:
        out: dict[str, Counter[str]] = {}
        for c in self.cases.values():
            out.setdefault(c.channel, Counter())["received"] += 1
            out[c.channel]["closed"] += c.status == "closed"
        return out


async def _retrying(fn: Any, *, timeout: float = 90) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            r = await fn()
            if r.status_code < 500:
                return r
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError("service did not answer in time")
        await asyncio.sleep(0.1)


class Driver:
    def __init__(
        self,
        intake: str,
        status: str,
        districts: list[str],
        seed: int = 7,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        """``headers`` carry the credentials (an admin token: the driver files and moves
        cases in any district)."""
        self.intake, self.status, self.districts = intake, status, districts
        self.rng = random.Random(seed)
        self.truth = Truth()
        self.client = httpx.AsyncClient(timeout=10, headers=headers)

    async def close(self) -> None:
        await self.client.aclose()

    async def file(self, i: int) -> Case:
        body: dict[str, Any] = {
            "channel": self.rng.choice(["walk_in", "hotline_1567", "letter", "line"]),
            "district_code": self.rng.choice(self.districts),
            "category": self.rng.choice(["land", "assistance_request", "other"]),
            "subject": "เรื่องทดสอบ",
            "description": "รายละเอียด",
            "complainant": {"anonymous": True},
        }
        r = await _retrying(
            lambda: self.client.post(
                f"{self.intake}/v1/complaints",
                json=body,
                headers={"Idempotency-Key": f"e2e-{id(self)}-{i}"},
            )
        )
        assert r.status_code in (200, 201), r.text
        case = Case(r.json()["complaint_id"], body["channel"], body["district_code"])
        self.truth.cases[case.complaint_id] = case
        return case

    async def _case(self, cid: str) -> dict[str, Any]:
        deadline = time.monotonic() + 90
        while True:
            r = await _retrying(lambda: self.client.get(f"{self.status}/v1/complaints/{cid}"))
            if r.status_code == 200:
                return dict(r.json())
            assert r.status_code == 404, r.text
            if time.monotonic() > deadline:
                raise TimeoutError(f"case {cid} never reached status")
            await asyncio.sleep(0.05)

    async def move(self, case: Case, action: str, extra: dict[str, Any]) -> None:
        body = {"action": action, "expected_version": case.version, **extra}
        url = f"{self.status}/v1/complaints/{case.complaint_id}/transitions"
        while True:
            try:
                r = await self.client.post(url, json=body)
            except httpx.TransportError:
                r = None
            if r is not None and r.status_code == 200:
                case.status, case.version = r.json()["status"], r.json()["version"]
                break
            if r is not None and r.status_code < 500 and r.status_code != 409:
                raise AssertionError(f"{action} refused: {r.status_code} {r.text}")
            # Lost answer or stale version: did our transition land before the crash?
            now = await self._case(case.complaint_id)
            if now["version"] == case.version + 1 and now["status"] == TARGET[action]:
                case.status, case.version = now["status"], now["version"]
                break
            assert now["version"] == case.version, f"someone else moved {case.complaint_id}"
            await asyncio.sleep(0.1)
        self.truth.transitions += 1

    async def run_one(self, i: int) -> None:
        case = await self.file(i)
        plan = self.rng.choice(PLANS)
        if plan:
            await self._case(case.complaint_id)
        for action, extra in plan:
            await self.move(case, action, extra)

    async def run(self, n: int, concurrency: int = 8) -> None:
        queue = list(range(n))

        async def worker() -> None:
            while queue:
                await self.run_one(queue.pop())

        await asyncio.gather(*(worker() for _ in range(concurrency)))
