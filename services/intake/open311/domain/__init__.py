"""Open311 GeoReport v2, pure: the service catalogue, form and filter parsing, locations,
the status mapping and the JSON/XML documents.  No I/O; time is passed in as ``now``."""
