"""Each GeoReport v2 answer as a ``Document``: discovery, the service list, a service
definition, a filing's receipt, a token, requests, errors."""

from __future__ import annotations

from collections.abc import Iterable

from services.intake.open311.domain.catalogue import SERVICES, Attribute, Service
from services.intake.open311.domain.documents import JSON_TYPE, XML_TYPE, Document
from services.intake.open311.domain.errors import ErrorItem, error_body
from services.intake.open311.domain.views import RequestView, request_fields

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# When the catalogue (services and their definitions) last changed: clients refresh
# their cached service lists when this moves.
CHANGESET = "2026-12-04 00:00"
RECEIPT_NOTICE = (
    "ศูนย์ดำรงธรรมได้รับเรื่องของท่านแล้ว เจ้าหน้าที่จะพิจารณาและดำเนินการตามขั้นตอน ติดตามสถานะได้ด้วยเลขที่เรื่องนี้"
)


def discovery(url: str, contact: str, key_service: str, endpoint_type: str) -> Document:
    return Document(
        "discovery",
        {
            "changeset": CHANGESET,
            "contact": contact,
            "key_service": key_service,
            "endpoints": [
                {
                    "specification": SPECIFICATION,
                    "url": url,
                    "changeset": CHANGESET,
                    "type": endpoint_type,
                    "formats": [XML_TYPE.split(";")[0], JSON_TYPE.split(";")[0]],
                }
            ],
        },
    )


def services(items: Iterable[Service] = SERVICES) -> Document:
    return Document(
        "services",
        [
            {
                "service_code": s.code,
                "service_name": s.name,
                "description": s.description,
                "metadata": s.metadata,
                "type": "realtime",  # we file at once: the answer carries the request id
                "keywords": ", ".join(s.keywords),
                "group": s.group,
            }
            for s in items
        ],
    )


def _attribute(a: Attribute) -> dict[str, object]:
    return {
        "variable": a.variable,
        "code": a.code,
        "datatype": a.datatype,
        "required": a.required,
        "datatype_description": a.datatype_description,
        "order": a.order,
        "description": a.description,
        "values": [{"key": k, "name": n} for k, n in a.values],
    }


def definition(s: Service) -> Document:
    return Document(
        "service_definition",
        {"service_code": s.code, "attributes": [_attribute(a) for a in s.attributes]},
    )


def receipt(tracking_no: str) -> Document:
    """The answer to ``POST requests``: the request id at once (type ``realtime``)."""
    return Document(
        "service_requests",
        [{"service_request_id": tracking_no, "service_notice": RECEIPT_NOTICE, "account_id": None}],
    )


def token(tracking_no: str) -> Document:
    """We file synchronously, so a token is the request id itself."""
    return Document("service_requests", [{"service_request_id": tracking_no, "token": tracking_no}])


def requests(views: Iterable[RequestView]) -> Document:
    return Document("service_requests", [request_fields(v) for v in views])


def errors(items: Iterable[ErrorItem]) -> Document:
    return Document("errors", error_body(items))
