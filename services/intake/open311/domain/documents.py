"""GeoReport v2 documents in both formats, from one Python structure (the spec's Spark
convention: the JSON is a programmatic mapping of the XML).

A document is a root element name and a body: a list (the root holds one child element
per item, named by ``ITEM``: ``<services><service>``, ``<service_requests><request>``,
``<errors><error>``) or a dict (one child element per key).  In JSON a list body is the
bare array and a dict body the object, as in the specification's examples.  None is an
empty element in XML and null in JSON; booleans are ``true``/``false`` in both.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# The element name of each item of a list, by the list's own name.
ITEM = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}
JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"
_DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>\n'
# Characters XML 1.0 cannot carry at all (stored text never has them; this is a last guard).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True, slots=True)
class Document:
    root: str
    body: Sequence[Any] | Mapping[str, Any]


def json_bytes(doc: Document) -> bytes:
    return json.dumps(doc.body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def xml_bytes(doc: Document) -> bytes:
    root = ET.Element(doc.root)
    _fill(root, doc.root, doc.body)
    return _DECLARATION + ET.tostring(root, encoding="unicode").encode("utf-8")


def render(doc: Document, fmt: str) -> tuple[bytes, str]:
    """The document's bytes and content type in ``fmt`` (``json`` or ``xml``)."""
    if fmt == "json":
        return json_bytes(doc), JSON_TYPE
    return xml_bytes(doc), XML_TYPE


def _fill(element: ET.Element, name: str, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            _fill(ET.SubElement(element, key), key, item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _fill(ET.SubElement(element, ITEM[name]), ITEM[name], item)
    elif value is None:
        return
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    else:
        element.text = _NOT_XML.sub("", str(value))
