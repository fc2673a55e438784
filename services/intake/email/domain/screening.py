"""Mail that no person wrote to us: auto-replies, bounces and loops.  Pure.

Such a message is accepted (250: refusing a bounce makes a double bounce, refusing an
auto-reply makes another auto-reply) and not filed; ``ignore_reason`` says why, as a code
fit for the logs (no address, no subject).  The signs, checked in this order:

- ``null_sender``: the envelope's return path is empty (``MAIL FROM:<>``), which RFC 5321
  reserves for notifications (bounces, delivery and read receipts, vacation replies);
- ``delivery_report``: ``multipart/report`` (RFC 6522: delivery status, read receipts);
- ``auto_submitted``: ``Auto-Submitted`` other than ``no`` (RFC 3834);
- ``precedence``: ``Precedence: bulk``, ``junk``, ``list`` or ``auto_reply``;
- ``autoreply_header``: ``X-Autoreply`` or ``X-Autorespond`` (vacation programs);
- ``own_loop``: our loop header ``X-Damrong-Loop`` (set on every message we send: the
  notification service's replies; a copy of one coming back is a loop);
- ``own_sender``: the From address is in our own domain (a centre never complains to
  another by e-mail; a message from one is a reply of ours that came back);
- ``too_many_hops``: more ``Received`` headers than the limit (a relay loop);
- ``mailer_daemon``: From ``mailer-daemon@`` or ``postmaster@`` (bounces with a sender).
"""

from __future__ import annotations

from email.message import EmailMessage

from services.intake.email.domain.addresses import is_own_address

LOOP_HEADER = "X-Damrong-Loop"
"""The header every message the platform sends carries, with the e-mail domain as value."""

_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
_DAEMONS = frozenset({"mailer-daemon", "postmaster"})


def _first(value: object) -> str:
    """The first token of a header value: ``auto-replied; owner=x`` -> ``auto-replied``."""
    return str(value).split(";", 1)[0].strip().lower()


def ignore_reason(
    msg: EmailMessage, mail_from: str, from_addresses: list[str], *, domain: str, max_hops: int
) -> str | None:
    """Why ``msg`` is not a citizen's complaint, or None when it may be one.

    ``mail_from`` is the envelope's return path as the SMTP layer gave it (``<>`` or empty
    when null); ``from_addresses`` the addr-specs of the From header.
    """
    if mail_from.strip() in ("", "<>"):
        return "null_sender"
    if msg.get_content_type() == "multipart/report":
        return "delivery_report"
    auto = msg.get("Auto-Submitted")
    if auto is not None and _first(auto) != "no":
        return "auto_submitted"
    if _first(msg.get("Precedence", "")) in _PRECEDENCE:
        return "precedence"
    if msg.get("X-Autoreply") is not None or msg.get("X-Autorespond") is not None:
        return "autoreply_header"
    if msg.get(LOOP_HEADER) is not None:
        return "own_loop"
    if any(is_own_address(a, domain) for a in from_addresses):
        return "own_sender"
    if len(msg.get_all("Received") or ()) > max_hops:
        return "too_many_hops"
    if any(a.rpartition("@")[0].lower() in _DAEMONS for a in from_addresses):
        return "mailer_daemon"
    return None
