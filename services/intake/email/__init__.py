"""The e-mail channel: an SMTP receiver inside intake that files complaints sent by e-mail.

A message to a centre's address files a complaint from the ``email`` channel, exactly once
per Message-ID (the ``channel_ref``):

- ``d<DOPA district code>@<EMAIL_DOMAIN>`` (``d5001@``) is the district's centre;
- ``p<DOPA province code>@<EMAIL_DOMAIN>`` (``p50@``) is the provincial centre, which sits
  in the province's capital district (DOPA code ``<province>01`` in every province:
  Mueang Chiang Mai 5001, Phra Nakhon Si Ayutthaya 1401, Phra Nakhon 1001 for Bangkok);
  the complaint is filed there, where the provincial centre's officers work.

Any other recipient is refused with 550 at RCPT time.  One message is one complaint: with
several centres among its recipients it is filed at the first, and a copy sent again to
another centre is not filed a second time (the Message-ID names the complaint).

What a message becomes is decided in ``domain/`` (pure): a filing, "ignore because"
(auto-replies, bounces, loops: accepted with 250 and not filed, so that no robot retries
or answers) or "refuse because" (too large, malformed, unreadable: a 552/554 reply whose
text says why).  The reply with the tracking number is sent by the notification service
on ``complaint.filed`` (the filing records the complainant's consent to answers by
e-mail); its messages carry ``Auto-Submitted: auto-generated`` and should carry our loop
header ``X-Damrong-Loop`` (``domain.screening.LOOP_HEADER``), so that a copy coming back
is never filed.

Why an SMTP receiver and not an IMAP poller (the alternative, not built): mail reaches
intake the moment it is sent, and the sender's server learns at once whether it was taken
(550 for an unknown centre, 552/554 with the reason for a refused message), so the
citizen gets a bounce that says what went wrong instead of silence; nothing is left to
poll, no mailbox credentials are kept, and no state says which messages were read (the
Message-ID is enough).  An IMAP poller would suit a deployment whose mail must stay on an
existing ministry mail server: it would log in with a service account, fetch unseen
messages from one mailbox per centre (or one with plus-addresses), hand each message's
bytes to the same ``domain.reading.read_message``, file it, then flag or move it; refused
messages would have to be answered by a separate bounce, and the mailbox's retention
would be a second copy of personal data to look after.  In production the receiver sits
behind the ministry's MX (which does TLS, spam and virus filtering) and relays to it.
"""
