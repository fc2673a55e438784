"""`damrong complainant erase REF`: erase a complainant's personal data (PDPA) through
intake's ``DELETE /v1/complainants/{ref}``, with a message a district officer can act on;
`damrong complainant rewrap`: finish a master key rotation (operators, on the database)."""

from __future__ import annotations

import uuid

import httpx


class PiiCommandFailed(RuntimeError):
    """The command failed; the message says why."""


def erase(ref: str, intake_url: str, token: str, *, timeout: float = 30.0) -> str:
    """Erase complainant ``ref``; the message to print.  Raises PiiCommandFailed otherwise."""
    try:
        uuid.UUID(ref)
    except ValueError:
        raise PiiCommandFailed(
            f"{ref!r} is not a complainant ref (a UUID, as given when the complaint was filed)"
        ) from None
    try:
        r = httpx.delete(
            f"{intake_url.rstrip('/')}/v1/complainants/{ref}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
        )
    except httpx.HTTPError as exc:
        raise PiiCommandFailed(f"cannot reach intake at {intake_url}: {exc}") from None
    if r.status_code == 204:
        return (
            f"complainant {ref} erased: their name, ID, phone, e-mail and address can no "
            "longer be read anywhere; the case, its history and the KPIs are kept"
        )
    detail = ""
    if r.headers.get("content-type", "").startswith("application/problem+json"):
        detail = str(r.json().get("detail") or "")
    reasons = {
        401: "not signed in (pass --token or set DAMRONG_TOKEN)",
        403: "you may not erase this complainant (admins, or an officer of the "
        "complaint's district, may)",
        404: f"no complainant {ref}",
    }
    message = reasons.get(r.status_code, f"intake answered {r.status_code}")
    raise PiiCommandFailed(f"{message}{f': {detail}' if detail and r.status_code != 404 else ''}")


def rewrap(database_url: str) -> str:
    """Wrap every data key again under the current PII_MASTER_KEY (after a rotation: the
    old key in PII_RETIRED_MASTER_KEYS); the message to print.  Needs database access."""
    import asyncio

    from services.intake.pii.domain.envelope import Unreadable
    from services.intake.pii.domain.keys import PiiKeys, PiiNotConfigured
    from services.intake.pii.store import rewrap_keys
    from shared.config import Settings
    from shared.db import create_pool

    try:
        keys = PiiKeys.from_settings(Settings())
    except PiiNotConfigured as exc:
        raise PiiCommandFailed(str(exc)) from None

    async def run() -> int:
        pool = await create_pool(database_url, "intake", max_size=2)
        try:
            return await rewrap_keys(pool, keys)
        finally:
            await pool.close()

    try:
        done = asyncio.run(run())
    except Unreadable as exc:
        raise PiiCommandFailed(f"{exc}: put the old key in PII_RETIRED_MASTER_KEYS") from None
    except OSError as exc:
        raise PiiCommandFailed(f"cannot reach the database: {exc}") from None
    return (
        f"{done} complainant keys rewrapped under {keys.current_id}; keys wrapped by "
        "retired master keys: none left"
    )
