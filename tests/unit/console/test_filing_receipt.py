"""The receipt's tracking secret travels once in an encrypted cookie: readable only for its
complaint and officer, only fresh, and junk or tampered cookies read as nothing."""

from __future__ import annotations

import uuid
from http.cookies import SimpleCookie
from types import SimpleNamespace

from cryptography.fernet import Fernet
from fastapi import Request, Response
from pydantic import SecretStr

from services.console.filing import receipt

KEY = Fernet.generate_key().decode()
CID = uuid.uuid4()


def request(cookie: str | None = None, key: str = KEY) -> Request:
    settings = SimpleNamespace(console_session_key=SecretStr(key), secure_cookies=True)
    app = SimpleNamespace(state=SimpleNamespace(settings=settings))
    headers = [] if cookie is None else [(b"cookie", f"{receipt.COOKIE}={cookie}".encode())]
    return Request({"type": "http", "headers": headers, "app": app, "method": "GET"})


def kept(secret: str = "ABCD-EFGH-JKLM-NPQR", subject: str = "officer-1") -> tuple[str, str]:
    """The cookie's value and its whole Set-Cookie header."""
    response = Response()
    receipt.keep(request(), response, str(CID), secret, subject)
    header = response.headers["set-cookie"]
    jar: SimpleCookie = SimpleCookie()
    jar.load(header)
    return jar[receipt.COOKIE].value, header


def test_the_secret_is_read_back_for_its_complaint_and_officer_only() -> None:
    value, header = kept()
    assert "ABCD" not in value  # encrypted, not merely encoded
    for attribute in ("HttpOnly", "Secure", "SameSite=strict", "Path=/complaints/new"):
        assert attribute.lower() in header.lower(), attribute
    assert f"Max-Age={receipt.RECEIPT_TTL_S}" in header
    assert receipt.take(request(value), CID, "officer-1") == "ABCD-EFGH-JKLM-NPQR"
    assert receipt.take(request(value), uuid.uuid4(), "officer-1") is None
    assert receipt.take(request(value), CID, "officer-2") is None


def test_a_cookie_under_another_key_or_the_session_key_itself_reads_as_nothing() -> None:
    value, _ = kept()
    assert (
        receipt.take(request(value, key=Fernet.generate_key().decode()), CID, "officer-1") is None
    )
    # Sealed with the session key as such (not the derived one): not a receipt.
    forged = (
        Fernet(KEY.encode())
        .encrypt(f'{{"c": "{CID}", "s": "X", "u": "officer-1"}}'.encode())
        .decode()
    )
    assert receipt.take(request(forged), CID, "officer-1") is None


def test_junk_cookies_read_as_nothing() -> None:
    value, _ = kept()
    tampered = value[:-5] + ("A" if value[-5] != "A" else "B") + value[-4:]
    for junk in ("", "x", tampered, value * 10, "%00%ff", "ไทย", "A" * 100_000):
        assert receipt.take(request(junk), CID, "officer-1") is None, junk[:20]
    assert receipt.take(request(None), CID, "officer-1") is None


def test_a_sealed_body_of_the_wrong_shape_reads_as_nothing() -> None:
    derived = receipt._fernet(request())
    for body in (
        b"[]",
        b"null",
        b"{}",
        b'{"c": "%s", "s": 7, "u": "officer-1"}' % str(CID).encode(),
    ):
        token = derived.encrypt(body).decode()
        assert receipt.take(request(token), CID, "officer-1") is None, body
    assert receipt.take(request(derived.encrypt(b"\xff\xfe").decode()), CID, "officer-1") is None


def test_dropping_deletes_the_cookie_only_when_sent() -> None:
    value, _ = kept()
    response = Response()
    receipt.drop(request(value), response)
    assert 'damrong_receipt=""' in response.headers["set-cookie"]
    assert "Max-Age=0" in response.headers["set-cookie"]
    quiet = Response()
    receipt.drop(request(), quiet)
    assert "set-cookie" not in quiet.headers
