"""Token verification and API keys: what is accepted, and every way a credential fails."""

from __future__ import annotations

import datetime as dt
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from pydantic import SecretStr

from shared.auth.api_keys import ApiKeys, new_api_key
from shared.auth.credentials import Authenticator, Unauthenticated
from shared.auth.principal import Principal, Role
from shared.auth.tokens import AuthNotConfigured, InvalidToken, TokenVerifier, issue_token
from shared.codes import ChannelCode
from shared.config import Settings

SECRET = "s" * 40
OFFICER = Principal("o-5001", Role.district_officer, district_code="5001")


def _hs(principal: Principal = OFFICER, **kw: object) -> str:
    args: dict[str, object] = {
        "secret": SECRET,
        "issuer": "damrong",
        "audience": "damrong",
        "ttl": dt.timedelta(minutes=5),
        "now": dt.datetime.now(dt.UTC),
    }
    args.update(kw)
    return issue_token(principal, **args)  # type: ignore[arg-type]  # any claim, wrong ones too


def _verifier(**kw: str) -> TokenVerifier:
    return TokenVerifier(issuer="damrong", audience="damrong", **({"secret": SECRET} | kw))


def _pem(public_key: PublicKeyTypes) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def test_a_good_token_gives_its_principal() -> None:
    assert _verifier().verify(_hs()) == OFFICER


@pytest.mark.parametrize(
    "token",
    [
        _hs(now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)),  # expired
        _hs(issuer="someone-else"),  # wrong issuer
        _hs(audience="another-app"),  # wrong audience
        _hs(secret="t" * 40),  # wrong signature
        "not.a.token",  # malformed
        jwt.encode(
            {"sub": "x", "role": "admin", "iss": "damrong", "aud": "damrong"},
            SECRET,
            algorithm="HS256",
        ),  # no exp
        jwt.encode(
            {
                "sub": "x",
                "role": "admin",
                "iss": "damrong",
                "aud": "damrong",
                "exp": int(time.time()) + 60,
            },
            "",
            algorithm="none",
        ),  # unsigned
        jwt.encode(
            {
                "sub": "x",
                "role": "janitor",
                "iss": "damrong",
                "aud": "damrong",
                "exp": int(time.time()) + 60,
            },
            SECRET,
            algorithm="HS256",
        ),  # bad role
    ],
)
def test_bad_tokens_are_refused(token: str) -> None:
    with pytest.raises(InvalidToken):
        _verifier().verify(token)


def test_a_remembered_token_still_expires() -> None:
    verifier = _verifier()
    token = _hs(
        ttl=dt.timedelta(seconds=1), now=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=12)
    )  # expired 11 s ago, just past the 10 s leeway: refused outright
    with pytest.raises(InvalidToken):
        verifier.verify(token)
    verifier._cache[token] = (OFFICER, time.time() - 11)  # as if verified while valid
    with pytest.raises(InvalidToken):
        verifier.verify(token)


def test_rs256_and_eddsa_with_a_public_key_and_no_algorithm_confusion() -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ed_key = ed25519.Ed25519PrivateKey.generate()
    claims = {**OFFICER.claims(), "iss": "damrong", "aud": "damrong", "exp": int(time.time()) + 60}
    for private, alg in ((rsa_key, "RS256"), (ed_key, "EdDSA")):
        pem = _pem(private.public_key())
        verifier = TokenVerifier(issuer="damrong", audience="damrong", public_key_pem=pem)
        assert verifier.verify(jwt.encode(claims, private, algorithm=alg)) == OFFICER
        # The public key used as an HMAC secret must not verify (PyJWT refuses to sign
        # with a PEM key, so build that token by hand).
        forged = jwt.api_jws.PyJWS(algorithms=["HS256"])
        with pytest.raises((InvalidToken, jwt.InvalidKeyError)):
            verifier.verify(
                forged.encode(
                    jwt.utils.force_bytes(jwt.api_jwt.json.dumps(claims)),
                    b"k" * 32,
                    algorithm="HS256",
                )
            )


@pytest.mark.parametrize(
    "settings",
    [
        Settings(),  # nothing configured
        Settings(auth_jwt_secret=SecretStr("short")),  # too short
        Settings(auth_jwt_secret=SecretStr(SECRET), auth_public_key="x"),  # both
        Settings(auth_public_key="not a pem"),
        Settings(auth_jwt_secret=SecretStr(SECRET), auth_api_keys={"abc": "line"}),
        Settings(auth_jwt_secret=SecretStr(SECRET), auth_api_keys={"a" * 64: "pigeon"}),
    ],
)
def test_unusable_configurations_refuse_to_start(settings: Settings) -> None:
    with pytest.raises(AuthNotConfigured):
        Authenticator.from_settings(settings)


def test_api_keys_map_to_their_channel() -> None:
    key, digest = new_api_key()
    keys = ApiKeys({digest: "line"})
    principal = keys.principal(key)
    assert principal is not None
    assert (principal.role, principal.channel) == (Role.channel, ChannelCode.line)
    assert digest[:12] in principal.subject and key not in principal.subject
    assert keys.principal(key + "x") is None


def test_authenticator_tells_missing_from_invalid() -> None:
    key, digest = new_api_key()
    auth = Authenticator.from_settings(
        Settings(auth_jwt_secret=SecretStr(SECRET), auth_api_keys={digest: "web"})
    )
    assert auth.authenticate(f"Bearer {_hs()}", None) == OFFICER
    assert auth.authenticate(None, key).channel is ChannelCode.web
    with pytest.raises(Unauthenticated) as missing:
        auth.authenticate(None, None)
    assert not missing.value.invalid
    for header, api_key in (
        (f"Basic {_hs()}", None),
        ("Bearer ", None),
        (None, "dmr_nope"),
        (f"Bearer {_hs()}", key),
    ):
        with pytest.raises(Unauthenticated) as bad:
            auth.authenticate(header, api_key)
        assert bad.value.invalid


async def test_a_service_without_key_material_refuses_to_start() -> None:
    from services.status.main import create_app

    app = create_app(
        Settings(auth_jwt_secret=None, auth_public_key=None, auth_public_key_file=None)
    )
    with pytest.raises(AuthNotConfigured, match="AUTH_JWT_SECRET"):
        async with app.router.lifespan_context(app):
            pass  # never reached: the check runs before any connection is opened
