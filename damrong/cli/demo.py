"""`damrong demo`: file realistic complaints over the public HTTP APIs, with a progress bar.

Each complaint is filed at intake, then (once status has consumed it) moved along its
planned lifecycle at status with back-dated effective times.  Only the HTTP APIs are
used, exactly as a channel system and district officers would.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from damrong.cli.demo_data import Plan, plans

CONCURRENCY = 8  # httpx degrades past ~8 in-flight requests on a 2-core machine


class DemoError(RuntimeError):
    pass


async def _await_case(client: httpx.AsyncClient, status_url: str, cid: str) -> None:
    deadline = asyncio.get_running_loop().time() + 60
    delay = 0.05
    while True:
        r = await client.get(f"{status_url}/v1/complaints/{cid}")
        if r.status_code == 200:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise DemoError(f"case {cid} did not reach the status service within 60 s")
        await asyncio.sleep(delay)
        delay = min(delay * 2, 1.0)


async def _run_one(
    client: httpx.AsyncClient,
    intake_url: str,
    status_url: str,
    plan: Plan,
    index: int,
    outcome: Counter[str],
) -> None:
    key = f"demo-{plan.request['received_at']}-{index}"
    r = await client.post(
        f"{intake_url}/v1/complaints", json=plan.request, headers={"Idempotency-Key": key}
    )
    if r.status_code not in (200, 201):
        raise DemoError(f"intake refused demo complaint {index}: {r.status_code} {r.text}")
    cid = r.json()["complaint_id"]
    outcome["filed"] += 1
    if not plan.steps:
        return
    await _await_case(client, status_url, cid)
    version = 1
    for step in plan.steps:
        body = {
            "action": step.action,
            "expected_version": version,
            "occurred_at": step.at.isoformat(),
            **step.fields,
        }
        r = await client.post(f"{status_url}/v1/complaints/{cid}/transitions", json=body)
        if r.status_code != 200:
            raise DemoError(f"status refused {step.action} on {cid}: {r.status_code} {r.text}")
        version = r.json()["version"]
    outcome[plan.steps[-1].action] += 1


async def run_demo_async(
    intake_url: str,
    status_url: str,
    complaints: int,
    console: Console | None = None,
    *,
    token: str | None = None,
) -> Counter[str]:
    """File ``complaints`` demo complaints and move them along, as the holder of ``token``
    (one that may file and transition anywhere: an admin's)."""
    console = console or Console()
    now = dt.datetime.now(dt.UTC)
    todo = plans(complaints, now, seed=int(now.timestamp()))
    outcome: Counter[str] = Counter()
    queue: asyncio.Queue[tuple[int, Plan]] = asyncio.Queue()
    for item in enumerate(todo):
        queue.put_nowait(item)
    columns = (
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(timeout=30, headers=headers) as client:
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("filing demo complaints", total=len(todo))

            async def worker() -> None:
                while not queue.empty():
                    index, plan = queue.get_nowait()
                    await _run_one(client, intake_url, status_url, plan, index, outcome)
                    progress.advance(task)

            await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    closed = outcome["close"]
    console.print(
        f"filed {outcome['filed']} complaints; {closed} moved through to closure "
        f"({closed / max(outcome['filed'], 1):.0%})"
    )
    return outcome


def run_demo(
    intake_url: str, status_url: str, complaints: int, token: str | None = None
) -> Counter[str]:
    return asyncio.run(run_demo_async(intake_url, status_url, complaints, token=token))
