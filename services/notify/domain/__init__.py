"""notify's pure core: which events tell the complainant what, the messages' texts, and
when a failed message is tried again or given up.  No I/O; time is passed in."""
