"""The console's pure core: sessions, sign-in links, translations, Thai dates.

No I/O and no clock: the adapters pass ``now`` and the loaded message catalogue in.
"""
