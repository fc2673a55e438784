"""The pure part of contacts: who consented to which messages, and what that discloses."""
