"""A dead message as a dead letter: the record of the event that sent it, with the headers
every consumer's dead letters carry (``shared.consumer``), so that `damrong dlq list`,
``show`` and ``replay`` treat it like any other.

``dlq_error`` says which channel failed and why (a class of failure, nothing personal);
``dlq_group`` is notify's consumer group; ``dlq_origin`` where the record was read.

What `damrong dlq replay` of it does: the original record goes back onto the events topic
once.  Status, kpi and every other reader have applied that (complaint_id, version) and
skip it; notify finds the message dead and makes it pending afresh (attempts from zero),
so it is tried again.  Its other channels' messages, sent or pending, are left as they are.
"""

from __future__ import annotations

Headers = list[tuple[str, bytes]]
DLQ_HEADERS = ("dlq_error", "dlq_group", "dlq_origin")


def dlq_error(channel: str, error_class: str) -> str:
    return f"notify {channel}: {error_class}"[:1000]


def dead_letter_headers(original: Headers, error: str, group: str, origin: str | None) -> Headers:
    """``original`` without any earlier dead-letter headers, plus this one's."""
    kept = [(k, v) for k, v in original if k.lower() not in DLQ_HEADERS]
    return [
        *kept,
        ("dlq_error", error.encode()),
        ("dlq_group", group.encode()),
        ("dlq_origin", (origin or "unknown").encode()),
    ]
