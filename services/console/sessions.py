"""The session cookie: the whole ``Session`` encrypted and authenticated with Fernet.

Encrypted, not only signed: the cookie carries the user's bearer token, which must not be
readable from a copied cookie jar or a proxy log.  HttpOnly and SameSite=Lax always, Secure
when the console is served over https.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from cryptography.fernet import Fernet, InvalidToken
from fastapi import Response

from services.console.domain.session import Session
from shared.auth.principal import InvalidClaims, principal_from_claims

COOKIE = "damrong_session"
LANG_COOKIE = "damrong_lang"


class SessionCodec:
    def __init__(self, key: str, *, secure: bool, max_age_s: int) -> None:
        self._fernet = Fernet(key.encode())
        self.secure = secure
        self.max_age_s = max_age_s

    def encode(self, session: Session) -> str:
        body: dict[str, Any] = {
            "p": session.principal.claims(),
            "t": session.token,
            "e": int(session.expires_at.timestamp()),
            "c": session.csrf,
            "v": session.via,
        }
        if session.id_token:
            body["i"] = session.id_token
        return self._fernet.encrypt(orjson.dumps(body)).decode()

    def decode(self, cookie: str | None) -> Session | None:
        """The session in ``cookie``; None for a missing, foreign or tampered one (expiry
        is the caller's decision: it knows ``now``)."""
        if not cookie:
            return None
        try:
            body = orjson.loads(self._fernet.decrypt(cookie.encode()))
            return Session(
                principal=principal_from_claims(body["p"]),
                token=body["t"],
                expires_at=dt.datetime.fromtimestamp(body["e"], dt.UTC),
                csrf=body["c"],
                via=body.get("v", "link"),
                id_token=body.get("i"),
            )
        except (InvalidToken, InvalidClaims, KeyError, TypeError, ValueError):
            return None

    def set(self, response: Response, session: Session) -> None:
        response.set_cookie(
            COOKIE,
            self.encode(session),
            max_age=self.max_age_s,
            httponly=True,
            samesite="lax",
            secure=self.secure,
            path="/",
        )

    def clear(self, response: Response) -> None:
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=self.secure)
