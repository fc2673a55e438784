"""The lock files against pyproject.toml and deploy/Dockerfile: `make` installs
requirements-dev.lock and the image requirements.lock, so a pin changed in pyproject.toml
without `make lock` would otherwise go untested (the install takes the lock's version)."""

from __future__ import annotations

import re
import tomllib

from tests.deploy import manifests as m

PYPROJECT = tomllib.loads((m.ROOT / "pyproject.toml").read_text(encoding="utf-8"))
(_EMBEDDED_LINE,) = re.findall(r"EMBEDDED = \{(.*)\}", m.DOCKERFILE.read_text(encoding="utf-8"))
EMBEDDED = set(re.findall(r'"([\w.-]+)"', _EMBEDDED_LINE))
MISSING = ("missing", frozenset[str]())


def _name(text: str) -> str:
    """PEP 503 normal form, as the lock files spell names."""
    return re.sub(r"[-_.]+", "-", text).lower()


def _pins(requirements: list[str]) -> dict[str, str]:
    pins = {}
    for requirement in requirements:
        pin = re.fullmatch(r"([\w.-]+)(?:\[[\w,-]+\])?==([\w.+!-]+)", requirement)
        assert pin, f"{requirement!r} is not pinned exactly"
        pins[_name(pin[1])] = pin[2]
    return pins


def _lock(file: str) -> dict[str, tuple[str, frozenset[str]]]:
    """{name: (version, hashes)} of one lock file."""
    entries = {}
    text = (m.ROOT / file).read_text(encoding="utf-8")
    for block in re.split(r"\n(?=\S)", text):
        head = re.match(r"([\w.-]+)==([\w.+!-]+)", block)
        if head:
            hashes = frozenset(re.findall(r"--hash=sha256:([0-9a-f]{64})", block))
            entries[_name(head[1])] = (head[2], hashes)
    return entries


DEV = _lock("requirements-dev.lock")
IMAGE = _lock("requirements.lock")
RUNTIME = _pins(PYPROJECT["project"]["dependencies"])


def test_every_entry_of_both_locks_carries_hashes() -> None:
    assert DEV and IMAGE
    assert all(hashes for _, hashes in [*DEV.values(), *IMAGE.values()])


def test_the_dev_lock_has_every_pin_of_pyproject_and_its_extras() -> None:
    pins = dict(RUNTIME)
    for extra in PYPROJECT["project"]["optional-dependencies"].values():
        pins |= _pins(extra)
    locked = {name: DEV.get(name, MISSING)[0] for name in pins}
    stale = {name: (pins[name], locked[name]) for name in pins if locked[name] != pins[name]}
    assert not stale, f"pyproject.toml and requirements-dev.lock differ {stale}: run make lock"


def test_the_image_lock_is_the_runtime_set_less_the_embedded_servers_as_tested() -> None:
    assert EMBEDDED and not EMBEDDED & IMAGE.keys()
    assert {name: IMAGE.get(name, MISSING)[0] for name in RUNTIME if name not in EMBEDDED} == {
        name: version for name, version in RUNTIME.items() if name not in EMBEDDED
    }
    # The same files CI installed: every image entry is the dev lock's, version and hashes.
    assert {name: DEV.get(name) for name in IMAGE} == IMAGE
