"""FastAPI dependencies of intake's routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.intake.store import IntakeStore


def store_of(request: Request) -> IntakeStore:
    """The app's store (built in the lifespan; the hot path calls this directly)."""
    store: IntakeStore = request.app.state.store
    return store


Store = Annotated[IntakeStore, Depends(store_of)]
