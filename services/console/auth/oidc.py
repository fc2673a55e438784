"""OpenID Connect sign-in: authorization code flow with PKCE (S256), state and nonce.

``/auth/oidc/start`` sends the browser to the provider (its endpoints read from the
issuer's ``/.well-known/openid-configuration``) with a fresh state, nonce and PKCE
verifier, kept for ten minutes in an encrypted cookie scoped to ``/auth/oidc``.
``/auth/oidc/callback`` refuses a state that is not that cookie's, redeems the code with
the verifier, verifies the ID token against the provider's JWKS (signature, issuer,
audience = our client id, expiry, nonce), merges userinfo, and maps the claims to a
principal (``services.console.domain.claims``).  Claims that give no usable role, a
refused or failed exchange: a page saying so, never a 500.

Which token the session sends to intake, status and kpi: the provider's own, not one the
console mints.  The services already verify an identity provider's tokens with its public
key (``AUTH_PUBLIC_KEY``, ``AUTH_ISSUER`` = the issuer, ``AUTH_AUDIENCE``), so the console
needs no signing key in production and cannot widen anyone's rights: what a user may do is
what the provider signed.  ``OIDC_SERVICE_TOKEN=access_token`` (default) sends the access
token, which must then be a JWT carrying damrong's claims; ``id_token`` sends the ID token
(audience: the console's client id) for providers whose access tokens are opaque.  The
services read damrong's claim names (``role``, ``district_code``, ...), so a claims mapping
other than the identity must be done by the provider's claim mappers; the console checks
that the token it will send gives the services the same principal as its mapping and
refuses the sign-in otherwise (rather than a console showing one role while the services
enforce another).  The session ends when that token does (``new_session``), and a 401 from
a service sends the user to sign in again.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson
import structlog
from authlib.common.errors import AuthlibBaseError  # type: ignore[import-untyped]
from authlib.integrations.httpx_client import AsyncOAuth2Client  # type: ignore[import-untyped]
from cryptography.fernet import Fernet, InvalidToken
from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact

from services.console.config import ConsoleSettings
from services.console.domain.claims import (
    ClaimsMapping,
    NoUsableRole,
    principal_from_provider,
    same_authority,
    token_ends,
)
from services.console.domain.session import Session, new_session

log = structlog.get_logger()

CALLBACK_PATH = "/auth/oidc/callback"
SIGNED_OUT_PATH = "/auth/oidc/signed-out"
HINT_TTL_S = 300
FLOW_COOKIE = "damrong_oidc"
FLOW_TTL_S = 600  # time to sign in at the provider
ALGORITHMS = ["RS256", "ES256", "PS256", "EdDSA"]
LEEWAY_S = 30


class OidcFailed(Exception):
    """The sign-in cannot go on; ``reason`` is a message key, ``status`` the page's."""

    def __init__(self, reason: str, status: int = 400, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason, self.status = reason, status


class OidcClient:
    """One identity provider: discovery, the two legs of the flow and sign-out."""

    def __init__(self, settings: ConsoleSettings) -> None:
        assert settings.oidc_issuer and settings.oidc_client_id and settings.console_session_key
        self.issuer = settings.oidc_issuer.rstrip("/")
        self.client_id = settings.oidc_client_id
        secret = settings.oidc_client_secret
        self.client_secret = secret.get_secret_value() if secret else None
        self.scopes = settings.oidc_scopes
        self.service_token = settings.oidc_service_token
        self.public_url = settings.console_public_url.rstrip("/")
        self.redirect_uri = self.public_url + CALLBACK_PATH
        self.session_ttl = dt.timedelta(hours=settings.console_session_hours)
        self.secure = settings.secure_cookies
        self.mapping = ClaimsMapping(
            role=settings.oidc_claim_role,
            district_code=settings.oidc_claim_district,
            province_code=settings.oidc_claim_province,
            grants=settings.oidc_claim_grants,
            roles=dict(settings.oidc_role_map),
        )
        self._fernet = Fernet(settings.console_session_key.get_secret_value().encode())
        self._timeout = settings.backend_timeout_s
        self._metadata: dict[str, Any] | None = None
        self._jwks: KeySet | None = None

    # -- the provider ----------------------------------------------------------------------
    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as http:
                answer = await http.get(url)
                answer.raise_for_status()
                body = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("identity provider unreachable", error=type(exc).__name__)
            raise OidcFailed("oidc.reason.unavailable", 503) from None
        if not isinstance(body, dict):
            raise OidcFailed("oidc.reason.unavailable", 503)
        return body

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            meta = await self._get_json(self.issuer + "/.well-known/openid-configuration")
            if str(meta.get("issuer", "")).rstrip("/") != self.issuer:
                log.warning("identity provider names another issuer")
                raise OidcFailed("oidc.reason.unavailable", 503)
            self._metadata = meta
        return self._metadata

    async def _keys(self, refresh: bool = False) -> KeySet:
        if self._jwks is None or refresh:
            meta = await self.metadata()
            self._jwks = KeySet.import_key_set(await self._get_json(meta["jwks_uri"]))  # type: ignore[arg-type]
        return self._jwks

    def _client(self) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.client_id,
            client_secret=self.client_secret,
            token_endpoint_auth_method="client_secret_basic" if self.client_secret else "none",
            scope=self.scopes,
            redirect_uri=self.redirect_uri,
            code_challenge_method="S256",
            timeout=self._timeout,
        )

    # -- first leg: to the provider ----------------------------------------------------------
    async def start(self, next_path: str) -> Response:
        meta = await self.metadata()
        flow = {
            "s": secrets.token_urlsafe(32),
            "n": secrets.token_urlsafe(32),
            "v": secrets.token_urlsafe(48),  # PKCE verifier: 64 characters
            "next": next_path,
            "at": int(time.time()),
        }
        async with self._client() as client:
            url, _ = client.create_authorization_url(
                meta["authorization_endpoint"],
                state=flow["s"],
                code_verifier=flow["v"],
                nonce=flow["n"],
            )
        response = RedirectResponse(url, status_code=303)
        response.set_cookie(
            FLOW_COOKIE,
            self._fernet.encrypt(orjson.dumps(flow)).decode(),
            max_age=FLOW_TTL_S,
            httponly=True,
            samesite="lax",  # the provider's redirect back is a top-level GET: Lax is sent
            secure=self.secure,
            path="/auth/oidc",
        )
        return response

    def read_flow(self, request: Request) -> dict[str, Any] | None:
        cookie = request.cookies.get(FLOW_COOKIE)
        if not cookie:
            return None
        try:
            flow = orjson.loads(self._fernet.decrypt(cookie.encode(), ttl=FLOW_TTL_S))
        except (InvalidToken, ValueError):
            return None
        return flow if isinstance(flow, dict) else None

    def forget_flow(self, response: Response) -> None:
        response.delete_cookie(
            FLOW_COOKIE, path="/auth/oidc", httponly=True, samesite="lax", secure=self.secure
        )

    # -- second leg: back from the provider --------------------------------------------------
    async def finish(
        self, flow: dict[str, Any], state: str, code: str, now: dt.datetime
    ) -> Session:
        """The session for the user the provider sent back; OidcFailed otherwise."""
        if not state or not secrets.compare_digest(state.encode(), str(flow["s"]).encode()):
            raise OidcFailed("oidc.reason.state")
        if not code:
            raise OidcFailed("oidc.reason.denied")
        meta = await self.metadata()
        try:
            async with self._client() as client:
                token = await client.fetch_token(
                    meta["token_endpoint"], code=code, code_verifier=flow["v"]
                )
                claims = await self._id_token_claims(str(token.get("id_token", "")), flow["n"])
                if meta.get("userinfo_endpoint") and token.get("access_token"):
                    info = await self._userinfo(meta["userinfo_endpoint"], token["access_token"])
                    if isinstance(info, dict) and info.get("sub") == claims["sub"]:
                        claims = {**info, **claims}  # the signed ID token wins
        except (AuthlibBaseError, httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            log.warning("code exchange failed", error=type(exc).__name__)
            raise OidcFailed("oidc.reason.exchange", 502) from None
        try:
            principal = principal_from_provider(claims, self.mapping)
        except NoUsableRole as exc:
            log.info("sign-in refused", reason=exc.reason)
            raise OidcFailed(exc.reason, 403) from None
        sent = str(token.get(self.service_token) or "")
        sent_claims = _unverified_claims(sent)
        if not sent or not same_authority(principal, sent_claims):
            log.warning("the provider's token does not carry the mapped principal")
            raise OidcFailed("oidc.reason.token", 403)
        token_end = token_ends(sent_claims, token.get("expires_in"), claims["exp"], now)
        log.info("signed in", via="oidc", user=principal.subject, role=principal.role)
        return new_session(
            principal,
            sent,
            now=now,
            ttl=self.session_ttl,
            via="oidc",
            # Kept for the provider's sign-out, once: when it is also the services' token
            # a second copy could push the cookie past the browsers' 4 kB.
            id_token=None if sent == token["id_token"] else str(token["id_token"]),
            token_expires_at=token_end,
        )

    async def _userinfo(self, endpoint: str, access_token: str) -> Any:
        # A client of its own: authlib's would try to refresh a token living less than its
        # leeway (a minute) before sending it, and the token is not ours to refresh.
        async with httpx.AsyncClient(timeout=self._timeout) as http:
            answer = await http.get(endpoint, headers={"Authorization": f"Bearer {access_token}"})
            answer.raise_for_status()
            return answer.json()

    async def _id_token_claims(self, id_token: str, nonce: str) -> dict[str, Any]:
        if not id_token:
            raise OidcFailed("oidc.reason.exchange", 502)
        try:
            try:
                decoded = jwt.decode(id_token, await self._keys(), algorithms=ALGORITHMS)
            except JoseError:  # a rotated key: fetch the set once more
                decoded = jwt.decode(id_token, await self._keys(True), algorithms=ALGORITHMS)
            jwt.JWTClaimsRegistry(
                leeway=LEEWAY_S,
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": self.client_id},
                sub={"essential": True},
                exp={"essential": True},
                nonce={"essential": True, "value": nonce},
            ).validate(decoded.claims)
        except (JoseError, ValueError) as exc:
            log.warning("ID token refused", error=type(exc).__name__)
            raise OidcFailed("oidc.reason.id_token", 403) from None
        return dict(decoded.claims)

    # -- sign-out ----------------------------------------------------------------------------
    async def end_session_url(self, session: Session) -> str | None:
        """Where sign-out goes for ``session``, or None when the provider has no
        end-session endpoint (or cannot be reached: the console's own session is ended
        either way).  A page of ours (``SIGNED_OUT_PATH``), not the provider's address: the
        console's CSP (``form-action 'self'``) stops a form's redirect to another origin,
        so that page moves on to the provider itself.  The ID token for ``id_token_hint``
        rides along encrypted, for five minutes."""
        try:
            endpoint = (await self.metadata()).get("end_session_endpoint")
        except OidcFailed:
            return None
        if not endpoint:
            return None
        id_token = session.id_token or (session.token if self.service_token == "id_token" else "")
        hint = self._fernet.encrypt(id_token.encode()).decode()
        return f"{SIGNED_OUT_PATH}?{urlencode({'t': hint})}"

    async def provider_sign_out(self, hint: str) -> str | None:
        """The provider's end-session address (back to our sign-in page) for a hint made
        by ``end_session_url``; None for a missing, stale or foreign one."""
        try:
            id_token = self._fernet.decrypt(hint.encode(), ttl=HINT_TTL_S).decode()
            endpoint = (await self.metadata()).get("end_session_endpoint")
        except (InvalidToken, ValueError, OidcFailed):
            return None
        if not endpoint:
            return None
        query = {
            "client_id": self.client_id,
            "post_logout_redirect_uri": self.public_url + "/signin",
        }
        if id_token:
            query["id_token_hint"] = id_token
        return f"{endpoint}{'&' if '?' in str(endpoint) else '?'}{urlencode(query)}"


def _unverified_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT the console got straight from the provider's token endpoint (the
    services verify its signature; here only what it says matters), {} if not a JWT."""
    try:
        payload = orjson.loads(extract_compact(token.encode()).payload)
    except (JoseError, ValueError, TypeError):
        return {}
    return payload if isinstance(payload, dict) else {}


def make_client(settings: ConsoleSettings) -> OidcClient | None:
    """The provider's client when OIDC_ISSUER and OIDC_CLIENT_ID are set, else None."""
    if not (settings.oidc_issuer and settings.oidc_client_id):
        return None
    return OidcClient(settings)
