"""Settings every service reads from the environment (one class, validated at start-up)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

EVENTS_TOPIC = "complaints.events"
DLQ_TOPIC = "complaints.events.dlq"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    database_url: str = "postgresql://postgres@127.0.0.1:5433/damrong"
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    # Apache Kafka supports the idempotent producer; the embedded broker does not.
    kafka_enable_idempotence: bool = False
    events_topic: str = EVENTS_TOPIC
    dlq_topic: str = DLQ_TOPIC
    topic_partitions: int = Field(default=8, ge=1)
    topic_replication: int = Field(default=1, ge=1)
    # Short group timeouts keep joins fast on the embedded broker (see ARCHITECTURE.md §8).
    kafka_session_timeout_ms: int = 6000
    kafka_heartbeat_interval_ms: int = 1000
    # Consumer groups are "<prefix>-status" and "<prefix>-kpi".  Another deployment (or a
    # test) on the same Kafka cluster needs a prefix of its own, or it joins these groups.
    # A changed prefix starts from the stored offsets' absence: events are re-read from
    # the beginning and skipped as already applied.
    consumer_group_prefix: str = Field(default="damrong", min_length=1)
    host: str = "127.0.0.1"
    intake_port: int = 8001
    status_port: int = 8002
    kpi_port: int = 8003
    # kpi keeps this many report answers, each for the state of the projection it was
    # computed at (services/kpi/reports/answers.py); 0 computes every answer afresh.
    kpi_answer_cache: int = Field(default=256, ge=0)
    log_level: str = "info"
    db_pool_max: int = 10
    # Rows of a register parsed per task and written per statement by an import (unset:
    # services/intake/backfill/usecases.CHUNK); smaller makes progress finer, not faster.
    import_chunk_rows: int | None = Field(default=None, ge=1)
    # Imports filing at once in one intake process; the others wait their turn (running,
    # no rows done yet).  Each filing runs worker processes of its own (about 175 MB each,
    # measured), so on backfill day this keeps a replica within its memory limit.
    import_filings_at_once: int = Field(default=1, ge=1)
    # Larger request bodies get 413 (register uploads have their own, larger limit).
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # Authentication (shared/auth): bearer JWTs signed with exactly one of a shared secret
    # (HS256) or an identity provider's public key (PEM text, or a file holding it), and
    # channel systems' API keys as {"<sha256 hex of the key>": "<channel code>"}.  With no
    # token key a service refuses to start: there is no open mode.
    auth_issuer: str = "damrong"
    auth_audience: str = "damrong"
    auth_jwt_secret: SecretStr | None = None
    auth_public_key: str | None = None
    auth_public_key_file: Path | None = None
    auth_api_keys: dict[str, str] = Field(default_factory=dict)
    # Personal data (intake only; services/intake/pii): base64 of 32 random bytes each.
    # The master key wraps every complainant's data key; retired master keys (a JSON list)
    # still open keys wrapped before a rotation.  The hash key keys the request hash and
    # import row identities; it is never erased.  Intake refuses to start without them.
    pii_master_key: SecretStr | None = None
    pii_retired_master_keys: list[SecretStr] = Field(default_factory=list)
    pii_hash_key: SecretStr | None = None
    # Signed events (shared/signed_records): a publishing service's (intake, status)
    # Ed25519 private key, and every source's public key as JSON {"<source>": "<key>"},
    # both base64 of 32 raw bytes.  Publishing without the one or consuming without the
    # other refuses to start; a record not signed by its source's key is dead-lettered.
    event_signing_key: SecretStr | None = None
    event_public_keys: dict[str, str] = Field(default_factory=dict)
    # Feedback links (shared/feedback_links): the HS256 secret of the tokens a complainant
    # gets when a case closes (at least 32 bytes; status verifies them, whoever sends the
    # links issues them; a shorter one refuses to start).  Without it the feedback endpoints
    # answer 503.
    feedback_link_secret: SecretStr | None = Field(default=None, min_length=32)

    def consumer_group(self, service: str) -> str:
        """The Kafka consumer group of ``service`` (its offsets are kept under this id)."""
        return f"{self.consumer_group_prefix}-{service}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
