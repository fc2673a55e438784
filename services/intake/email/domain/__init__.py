"""The e-mail channel's pure decisions: which centre an address names, and what a message
becomes (a filing, ignored, refused).  Standard library, geothai and shared text rules only."""
