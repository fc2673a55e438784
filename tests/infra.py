"""Start (or point at) the test infrastructure: the embedded servers, or external ones."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def start_infra() -> Iterator[dict[str, str]]:
    db = os.environ.get("DATABASE_URL")
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if db and kafka:
        yield {"database_url": db, "kafka_bootstrap": kafka}
        return
    from shared.embedded._proc import free_port
    from shared.embedded.broker import EmbeddedBroker
    from shared.embedded.postgres import EmbeddedPostgres

    with tempfile.TemporaryDirectory(prefix="damrong-test-") as tmp:
        pg = EmbeddedPostgres(Path(tmp) / "pg", free_port(), log_file=Path(tmp) / "pg.log")
        broker = EmbeddedBroker(free_port(), log_file=Path(tmp) / "broker.log")
        pg.start_sync()
        try:
            broker.start_sync()
            try:
                yield {"database_url": pg.url, "kafka_bootstrap": broker.bootstrap}
            finally:
                broker.stop_sync()
        finally:
            pg.stop_sync()
