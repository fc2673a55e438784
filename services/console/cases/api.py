"""The case page (``/cases/{id}``): intake's record, status' state and its whole history as
a timeline, the actions the state machine allows as forms, and for auditors each event's
hash and whether the chain holds; the case as of any moment.

A transition sends the version the page showed: when someone else moved the case in the
meantime, status answers 409 and the page says so, showing the case as it now stands.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from services.console.backends import BackendError, UserApi
from services.console.deps import Api, Page, Signed, lang_of
from services.console.domain import cases as cs
from services.console.security import csrf_protect
from shared.auth.policy import Operation, permits
from shared.auth.principal import Grant
from shared.codes import CLOSURE_REASON_LABELS

router = APIRouter(dependencies=[Depends(csrf_protect)])


def _id(complaint_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(complaint_id)
    except ValueError:
        raise HTTPException(404) from None


def _times(record: dict[str, Any], *names: str) -> dict[str, Any]:
    for name in names:
        if record.get(name):
            record[name] = dt.datetime.fromisoformat(record[name])
    return record


async def _show(
    request: Request,
    page: Page,
    api: UserApi,
    session: Signed,
    cid: uuid.UUID,
    *,
    notice: str | None = None,
    errors: dict[str, str] | None = None,
    form: cs.TransitionForm | None = None,
    complainant: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    principal = session.principal
    as_of_text = request.query_params.get("as_of", "")
    try:
        as_of = cs.as_of_moment(as_of_text)
    except ValueError:
        as_of, errors = None, {**(errors or {}), "as_of": "cases.error.as_of"}
    params = {"as_of": as_of.isoformat()} if as_of else {}
    case, history, record, channels, categories = await asyncio.gather(
        api.get("status", f"/v1/complaints/{cid}", **params),
        api.get("status", f"/v1/complaints/{cid}/history"),
        api.get("intake", f"/v1/complaints/{cid}"),
        api.get("intake", "/v1/reference/channels"),
        api.get("intake", "/v1/reference/categories"),
    )
    rows, chain = cs.timeline(cid, history["events"])
    if notice is None and request.query_params.get("done") in cs.NEEDS:
        notice = "cases.done"
    if as_of is not None:
        rows = [r for r in rows if r.occurred_at <= as_of]
    # Beside the case's status: why it stands in the officers' "reopen requests" list.
    reopen_request = cs.pending_reopen(str(case.get("status")), rows)
    lang = lang_of(request)
    label = "label_en" if lang == "en" else "label_th"
    may_move = permits(principal, Operation.transition) and as_of is None
    return page(
        "cases/case.html",
        {
            "case": _times(case, "received_at", "recorded_at", "closed_at", "last_event_at"),
            "record": record,
            "rows": rows,
            "reopen_request": reopen_request,
            "chain": chain,
            "auditing": permits(principal, Operation.audit),
            "actions": case.get("actions", []) if may_move else [],
            "needs": cs.NEEDS,
            "labels": {c["code"]: c[label] for c in [*channels, *categories]},
            "reasons": {
                r.value: p[1 if lang == "en" else 0] for r, p in CLOSURE_REASON_LABELS.items()
            },
            "as_of": as_of_text if as_of else "",
            "notice": notice,
            "errors": errors or {},
            "form": form,
            "pii_reader": principal.has(Grant.pii_reader),
            "complainant": complainant,
        },
        status_code=status_code,
    )


@router.get("/cases/{complaint_id}")
async def case_page(
    request: Request, page: Page, api: Api, session: Signed, complaint_id: str
) -> Response:
    return await _show(request, page, api, session, _id(complaint_id))


@router.post("/cases/{complaint_id}/transitions")
async def transition(
    request: Request, page: Page, api: Api, session: Signed, complaint_id: str
) -> Response:
    cid = _id(complaint_id)
    raw = await request.form()
    form, errors = cs.read_transition({k: v for k, v in raw.items() if isinstance(v, str)})
    if errors:
        return await _show(
            request, page, api, session, cid, errors=errors, form=form, status_code=422
        )
    try:
        await api.request(
            "status", "POST", f"/v1/complaints/{cid}/transitions", json=cs.transition_body(form)
        )
    except BackendError as exc:
        if exc.status == 409:
            # Moved by someone else since this page was shown (or no longer allowed from
            # where it now stands): show it as it is now, and say so.
            return await _show(
                request, page, api, session, cid, notice="cases.conflict", status_code=409
            )
        if exc.status == 422 and exc.field_errors:
            fields = {f.split(".")[-1]: "cases.error.invalid" for f in exc.field_errors}
            return await _show(
                request, page, api, session, cid, errors=fields, form=form, status_code=422
            )
        raise
    return RedirectResponse(f"/cases/{cid}?done={form.action}", status_code=303)


@router.post("/cases/{complaint_id}/complainant")
async def show_complainant(
    request: Request, page: Page, api: Api, session: Signed, complaint_id: str
) -> Response:
    """The complainant's clear identity, for a ``pii_reader`` who asked for it (intake
    records every such read)."""
    cid = _id(complaint_id)
    clear = await api.get("intake", f"/v1/complaints/{cid}/complainant")
    return await _show(request, page, api, session, cid, complainant=clear)
