"""`damrong audit verify` and `damrong audit replay`: the auditor's checks of the event log.

``verify`` re-walks every case's hash chain (``shared.chain``) from status's database, from
the topic, or both, and then compares the two copies event by event.  A topic record not
signed by its source's key (``shared.signed_records``) is a break of its own and counts
for nothing else, as for every consumer.  ``replay`` rebuilds
a district's cases from the topic alone and prints the report the live status service
answers at ``GET /v1/reports/cases`` (the same pure fold, ``domain.report``).  Both read
directly (database and broker credentials are the access control), never through the APIs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import sys
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from aiokafka.errors import KafkaError
from rich.console import Console

from damrong.cli.audit_output import (
    audit_objects,
    print_audit,
    print_json_lines,
    print_replay,
    replay_object,
)
from damrong.cli.local import local_servers
from damrong.cli.tokens import data_dir_of
from damrong.embedded.event_keys import reader_settings
from services.status.domain.report import CaseReport, case_report
from services.status.store import stored_links
from shared.chain import Break, Link, Verdict, compare_copies, verify_case
from shared.config import Settings
from shared.envelope_codec import DecodeError, from_record, link_from_record
from shared.events import Envelope
from shared.signed_records import (
    Forged,
    RecordVerifier,
    SigningNotConfigured,
    signature_of,
    verifier_from_settings,
)
from shared.topic_reader import TopicMissing, read_topic

STATUS_SCHEMA = "status"
T = TypeVar("T")
Key = tuple[uuid.UUID, int]


class Source(StrEnum):
    db = "db"
    kafka = "kafka"
    both = "both"


@dataclass
class Audit:
    """What ``verify`` found, per source."""

    verdicts: dict[str, Verdict] = field(default_factory=dict)
    undecodable: int = 0  # topic records that are not damrong events at all
    forged: list[Break] = field(default_factory=list)  # topic records not signed by source
    copies: list[Break] = field(default_factory=list)  # database vs topic

    @property
    def breaks(self) -> list[tuple[str, Break]]:
        found = [(where, b) for where, v in self.verdicts.items() for b in v.breaks]
        return found + [("topic", b) for b in self.forged] + [("db/topic", b) for b in self.copies]


async def db_links(settings: Settings, district: str | None) -> dict[Key, Link]:
    """Every event status stores (of the district's cases), as written."""
    conn = await asyncpg.connect(
        settings.database_url, server_settings={"search_path": STATUS_SCHEMA}
    )
    try:
        await conn.set_type_codec(
            "jsonb", schema="pg_catalog", encoder=json.dumps, decoder=json.loads
        )
        return await stored_links(conn, district)
    except asyncpg.UndefinedTableError:
        raise AuditFailed(f"no status tables in {_safe_dsn(settings)}") from None
    finally:
        await conn.close()


async def topic_links(settings: Settings, district: str | None, audit: Audit) -> dict[Key, Link]:
    """Every event of the topic (of the district's cases), as written; the first copy of
    a (case, version) counts, as for every consumer (delivery is at least once)."""
    verifier = _verifier(settings)
    links: dict[Key, Link] = {}
    wanted: set[uuid.UUID] = set()
    async for rec in read_topic(settings):
        try:
            link = link_from_record(rec.headers, rec.value)
            verifier.check_link(link, signature_of(rec.headers))
        except Forged as exc:
            if district is None or link.complaint_id in wanted:
                audit.forged.append(
                    Break(
                        link.complaint_id,
                        link.version,
                        "signature",
                        detail=f"offset {rec.partition}/{rec.offset}: {exc}",
                    )
                )
            continue
        except DecodeError:
            audit.undecodable += 1
            continue
        if district is not None:
            # A case's filing comes first in its partition: it decides the case's district.
            if link.version == 1 and link.data.get("district_code") == district:
                wanted.add(link.complaint_id)
            if link.complaint_id not in wanted:
                continue
        links.setdefault((link.complaint_id, link.version), link)
    return links


def _by_case(links: dict[Key, Link]) -> Verdict:
    cases: dict[uuid.UUID, list[Link]] = {}
    for link in links.values():
        cases.setdefault(link.complaint_id, []).append(link)
    verdict = Verdict()
    for case in cases.values():
        verdict.add(verify_case(case))
    return verdict


async def verify(settings: Settings, district: str | None, source: Source) -> Audit:
    audit = Audit()
    db = topic = None
    if source in (Source.db, Source.both):
        db = await db_links(settings, district)
        audit.verdicts["db"] = _by_case(db)
    if source in (Source.kafka, Source.both):
        topic = await topic_links(settings, district, audit)
        audit.verdicts["topic"] = _by_case(topic)
    if db is not None and topic is not None:
        audit.copies = compare_copies(db, topic)
    return audit


@dataclass(frozen=True, slots=True)
class Replay:
    report: CaseReport
    records: int
    undecodable: int
    forged: int  # not signed by their source's key: skipped, as every consumer does


async def replay(settings: Settings, district: str, date_from: dt.date, date_to: dt.date) -> Replay:
    """The district's cases received in the period, from the topic alone."""
    verifier = _verifier(settings)
    cases: dict[uuid.UUID, dict[int, Envelope]] = {}
    records = undecodable = forged = 0
    async for rec in read_topic(settings):
        records += 1
        try:
            verifier.check(rec.headers, rec.value)
            env = from_record(rec.headers, rec.value)
        except Forged:
            forged += 1
            continue
        except DecodeError:
            undecodable += 1
            continue
        cases.setdefault(env.complaint_id, {}).setdefault(env.version, env)
    streams = [[versions[v] for v in sorted(versions)] for versions in cases.values()]
    return Replay(case_report(streams, district, date_from, date_to), records, undecodable, forged)


class AuditFailed(Exception):
    """The audit could not run (no database, no topic...): said plainly, exit code 2."""


def _verifier(settings: Settings) -> RecordVerifier:
    try:
        return verifier_from_settings(settings)
    except SigningNotConfigured as exc:
        raise AuditFailed(f"{exc} (a local platform's: --data-dir)") from None


def _safe_dsn(settings: Settings) -> str:
    """The database URL without its password, for messages."""
    dsn = settings.database_url
    if "@" in dsn and "://" in dsn:
        scheme, rest = dsn.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}@{host}"
    return dsn


# -- the commands ---------------------------------------------------------------------


def settings_for(
    database_url: str | None, bootstrap: str | None, topic: str | None, data_dir: Path | None = None
) -> Settings:
    """The configured settings, with the command line's servers and topic if given, and
    the local platform's event public keys unless EVENT_PUBLIC_KEYS is set."""
    overrides: dict[str, Any] = local_servers(os.environ)
    overrides.update(
        {
            k: v
            for k, v in (
                ("database_url", database_url),
                ("kafka_bootstrap_servers", bootstrap),
                ("events_topic", topic),
            )
            if v
        }
    )
    overrides.update(reader_settings(os.environ, data_dir_of(data_dir)))
    return Settings(**overrides)


def _run(work: Coroutine[Any, Any, T]) -> T:
    """``work``'s result, or exit code 2 with a readable message (on standard error, so
    that --json output stays parseable) when a server is away."""
    # aiokafka logs every failed connection attempt: the one message below says it.
    logging.getLogger("aiokafka").addHandler(logging.NullHandler())
    try:
        return asyncio.run(work)
    except (AuditFailed, TopicMissing) as exc:
        message = str(exc)
    except (OSError, asyncpg.PostgresError, KafkaError) as exc:
        message = f"cannot read the event log: {type(exc).__name__}: {exc}"
    Console(stderr=True).print(message, style="red", markup=False, highlight=False, soft_wrap=True)
    raise SystemExit(2)


def run_verify(
    settings: Settings, district: str | None, source: Source, *, as_json: bool = False
) -> int:
    """Print the audit (as JSON Lines with ``as_json``); the exit code: 1 on any break,
    else 0."""
    audit = _run(verify(settings, district, source))
    if as_json:
        print_json_lines(audit_objects(audit), sys.stdout)
    else:
        print_audit(audit, Console())
    return 1 if audit.breaks else 0


def run_replay(
    settings: Settings, district: str, date_from: dt.date, date_to: dt.date, *, as_json: bool
) -> int:
    """Print the replayed report (one JSON line with ``as_json``); the exit code: 1 if
    some case's events do not fold, else 0."""
    result = _run(replay(settings, district, date_from, date_to))
    if as_json:
        print_json_lines(iter([replay_object(result)]), sys.stdout)
    else:
        print_replay(result, Console())
    return 1 if result.report.inconsistent else 0
