"""File a complaint: ``GET/POST /complaints/new`` and the area pickers' fragments.

Every rendered form carries a fresh idempotency key, sent to intake as ``Idempotency-Key``:
a double click or a form sent again files once (intake answers the first filing again).
Without script, the "show districts" button posts the form back to be shown again with
the chosen province's districts; nothing is filed then.

An anonymous complaint's receipt shows its tracking secret once (``receipt``: carried in an
encrypted cookie, never in the URL).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from services.console.backends import BackendError, UserApi
from services.console.deps import Api, Page, Signed, lang_of, signed_session
from services.console.domain import filing as f
from services.console.domain.session import Session
from services.console.filing import receipt
from services.console.security import csrf_protect

# Signed in first: a form sent after the session ended goes to sign in (and comes back
# filled), rather than being refused for a CSRF token no session can match.
router = APIRouter(dependencies=[Depends(signed_session), Depends(csrf_protect)])
FORM = "filing/form.html"


async def _places(api: UserApi, path: str, **params: str) -> list[dict[str, Any]]:
    places: list[dict[str, Any]] = await api.get("intake", path, **params)
    return places


async def _choices(api: UserApi, lang: str, province: str, district: str) -> dict[str, Any]:
    """The pickers' options; a province or district code that is not in the list (typed
    by hand into the URL or form) is simply not followed."""
    channels, categories, provinces = await asyncio.gather(
        api.get("intake", "/v1/reference/channels"),
        api.get("intake", "/v1/reference/categories"),
        _places(api, "/v1/reference/provinces"),
    )
    districts: list[dict[str, Any]] = []
    if province in {p["code"] for p in provinces}:
        districts = await _places(api, "/v1/reference/districts", province_code=province)
    subdistricts: list[dict[str, Any]] = []
    if district in {d["code"] for d in districts}:
        subdistricts = await _places(api, "/v1/reference/subdistricts", district_code=district)
    return {
        "channels": f.code_options(channels, lang),
        "categories": f.code_options(categories, lang),
        "provinces": f.place_options(provinces, lang),
        "districts": f.place_options(districts, lang),
        "subdistricts": f.place_options(subdistricts, lang),
    }


async def _form(
    request: Request,
    page: Page,
    api: UserApi,
    form: f.FilingForm,
    *,
    problems: list[f.FieldProblem] | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    lang = lang_of(request)
    choices = await _choices(api, lang, form.get("province_code"), form.get("district_code"))
    problems = problems or []
    return page(
        FORM,
        {
            **choices,
            "form": form,
            "problems": problems,
            "errors": {p.field: p for p in problems},
            "inputs": f.FIELD_ORDER,
            "notify_options": f.NOTIFY_OPTIONS,
            "notice": notice,
        },
        status_code=status_code,
    )


def _blank(session: Session) -> f.FilingForm:
    """A new form, the officer's own province and district chosen."""
    district = session.principal.district_code or ""
    return f.read_form(
        {
            "district_code": district,
            "province_code": f.province_of(district) or (session.principal.province_code or ""),
            "channel": "walk_in",
            "idempotency_key": f.new_key(),
        }
    )


@router.get("/complaints/new")
async def new_complaint(
    request: Request, page: Page, api: Api, session: Signed, filed: uuid.UUID | None = None
) -> Response:
    """The filing form, or with ``filed`` the page that says it was filed."""
    if filed is None:
        return await _form(request, page, api, _blank(session))
    tracking = request.query_params.get("tracking", "")
    record: dict[str, Any] | None = None
    try:
        record = await api.get("intake", f"/v1/complaints/{filed}")
        record["received_at"] = dt.datetime.fromisoformat(record["received_at"])
    except BackendError as exc:
        if exc.status != 404:  # 404: filed, but not for this officer's eyes (whistle-blower)
            raise
    secret = receipt.take(request, filed, session.principal.subject)
    anonymous = bool(record and (record.get("complainant") or {}).get("anonymous"))
    response = page(
        "filing/filed.html",
        {
            "complaint_id": filed,
            "tracking": tracking,
            "record": record,
            "secret": secret,
            "anonymous": anonymous or secret is not None,
            "track_url": str(request.base_url) + "track",
        },
    )
    receipt.drop(request, response)
    return response


@router.post("/complaints/new")
async def post_complaint(request: Request, page: Page, api: Api, session: Signed) -> Response:
    raw = await request.form()
    form = f.read_form(
        {k: v for k, v in raw.items() if isinstance(v, str)}, notify=raw.getlist("notify")
    )
    if raw.get("step") == "areas":  # no script: show the chosen area's lists, file nothing
        return await _form(request, page, api, form)
    local = f.required_area(form)
    if local:
        return await _form(request, page, api, form, problems=local, status_code=422)
    try:
        answer = await api.request(
            "intake",
            "POST",
            "/v1/complaints",
            json=f.to_request(form),
            headers={"Idempotency-Key": form.idempotency_key},
            ok=(200, 201),
        )
    except BackendError as exc:
        if exc.status == 422 and exc.field_errors:
            problems = f.explain(exc.field_errors)
            return await _form(request, page, api, form, problems=problems, status_code=422)
        if exc.status == 409:  # this form's key already filed other values: a new form
            fresh = dataclasses.replace(form, idempotency_key=f.new_key())
            return await _form(request, page, api, fresh, notice="filing.conflict", status_code=409)
        raise
    body = answer.json()
    target = f"/complaints/new?filed={body['complaint_id']}&tracking={body['tracking_no']}"
    redirect = RedirectResponse(target, status_code=303)
    if isinstance(body.get("tracking_secret"), str):
        receipt.keep(
            request,
            redirect,
            str(body["complaint_id"]),
            body["tracking_secret"],
            session.principal.subject,
        )
    return redirect


@router.get("/complaints/new/districts")
async def district_options(
    request: Request, page: Page, api: Api, province_code: str = ""
) -> Response:
    """The district and (empty) subdistrict pickers for a province (htmx fragment)."""
    form = f.read_form({"province_code": province_code})
    choices = await _choices(api, lang_of(request), province_code, "")
    return page("filing/areas.html", {**choices, "form": form, "errors": {}})


@router.get("/complaints/new/subdistricts")
async def subdistrict_options(
    request: Request, page: Page, api: Api, district_code: str = ""
) -> Response:
    """The subdistrict picker for a district (htmx fragment)."""
    form = f.read_form(
        {"district_code": district_code, "province_code": f.province_of(district_code)}
    )
    choices = await _choices(api, lang_of(request), form.get("province_code"), district_code)
    return page("filing/subdistrict.html", {**choices, "form": form, "errors": {}})
