"""The start page: where each role begins its day."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from services.console.deps import Page, Signed
from services.console.security import csrf_protect

router = APIRouter(dependencies=[Depends(csrf_protect)])


@router.get("/", response_class=HTMLResponse)
async def home(page: Page, session: Signed) -> HTMLResponse:
    return page("home.html")
