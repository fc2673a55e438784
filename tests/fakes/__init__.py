"""Local stand-ins for the outside systems the platform talks to (tests only)."""
