"""Complainants' personal data (PDPA): envelope encryption with a key per complainant,
masked forms for display, audited clear reads and erasure by destroying the key."""
