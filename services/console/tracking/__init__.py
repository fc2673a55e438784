"""The public tracking page (``/track``): no sign-in, the complainant's own proof."""
