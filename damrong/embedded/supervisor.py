"""`damrong up`: start the platform, print the URLs, stop everything cleanly on SIGINT/SIGTERM.

Signals are handled explicitly: a Python process killed by an unhandled SIGTERM skips its cleanup,
and orphaned children would keep the ports (ARCHITECTURE.md §8).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import structlog
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from damrong.embedded._proc import tail
from damrong.embedded.auth_secret import admin_principal
from damrong.embedded.instance import AlreadyRunning
from damrong.embedded.platform import Platform
from services.console.links import make_link

log = structlog.get_logger()

WATCH_INTERVAL_S = 0.5


def redact_url(url: str) -> str:
    """Hide a password in a connection URL before printing it."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def print_summary(platform: Platform, console: Console) -> None:
    table = Table(title="damrong is up", show_header=False, title_justify="left")
    for name, url in platform.urls.items():
        table.add_row(name, url)
    table.add_row("database", redact_url(platform.database_url))
    kafka = platform.kafka_bootstrap
    if platform.broker_epoch:
        kafka += f"  (embedded, cluster id {platform.broker_epoch})"
    table.add_row("kafka", kafka)
    table.add_row("logs", str(platform.log_dir))
    console.print(table)
    token = platform.admin_token()
    if token is None:
        console.print("Tokens come from your identity provider (AUTH_PUBLIC_KEY is set).")
    else:
        # The one admin token, valid 24 h; `damrong token` issues more (any role).
        console.print("Admin token (24 h; more with `damrong token`):")
        console.print(token, markup=False, highlight=False, soft_wrap=True)
        if "console" in platform.service_names:
            link = make_link(
                admin_principal(),
                secret=str(platform.auth_secret),
                base_url=platform.url("console"),
                now=dt.datetime.now(dt.UTC),
            )
            console.print(
                "Console sign-in link for the admin (works once, 15 min; more with "
                "`damrong login-link`):"
            )
            console.print(link, markup=False, highlight=False, soft_wrap=True)
    console.print("Press Ctrl-C to stop.")


async def _demo_then_keep_running(platform: Platform, complaints: int) -> None:
    try:
        from damrong.cli.demo import run_demo_async  # imported only when a demo is asked for

        await run_demo_async(
            platform.url("intake"), platform.url("status"), complaints, token=platform.admin_token()
        )
    except Exception as exc:  # noqa: BLE001 (whatever the demo hit, the platform stays up)
        # The platform stays up: the user can still look at what the demo did create.
        # Message only, shortened: a response body echoed into it must not flood the log.
        log.error("demo failed", error_type=type(exc).__name__, error=str(exc)[:300])


async def _watch(platform: Platform, stop: asyncio.Event, console: Console) -> int:
    """Wait for a signal (exit 0) or an unexpected child death (exit 1)."""
    while True:
        try:
            await asyncio.wait_for(stop.wait(), WATCH_INTERVAL_S)
            return 0
        except TimeoutError:
            pass
        dead = platform.dead_children()
        if dead:
            for name, code in dead:
                log.error("child exited unexpectedly, shutting down", child=name, exit_code=code)
                console.print(f"[red]{name} exited with {code}; last log lines:[/red]")
                console.print(tail(platform.log_file(name)), markup=False, highlight=False)
            return 1


async def run_platform(
    *,
    demo: int | None = None,
    health_timeout: float = 60.0,
    data_dir: Path | None = None,
    console: Console | None = None,
) -> int:
    """Run until SIGINT/SIGTERM (returns 0) or until a child dies or start-up fails (returns 1).

    Returns 2 at once, without touching anything, when another launcher runs on the data dir.
    """
    console = console or Console()
    platform = Platform(data_dir, health_timeout=health_timeout)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def on_signal(sig: signal.Signals) -> None:
        log.info("signal received, stopping", signal=sig.name)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig)
    demo_task: asyncio.Task[None] | None = None
    try:
        starting = asyncio.create_task(platform.start())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not starting.done():
            starting.cancel()  # start() stops whatever it had started
            await asyncio.gather(starting, return_exceptions=True)
            return 0
        error = starting.exception()
        if isinstance(error, AlreadyRunning):
            log.error("already running on this data dir", pid=error.pid)
            console.print(f"[red]not started:[/red] {escape(str(error))}")
            return 2
        if error is not None:
            log.error("start-up failed", error_type=type(error).__name__)
            console.print(f"[red]start-up failed:[/red] {escape(str(error))}")
            return 1
        print_summary(platform, console)
        if demo:
            demo_task = asyncio.create_task(_demo_then_keep_running(platform, demo))
        return await _watch(platform, stop, console)
    finally:
        if demo_task is not None and not demo_task.done():
            demo_task.cancel()
        await platform.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        log.info("stopped")
