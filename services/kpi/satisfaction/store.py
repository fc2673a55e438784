"""The satisfaction counts in SQL over kpi's event log: per district, its closures and
what followed each (``domain.satisfaction`` says what they mean and is the reference
these queries are tested against).

The cases are those of the scope (fiscal year of filing, province, district, channel,
category); their events count up to the case's applied version (as the live projection),
effective before the cut and recorded by ``known_at``.  Each closure meets its answers
and its case's reopenings by joins over grouped rows (linear), never by a subquery per
closure (which scanned every event again for each: 3.5 s for 60,000 cases).
"""

from __future__ import annotations

from services.kpi.domain.asof import Scope
from services.kpi.domain.satisfaction import CLOSED, DISPUTED, RATED, REOPENED, Counts
from services.kpi.reports.store import Sql
from shared.dbtypes import Reads


async def counts(db: Reads, scope: Scope) -> list[Counts]:
    """Per district of ``scope`` with at least one closure: closures, ratings by score,
    closures disputed, closures reopened."""
    q = Sql().filters(scope, alias="c")
    q.where("e.version <= c.applied_version")
    if scope.cut is not None:
        q.where(f"e.occurred_at < {q.p(scope.cut)}")
    if scope.known_at is not None:
        q.where(f"e.recorded_at <= {q.p(scope.known_at)}")
    kinds = q.p([CLOSED, RATED, DISPUTED, REOPENED])
    closed, rated, disputed, reopened = (q.p(k) for k in (CLOSED, RATED, DISPUTED, REOPENED))
    rows = await db.fetch(
        f"""
        WITH ev AS (
            SELECT e.complaint_id, e.version, e.kind, c.province_code, c.district_code,
                   (e.data->>'closed_version')::int AS closed_version,
                   (e.data->>'score')::int AS score
              FROM cases AS c JOIN events AS e USING (complaint_id)
             WHERE {q.sql} AND e.kind = ANY({kinds}::text[])
        ), answers AS (  -- per closure: the lowest score given, and whether disputed
            SELECT complaint_id, closed_version,
                   min(score) FILTER (WHERE kind = {rated}) AS score,
                   bool_or(kind = {disputed}) AS disputed
              FROM ev WHERE kind IN ({rated}, {disputed})
             GROUP BY complaint_id, closed_version
        ), reopens AS (  -- per case: its last reopening
            SELECT complaint_id, max(version) AS last
              FROM ev WHERE kind = {reopened} GROUP BY complaint_id
        ), closure AS (
            SELECT cl.province_code, cl.district_code, a.score,
                   coalesce(a.disputed, false) AS disputed,
                   coalesce(o.last > cl.version, false) AS reopened
              FROM ev AS cl
              LEFT JOIN answers AS a
                ON a.complaint_id = cl.complaint_id AND a.closed_version = cl.version
              LEFT JOIN reopens AS o ON o.complaint_id = cl.complaint_id
             WHERE cl.kind = {closed}
        )
        SELECT province_code, district_code, count(*)::int AS closures,
               count(*) FILTER (WHERE disputed)::int AS disputed,
               count(*) FILTER (WHERE reopened)::int AS reopened,
               count(*) FILTER (WHERE score = 1)::int AS s1,
               count(*) FILTER (WHERE score = 2)::int AS s2,
               count(*) FILTER (WHERE score = 3)::int AS s3,
               count(*) FILTER (WHERE score = 4)::int AS s4,
               count(*) FILTER (WHERE score = 5)::int AS s5
          FROM closure GROUP BY province_code, district_code""",
        *q.args,
    )
    return [
        Counts(
            r["province_code"],
            r["district_code"],
            r["closures"],
            r["disputed"],
            r["reopened"],
            (r["s1"], r["s2"], r["s3"], r["s4"], r["s5"]),
        )
        for r in rows
    ]
