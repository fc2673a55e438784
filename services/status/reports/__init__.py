"""The cases report of a district and period, from the stored events, over HTTP."""
