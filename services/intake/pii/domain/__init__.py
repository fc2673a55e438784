"""Envelope encryption of complainants' identities and the keys behind it: no I/O besides the
system's random source, which makes data keys and nonces."""
