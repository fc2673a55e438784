"""The recording server under the HTTP fakes: it records every request, answers scripted
failures before its owner's protocol, and never fails on what a client sends."""

from __future__ import annotations

import socket

import httpx

from tests.fakes.recording_http import Answer, RecordingServer, Request


def _server(seen: list[Request]) -> RecordingServer:
    def respond(request: Request) -> Answer:
        seen.append(request)
        return Answer(201, {"ok": True}, {"x-fake": "yes"})

    def error(status: int, reason: str) -> Answer:
        return Answer(status, {"reason": reason})

    return RecordingServer(respond, paths={"/in"}, error=error)


def test_requests_are_recorded_with_the_answer_given() -> None:
    seen: list[Request] = []
    with _server(seen) as server:
        answer = httpx.post(server.base_url + "/in", json={"a": "ก"}, headers={"X-Key": "k"})
        assert answer.status_code == 201 and answer.json() == {"ok": True}
        assert answer.headers["x-fake"] == "yes"
        [exchange] = server.exchanges
    assert exchange.request.method == "POST" and exchange.request.path == "/in"
    assert exchange.request.json == {"a": "ก"} and exchange.request.headers["x-key"] == "k"
    assert exchange.status == 201 and seen == [exchange.request]


def test_unknown_paths_and_scripted_failures_come_before_the_protocol() -> None:
    seen: list[Request] = []
    with _server(seen) as server:
        server.fail_next(503, times=2)
        assert httpx.get(server.base_url + "/elsewhere").json() == {"reason": "Not found"}
        statuses = [httpx.post(server.base_url + "/in", json={}).status_code for _ in range(3)]
        exchanges = server.exchanges
    assert statuses == [503, 503, 201]
    assert [e.status for e in exchanges] == [404, 503, 503, 201]
    assert len(seen) == 1  # the protocol saw only the request nothing pre-empted


def test_hostile_bodies_are_recorded_not_fatal() -> None:
    bodies = [
        b"{not json",
        '{"a": "ก"}'.encode("cp874"),  # Thai in TIS-620, not UTF-8
        b"\xff\xfe\x00garbage",
        b"[" * 100_000 + b"]" * 100_000,  # nested deeper than the decoder goes
        b'{"big": "' + b"x" * 5_000_000 + b'"}',
    ]
    seen: list[Request] = []
    with _server(seen) as server:
        for body in bodies:
            assert httpx.post(server.base_url + "/in", content=body).status_code == 201
        exchanges = server.exchanges
    assert [e.request.body for e in exchanges] == bodies
    assert [e.request.json is None for e in exchanges] == [True, True, True, True, False]


def test_a_malformed_content_length_is_answered() -> None:
    with _server([]) as server:
        with socket.create_connection((server.host, server.port), timeout=5) as conn:
            conn.sendall(b"POST /in HTTP/1.1\r\nHost: x\r\nContent-Length: lots\r\n\r\n")
            head = conn.recv(1024)
        [exchange] = server.exchanges
    assert head.startswith(b"HTTP/1.1 201") and exchange.request.body == b""
