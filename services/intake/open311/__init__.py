"""Open311 GeoReport v2 on intake (``/open311/v2/``): partner apps file and follow requests
with the open standard civic reporting clients speak.  See ``api``."""
