"""deploy/Dockerfile, read: a pinned base, a non-root user, a health check, and an install
that carries every file the services read at run time."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from tests.deploy import manifests as m

TEXT = m.DOCKERFILE.read_text(encoding="utf-8")
PYPROJECT = tomllib.loads((m.ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_base_image_is_pinned_to_an_exact_python_release() -> None:
    (base,) = re.findall(r"^ARG PYTHON_IMAGE=(\S+)$", TEXT, flags=re.MULTILINE)
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", base)
    assert re.findall(r"^FROM (\S+)", TEXT, flags=re.MULTILINE) == ["${PYTHON_IMAGE}"] * 2


def test_image_runs_as_a_non_root_user_with_a_health_check() -> None:
    users = re.findall(r"^USER (\d+):(\d+)$", TEXT, flags=re.MULTILINE)
    assert users and all(int(u) != 0 and int(g) != 0 for u, g in users)
    check = re.search(r'HEALTHCHECK [^\n]*\\\n\s+CMD \["python", "-m", "([\w.]+)"\]', TEXT)
    assert check, "no HEALTHCHECK running a python module"
    assert (m.ROOT / Path(*check[1].split("."))).with_suffix(".py").is_file()
    assert m.dockerfile_env()["HOST"] == "0.0.0.0"


def test_image_leaves_out_only_dependencies_that_exist() -> None:
    """The embedded servers' wheels stay out of the image; a renamed one must not slip in."""
    (names,) = re.findall(r"EMBEDDED = \{(.*)\}", TEXT)
    embedded = set(re.findall(r'"([\w.-]+)"', names))
    deps = {re.split(r"[=<>\[]", d)[0] for d in PYPROJECT["project"]["dependencies"]}
    assert embedded and embedded <= deps


def test_the_install_carries_every_data_file_of_the_services() -> None:
    """A non-editable install (the image) has only .py files and the package-data globs:
    those of every package ("*", matched by name) and a package's own (relative to it)."""
    data = PYPROJECT["tool"]["setuptools"]["package-data"]
    globs = data["*"]
    own = {
        file
        for package, patterns in data.items()
        if package != "*"
        for pattern in patterns
        for file in (m.ROOT / package.replace(".", "/")).glob(pattern)
    }

    def carried(path: Path) -> bool:
        return path in own or any(path.match(g) for g in globs)

    for top in ("shared", "services"):
        for path in (m.ROOT / top).rglob("*"):
            if path.is_file() and path.suffix not in (".py", ".pyc"):
                assert carried(path), f"{path} is left out of the image"


def test_every_service_command_names_a_module() -> None:
    for service in m.SERVICES:
        assert (m.ROOT / "services" / service / "main.py").is_file()
