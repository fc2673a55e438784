"""Commands beside `damrong up` find its servers on the ports it was given."""

from __future__ import annotations

from damrong.cli.local import local_servers


def test_embedded_ports_unless_the_servers_are_configured() -> None:
    assert local_servers({}) == {
        "database_url": "postgresql://postgres@127.0.0.1:5433/damrong",
        "kafka_bootstrap_servers": "127.0.0.1:9092",
    }
    assert local_servers({"DAMRONG_PG_PORT": "55433", "DAMRONG_KAFKA_PORT": "59092"}) == {
        "database_url": "postgresql://postgres@127.0.0.1:55433/damrong",
        "kafka_bootstrap_servers": "127.0.0.1:59092",
    }
    assert (
        local_servers({"DATABASE_URL": "postgresql://db/x", "KAFKA_BOOTSTRAP_SERVERS": "k:9092"})
        == {}
    )
