"""Each case's events form a hash chain: the pure core of sealing and verifying it.

Every event carries ``prev_hash``, the hash of the case's previous event (``GENESIS`` for
version 1, its ``ComplaintFiled``), and ``hash``, SHA-256 (hex) of its canonical form:
the envelope's fields and the payload *as written* (schema version and all, never an
upcast view) as JSON with sorted keys, no whitespace, UTF-8, envelope times in one fixed
UTC format.  Editing, deleting, inserting or reordering any stored event therefore breaks
the chain at that event, and ``verify`` says where.

Events stored before chaining existed carry neither hash: they are *unchained*.  They
are reported apart, not as breaks, and the event following one chains onto the hash it
would have had (``head``), so new history still protects the old.

No I/O: the stores and the topic reader turn their rows and records into ``Link``s.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from shared import canonical_json
from shared.events import Envelope

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class Link:
    """One event as written: what its hash covers, plus its stored hashes."""

    complaint_id: uuid.UUID
    version: int
    event_id: uuid.UUID
    source: str
    type: str  # the CloudEvents type, with the schema version it was written in
    occurred_at: dt.datetime
    recorded_at: dt.datetime
    correlation_id: str | None
    data: Mapping[str, Any]  # the JSON payload as written, without "kind"
    prev_hash: str | None
    hash: str | None


def utc_text(moment: dt.datetime) -> str:
    """The one format of a time in the canonical form: UTC, microseconds, ``Z``
    (``%Y-%m-%dT%H:%M:%S.%fZ``)."""
    if moment.tzinfo is None:
        raise ValueError(f"naive time {moment.isoformat()} in an event")
    # The same text as strftime, in a fifth of the time: every record read formats two
    # (tests/unit/test_chain.py holds them equal).  A record's times are read in UTC.
    if moment.tzinfo is dt.UTC and moment.year >= 1000:
        return moment.isoformat(timespec="microseconds")[:-6] + "Z"
    utc = moment.astimezone(dt.UTC)
    if utc.year < 1000:  # isoformat pads the year to four digits, strftime does not
        return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def canonical(link: Link) -> bytes:
    """The bytes ``link``'s hash is taken of (its own ``hash`` excluded)."""
    return canonical_json.dumps(canonical_doc(link))


def canonical_doc(link: Link) -> dict[str, Any]:
    """What the canonical form holds: the envelope's fields and the payload as written."""
    return {
        "id": str(link.event_id),
        "source": link.source,
        "type": link.type,
        "subject": str(link.complaint_id),
        "time": utc_text(link.occurred_at),
        "recordedtime": utc_text(link.recorded_at),
        "version": link.version,
        "correlationid": link.correlation_id,
        "prevhash": link.prev_hash,
        "data": link.data,
    }


def compute_hash(link: Link) -> str:
    return hashlib.sha256(canonical(link)).hexdigest()


def head(link: Link) -> str:
    """What the next event's ``prev_hash`` must be: the stored hash, or for an unchained
    event the hash it would have had."""
    return link.hash if link.hash is not None else compute_hash(link)


def link_of(env: Envelope) -> Link:
    """``env`` as a ``Link``.  Only for an envelope in the schema it is written in (one
    just made, or of a kind never upcast): a link of an upcast event would not verify."""
    return _link(env, written(env), env.prev_hash, env.hash)


def written(env: Envelope) -> dict[str, Any]:
    """``env``'s payload as written (see ``link_of``): what the record's value holds."""
    return env.data.model_dump(mode="json", exclude={"kind"})


def _link(env: Envelope, data: Mapping[str, Any], prev_hash: str | None, hash: str | None) -> Link:
    return Link(
        complaint_id=env.complaint_id,
        version=env.version,
        event_id=env.event_id,
        source=env.source,
        type=env.type,
        occurred_at=env.occurred_at,
        recorded_at=env.recorded_at,
        correlation_id=env.correlation_id,
        data=data,
        prev_hash=prev_hash,
        hash=hash,
    )


def sealed_hash(env: Envelope, prev_hash: str, data: Mapping[str, Any] | None = None) -> str:
    """The hash ``env`` has once chained onto ``prev_hash``; ``data`` is its payload as
    written (``written``) when the caller already has it."""
    return compute_hash(_link(env, written(env) if data is None else data, prev_hash, None))


def seal(env: Envelope, prev_hash: str) -> Envelope:
    """``env`` chained onto ``prev_hash``: with it and with its own hash."""
    return env.model_copy(update={"prev_hash": prev_hash, "hash": sealed_hash(env, prev_hash)})


def env_head(env: Envelope) -> str:
    """``head`` of an envelope in its written schema (see ``link_of``)."""
    return env.hash if env.hash is not None else compute_hash(link_of(env))


# -- verifying ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Break:
    """One place where a chain does not hold: the case, the version, what is wrong."""

    complaint_id: uuid.UUID
    version: int
    problem: str  # "altered", "link", "missing", "copies differ", ...
    expected: str | None = None
    found: str | None = None
    detail: str = ""


@dataclass(slots=True)
class Verdict:
    """What verifying some cases found."""

    cases: int = 0
    events: int = 0
    breaks: list[Break] = field(default_factory=list)
    unchained: list[tuple[uuid.UUID, int]] = field(default_factory=list)

    def add(self, other: Verdict) -> None:
        self.cases += other.cases
        self.events += other.events
        self.breaks += other.breaks
        self.unchained += other.unchained


def verify_case(links: Iterable[Link]) -> Verdict:
    """Check one case's events (any order): versions 1..n without gaps, each event's hash
    recomputes, each ``prev_hash`` is the previous event's ``head`` (``GENESIS`` first)."""
    ordered = sorted(links, key=lambda lk: lk.version)
    verdict = Verdict(cases=1 if ordered else 0, events=len(ordered))
    previous: Link | None = None
    for link in ordered:
        cid, want = link.complaint_id, 1 if previous is None else previous.version + 1
        if link.version == want - 1:  # the same version twice in one copy
            verdict.breaks.append(
                Break(cid, link.version, "duplicate", detail="two events with this version")
            )
            continue
        for missing in range(want, link.version):
            verdict.breaks.append(Break(cid, missing, "missing", detail="no event"))
        recomputed = compute_hash(link)
        if link.hash is None:
            verdict.unchained.append((cid, link.version))
        elif link.hash != recomputed:
            verdict.breaks.append(
                Break(
                    cid,
                    link.version,
                    "altered",
                    expected=link.hash,
                    found=recomputed,
                    detail="the content does not match its hash",
                )
            )
        expected_prev = GENESIS if previous is None else head(previous)
        if link.prev_hash is not None and link.prev_hash != expected_prev:
            verdict.breaks.append(
                Break(
                    cid,
                    link.version,
                    "link",
                    expected=expected_prev,
                    found=link.prev_hash,
                    detail="prev_hash is not the hash of the event before it",
                )
            )
        previous = link
    return verdict


def differences(a: Link, b: Link) -> list[str]:
    """The names of the fields in which two copies of one event differ."""
    return [f.name for f in fields(Link) if getattr(a, f.name) != getattr(b, f.name)]


def compare_copies(
    db: Mapping[tuple[uuid.UUID, int], Link], topic: Mapping[tuple[uuid.UUID, int], Link]
) -> list[Break]:
    """Each event present in one copy only, or differing between the two, as a break."""
    out: list[Break] = []
    for key in sorted(db.keys() | topic.keys(), key=lambda k: (str(k[0]), k[1])):
        a, b = db.get(key), topic.get(key)
        if a is None or b is None:
            where = "database" if a is None else "topic"
            out.append(Break(key[0], key[1], "copies differ", detail=f"not in the {where}"))
        elif diff := differences(a, b):
            out.append(
                Break(
                    key[0],
                    key[1],
                    "copies differ",
                    expected=str(getattr(a, diff[0])),
                    found=str(getattr(b, diff[0])),
                    detail="differs in " + ", ".join(diff),
                )
            )
    return out
