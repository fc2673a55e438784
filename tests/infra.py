"""Start (or point at) the test infrastructure: the embedded servers, or external ones.

``DATABASE_URL`` / ``KAFKA_BOOTSTRAP_SERVERS``, when set, name servers to use instead.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from shared.embedded._proc import free_port


@contextlib.contextmanager
def database_url() -> Iterator[str]:
    """A PostgreSQL server for the duration: ``DATABASE_URL``'s, or an embedded one."""
    if url := os.environ.get("DATABASE_URL"):
        yield url
        return
    from shared.embedded.postgres import EmbeddedPostgres

    with tempfile.TemporaryDirectory(prefix="damrong-pg-") as tmp:
        with EmbeddedPostgres(Path(tmp) / "pg", free_port(), log_file=Path(tmp) / "pg.log") as pg:
            yield pg.url


@contextlib.contextmanager
def kafka_bootstrap() -> Iterator[str]:
    """A Kafka-protocol broker for the duration: ``KAFKA_BOOTSTRAP_SERVERS``, or embedded."""
    if servers := os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield servers
        return
    from shared.embedded.broker import EmbeddedBroker

    with tempfile.TemporaryDirectory(prefix="damrong-kafka-") as tmp:
        with EmbeddedBroker(free_port(), log_file=Path(tmp) / "broker.log") as broker:
            yield broker.bootstrap


@contextlib.contextmanager
def start_infra() -> Iterator[dict[str, str]]:
    with database_url() as db, kafka_bootstrap() as kafka:
        yield {"database_url": db, "kafka_bootstrap": kafka}
