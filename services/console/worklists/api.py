"""The console's worklists pages."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from services.console.security import csrf_protect

router = APIRouter(dependencies=[Depends(csrf_protect)])
