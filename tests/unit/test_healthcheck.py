"""The image's health check against local HTTP servers answering /healthz."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from shared.healthcheck import main


@contextmanager
def serving(status: int) -> Iterator[int]:
    """A server on a free loopback port answering ``status`` on /healthz (404 elsewhere)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status if self.path == "/healthz" else 404)
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_healthy_when_the_service_answers_200() -> None:
    with serving(200) as port:
        assert main([str(port)]) == 0


def test_unhealthy_when_the_service_answers_503_or_nothing_listens() -> None:
    with serving(503) as port:
        assert main([str(port)]) == 1
    assert main([str(closed_port())]) == 1


def test_healthy_when_the_one_service_running_among_the_ports_answers_200() -> None:
    with serving(200) as port:
        assert main([str(closed_port()), str(port)]) == 0


def test_without_arguments_it_asks_the_configured_service_ports(monkeypatch) -> None:
    with serving(200) as port:
        monkeypatch.setenv("KPI_PORT", str(port))
        monkeypatch.setenv("INTAKE_PORT", str(closed_port()))
        monkeypatch.setenv("STATUS_PORT", str(closed_port()))
        monkeypatch.setenv("CONSOLE_PORT", str(closed_port()))
        assert main([]) == 0
        monkeypatch.setenv("KPI_PORT", str(closed_port()))
        assert main([]) == 1
        monkeypatch.setenv("CONSOLE_PORT", str(port))  # the console's container
        assert main([]) == 0
