"""Envelope encryption of complainants' identities and the keys behind it: no I/O besides the\nsystem's random source, which makes data keys and nonces."""
