"""An anonymous complainant's tracking secret, carried from the filing to its receipt page
for one showing.

The filing answers with a redirect (``/complaints/new?filed=<id>&tracking=<no>``), so the
secret cannot ride in the page; it must never ride in the URL either (history, logs,
Referer).  It goes in a cookie of its own, encrypted and authenticated (Fernet, under a key
derived from the session key for this one use, so it can never pass for a session), bound
to the complaint and the officer, scoped to the filing page's path, for at most
``RECEIPT_TTL_S`` seconds; the receipt page reads it once and deletes it.  A reload of the
receipt then says the secret was shown once: only intake can derive it again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

import orjson
from cryptography.fernet import Fernet, InvalidToken
from fastapi import Request, Response

COOKIE = "damrong_receipt"
PATH = "/complaints/new"
RECEIPT_TTL_S = 600  # time enough to be redirected and shown, even on a slow line
MAX_COOKIE = 1024  # ours is ~250 characters: anything longer is no receipt of ours


def _fernet(request: Request) -> Fernet:
    key = request.app.state.settings.console_session_key.get_secret_value().encode()
    derived = hmac.new(key, b"damrong console receipt secret", hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(derived))


def keep(
    request: Request, response: Response, complaint_id: str, secret: str, subject: str
) -> None:
    """Carry ``secret`` of ``complaint_id`` to the receipt page of the officer ``subject``."""
    body = orjson.dumps({"c": complaint_id, "s": secret, "u": subject})
    response.set_cookie(
        COOKIE,
        _fernet(request).encrypt(body).decode(),
        max_age=RECEIPT_TTL_S,
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.secure_cookies,
        path=PATH,
    )


def take(request: Request, complaint_id: uuid.UUID, subject: str) -> str | None:
    """The secret kept for ``complaint_id`` and this officer, if any and still fresh
    (the caller must ``drop`` the cookie in its answer: it is shown once)."""
    cookie = request.cookies.get(COOKIE)
    if not cookie or len(cookie) > MAX_COOKIE:
        return None
    try:
        body = orjson.loads(_fernet(request).decrypt(cookie.encode(), ttl=RECEIPT_TTL_S))
    except (InvalidToken, orjson.JSONDecodeError):
        return None
    if not isinstance(body, dict) or body.get("c") != str(complaint_id):
        return None
    secret = body.get("s")
    if body.get("u") != subject or not isinstance(secret, str):
        return None
    return secret


def drop(request: Request, response: Response) -> None:
    """Delete the receipt cookie (whether or not it was this complaint's)."""
    if COOKIE in request.cookies:
        response.delete_cookie(
            COOKIE,
            path=PATH,
            httponly=True,
            samesite="strict",
            secure=request.app.state.settings.secure_cookies,
        )
