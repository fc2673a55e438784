"""Schema evolution: case.forwarded v1 records (written before v2) read exactly as v2 ones,
on every read path: the codec (status and kpi consumers), the kpi fast rebuild's hand
decoder, and the folds behind the case state and the KPI figures."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import orjson

from services.kpi.domain import cases as kpi
from services.kpi.rebuild.bulk import _decode
from services.status.domain import fold
from shared.chain import compute_hash, env_head, seal
from shared.envelope_codec import from_record, link_from_record, to_record
from shared.events import CaseForwarded, Envelope
from shared.signed_records import RecordVerifier
from tests.signing import PUBLIC_KEYS, sign
from tests.unit.kpi import scenario

Record = tuple[bytes, list[tuple[str, bytes]], bytes]


def as_v1_record(env: Envelope) -> Record:
    """``env`` (a v2 forwarding) as v1 wrote it: v1 type and payload, its own hash."""
    assert isinstance(env.data, CaseForwarded)
    key, headers, _value = to_record(env)
    value = orjson.dumps(
        {
            "actor": env.data.actor,
            "note": env.data.note,
            "agency": env.data.agency,
            "due_date": env.data.due_date,
        }
    )
    hdrs = dict(headers)
    hdrs["ce_type"] = b"th.go.dopa.damrong.case.forwarded.v1"
    link = link_from_record(list(hdrs.items()), value)
    hdrs["ce_hash"] = compute_hash(dataclasses.replace(link, hash=None)).encode()
    return key, list(hdrs.items()), value


def _cases() -> list[list[Envelope]]:
    """The KPI scenario's cases, chained, their forwardings as ``reply_due`` v1 can carry
    (no agency code), so that v1 loses nothing of them."""
    out = []
    for events in scenario.build().values():
        chained: list[Envelope] = []
        for env in events:
            chained.append(seal(env, env_head(chained[-1]) if chained else "0" * 64))
        out.append(chained)
    return out


def _records(cases: list[list[Envelope]], mixed: bool) -> list[list[Record]]:
    return [
        [
            as_v1_record(e) if mixed and isinstance(e.data, CaseForwarded) else to_record(e)
            for e in case
        ]
        for case in cases
    ]


def _without_hashes(envs: list[Envelope]) -> list[dict[str, Any]]:
    return [e.model_dump(exclude={"hash", "prev_hash"}) for e in envs]


def test_v1_and_v2_records_fold_to_the_same_case_and_kpi_state() -> None:
    cases = _cases()
    v2, mixed = _records(cases, False), _records(cases, True)
    assert (
        sum(r[1] != s[1] for a, b in zip(v2, mixed, strict=True) for r, s in zip(a, b, strict=True))
        >= 1
    )  # a v1 one
    for v2_case, mixed_case in zip(v2, mixed, strict=True):
        v2_envs = [from_record(h, v) for _k, h, v in v2_case]
        mixed_envs = [from_record(h, v) for _k, h, v in mixed_case]
        assert _without_hashes(mixed_envs) == _without_hashes(v2_envs)
        assert fold(mixed_envs) == fold(v2_envs)
        # The kpi fast rebuild's hand decoder: the same facts and the same stored payloads.
        verifier = RecordVerifier(PUBLIC_KEYS)
        v2_facts = [_decode(sign(h, v), v, verifier) for _k, h, v in v2_case]
        assert [_decode(sign(h, v), v, verifier) for _k, h, v in mixed_case] == v2_facts
        assert kpi.catch_up(None, [f for f, _ in v2_facts]) == kpi.catch_up(
            None,
            [
                kpi.Fact(e.complaint_id, e.version, e.occurred_at, e.recorded_at, e.data)
                for e in mixed_envs
            ],
        )


def test_the_v1_days_are_counted_from_the_forwarding_date_in_bangkok() -> None:
    env = next(e for case in _cases() for e in case if isinstance(e.data, CaseForwarded))
    late = env.model_copy(update={"occurred_at": dt.datetime(2026, 1, 1, 18, 0, tzinfo=dt.UTC)})
    _key, headers, value = as_v1_record(late)
    data = from_record(headers, value).data
    assert isinstance(data, CaseForwarded) and data.agency_code is None
    assert data.reply_due.days == (data.reply_due.date - dt.date(2026, 1, 2)).days
