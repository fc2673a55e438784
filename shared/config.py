"""Settings every service reads from the environment (one class, validated at start-up)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

EVENTS_TOPIC = "complaints.events"
DLQ_TOPIC = "complaints.events.dlq"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    database_url: str = "postgresql://postgres@127.0.0.1:5433/damrong"
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    # Apache Kafka supports the idempotent producer; the embedded broker does not.
    kafka_enable_idempotence: bool = False
    # The embedded broker is memory-only: each launch gets a fresh epoch, and a relay or
    # consumer that sees a new epoch re-feeds the broker / re-reads from the beginning.
    damrong_broker_epoch: str = ""
    events_topic: str = EVENTS_TOPIC
    dlq_topic: str = DLQ_TOPIC
    topic_partitions: int = Field(default=8, ge=1)
    topic_replication: int = Field(default=1, ge=1)
    # Short group timeouts keep joins fast on the embedded broker (see DESIGN.md §6).
    kafka_session_timeout_ms: int = 6000
    kafka_heartbeat_interval_ms: int = 1000
    host: str = "127.0.0.1"
    intake_port: int = 8001
    status_port: int = 8002
    kpi_port: int = 8003
    log_level: str = "info"
    db_pool_max: int = 10


@lru_cache
def get_settings() -> Settings:
    return Settings()
