"""The pure part of the LINE channel: the delivery's shape, the conversation, the secrets."""
