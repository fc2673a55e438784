"""Open311 answers against the GeoReport v2 specification's own examples (same element
and field names, nested the same way), and an independent client: the ``georeport``
package from PyPI, over real HTTP to intake served by uvicorn.  ``georeport`` cannot POST;
filing is checked with raw HTTP, its XML parsed by defusedxml (the standard library's
parser, hardened)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
import requests
import uvicorn
from defusedxml import ElementTree as SafeET  # type: ignore[import-untyped]
from georeport import GeoReport  # type: ignore[import-untyped]

from damrong.embedded._proc import free_port
from services.intake.main import create_app
from shared.auth.api_keys import new_api_key
from tests.service_app import running_app
from tests.waiting import eventually

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).parent / "open311_examples"
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
Shape = dict[str, Any]


@dataclass
class Served:
    url: str  # the endpoint, http://127.0.0.1:<port>/open311/v2
    key: str
    numbers: list[str]  # requests filed for the tests


def _merge(shapes: list[Shape]) -> Shape:
    out: Shape = {}
    for shape in shapes:
        for key, sub in shape.items():
            out[key] = _merge([out.get(key, {}), sub])
    return out


def xml_shape(element: Any) -> Shape:
    """Element names and nesting; repeated items merged into one shape."""
    children: dict[str, list[Shape]] = {}
    for child in element:
        children.setdefault(child.tag, []).append(xml_shape(child))
    return {tag: _merge(shapes) for tag, shapes in children.items()}


def json_shape(value: Any) -> Shape:
    if isinstance(value, dict):
        return {key: json_shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return {"[]": _merge([json_shape(item) for item in value])}
    return {}


def example(name: str) -> tuple[Any, Shape]:
    """The example's root (XML) or value (JSON), and its shape."""
    text = (EXAMPLES / name).read_bytes()
    if name.endswith(".json"):
        value = json.loads(text)
        return value, json_shape(value)
    root = SafeET.fromstring(text)
    return root, xml_shape(root)


@pytest.fixture(scope="module")
async def served(infra: dict[str, str]) -> AsyncIterator[Served]:
    key, digest = new_api_key()
    async with running_app(create_app, infra, auth_api_keys={digest: "web"}) as running:
        port = free_port()
        # The app already runs its lifespan (running_app): uvicorn only serves it.
        server = uvicorn.Server(
            uvicorn.Config(
                running.app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"
            )
        )
        task = asyncio.create_task(server.serve())
        try:
            await eventually(lambda: asyncio.sleep(0, server.started))
            url = f"http://127.0.0.1:{port}/open311/v2"
            numbers = []
            async with httpx.AsyncClient() as client:
                for code, place in (("land", "840503"), ("other", "1001")):
                    r = await client.post(
                        f"{url}/requests.xml",
                        content=urlencode(
                            {
                                "api_key": key,
                                "service_code": code,
                                "address_id": place,
                                "description": "ตัวอย่างตามข้อกำหนด",
                            }
                        ),
                        headers=FORM,
                    )
                    assert r.status_code == 201, r.text
                    numbers.append(
                        SafeET.fromstring(r.content).findtext("request/service_request_id")
                    )
            served = Served(url, key, numbers)
            # Listed once intake's public view has folded the filings from the topic.
            await eventually(
                lambda: get(served, "requests.json"),
                lambda r: {q["service_request_id"] for q in r.json()} >= set(numbers),
            )
            yield served
        finally:
            server.should_exit = True
            await task


async def get(served: Served, path: str, **params: str) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.get(f"{served.url}/{path}", params=params)


# --- the specification's examples -------------------------------------------------------

CASES = [
    ("discovery", "discovery.{}"),
    ("services", "services.{}"),
    ("service_definition", "services/land.{}"),
    ("requests", "requests.{}"),
]


@pytest.mark.parametrize(("name", "path"), CASES)
@pytest.mark.parametrize("fmt", ["xml", "json"])
async def test_answers_have_the_shape_of_the_specs_examples(
    served: Served, name: str, path: str, fmt: str
) -> None:
    r = await get(served, path.format(fmt))
    assert r.status_code == 200
    expected_root, expected = example(f"{name}.{fmt}")
    if fmt == "xml":
        assert r.headers["content-type"] == "text/xml; charset=utf-8"
        assert r.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
        root = SafeET.fromstring(r.content)
        assert root.tag == expected_root.tag
        assert xml_shape(root) == expected
    else:
        assert r.headers["content-type"] == "application/json; charset=utf-8"
        assert json_shape(r.json()) == expected


@pytest.mark.parametrize("fmt", ["xml", "json"])
async def test_one_request_and_a_token_have_the_specs_shapes(served: Served, fmt: str) -> None:
    number = served.numbers[0]
    for path, name in ((f"requests/{number}", "requests"), (f"tokens/{number}", "token")):
        r = await get(served, f"{path}.{fmt}")
        assert r.status_code == 200
        _, expected = example(f"{name}.{fmt}")
        got = xml_shape(SafeET.fromstring(r.content)) if fmt == "xml" else json_shape(r.json())
        assert got == expected


async def test_the_specs_example_post_is_answered_in_its_shapes(served: Served) -> None:
    """The specification's own POST body: its service_code 001 is not ours (404, in the
    error document's shape); with our code and a DOPA code it files (the receipt's shape)."""
    fields = dict(parse_qsl((EXAMPLES / "post_request.form").read_text().strip()))
    fields["api_key"] = served.key
    async with httpx.AsyncClient() as client:
        r = await client.post(f"{served.url}/requests.xml", content=urlencode(fields), headers=FORM)
        assert r.status_code == 404
        assert xml_shape(SafeET.fromstring(r.content)) == example("errors.xml")[1]
        fields.update(service_code="other", address_id="840503")
        # The example city's attributes are not those of our service: each is named.
        r = await client.post(
            f"{served.url}/requests.json", content=urlencode(fields), headers=FORM
        )
        assert r.status_code == 400
        assert json_shape(r.json()) == example("errors.json")[1]
        assert [e["description"] for e in r.json()] == [
            "attribute[WHISDORN]: is not an attribute of other",
            "attribute[WHISPAWN]: is not an attribute of other",
        ]
        fields = {k: v for k, v in fields.items() if not k.startswith("attribute")}
        # The example's phone (111111111) is no Thai number: named as the spec's parameter.
        r = await client.post(
            f"{served.url}/requests.json", content=urlencode(fields), headers=FORM
        )
        assert r.status_code == 400
        assert [e["description"] for e in r.json()] == [
            "phone: is not a valid Thai mobile or landline number"
        ]
        fields["phone"] = "0812345678"
        for fmt in ("xml", "json"):
            r = await client.post(
                f"{served.url}/requests.{fmt}", content=urlencode(fields), headers=FORM
            )
            assert r.status_code == 201, r.text
            _, expected = example(f"post_request.{fmt}")
            got = xml_shape(SafeET.fromstring(r.content)) if fmt == "xml" else json_shape(r.json())
            assert got == expected


@pytest.mark.parametrize("fmt", ["xml", "json"])
async def test_errors_have_the_specs_shape(served: Served, fmt: str) -> None:
    async with httpx.AsyncClient() as client:
        r = await client.post(f"{served.url}/requests.{fmt}", content="api_key=wrong", headers=FORM)
    assert r.status_code == 403
    _, expected = example(f"errors.{fmt}")
    got = xml_shape(SafeET.fromstring(r.content)) if fmt == "xml" else json_shape(r.json())
    assert got == expected


# --- an independent client ---------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_the_georeport_client_reads_our_endpoint(served: Served, fmt: str) -> None:
    client = GeoReport(served.url, output_format=fmt)
    services = await asyncio.to_thread(client.get_service_list)
    assert {s["service_code"] for s in services} >= {"land", "other", "public_utilities"}
    land = next(s for s in services if s["service_code"] == "land")
    assert land["service_name"] == "ที่ดินและการบุกรุก"
    assert str(land["metadata"]).lower() == "true"

    definition = await asyncio.to_thread(client.get_service_definition, "land")
    assert definition["service_code"] == "land"

    number = served.numbers[0]
    one = await asyncio.to_thread(client.get_service_request, number)
    assert one["service_request_id"] == number and one["status"] == "open"
    assert one["service_code"] == "land" and one["address_id"] == "840503"

    listed = await asyncio.to_thread(
        client.get_service_requests, service_request_id=",".join(served.numbers)
    )
    rows = listed if isinstance(listed, list) else [listed]  # xmltodict: one item is a dict
    assert [r["service_request_id"] for r in rows] == served.numbers

    with pytest.raises(requests.HTTPError) as exc:
        await asyncio.to_thread(client.get_service_definition, "pothole")
    assert exc.value.response is not None and exc.value.response.status_code == 404
