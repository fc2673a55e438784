"""Contact details for the notify service: a consenting complainant's, read at send time.

``GET /internal/v1/complaints/{id}/contact`` answers the consent list and only the
contact details of the channels consented to, to a ``notifier`` principal only; every
answer that opens the identity is recorded as a clear read (``pii_access``).
"""
