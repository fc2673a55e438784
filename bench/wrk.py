"""Drive an HTTP endpoint with wrk (a C load generator: it leaves the CPU to the server)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

# Each request gets a fresh body: rotating districts, channels and categories.
LUA = r"""
local districts = {%(districts)s}
local headers = {["Content-Type"]="application/json"%(headers)s}
local channels = {"walk_in","hotline_1567","letter","web","line","email","pm_office_1111"}
local categories = {"assistance_request","land","dispute_mediation","public_utilities","other"}
local n = 0
request = function()
  n = n + 1
  local d = districts[(n %% #districts) + 1]
  local body = string.format(
    '{"channel":"%%s","district_code":"%%s","category":"%%s","subject":"ขอความช่วยเหลือ",' ..
    '"description":"รายละเอียดเรื่องร้องเรียนสำหรับการวัดผล","complainant":{"anonymous":true}}',
    channels[(n %% #channels) + 1], d, categories[(n %% #categories) + 1])
  return wrk.format("POST", "/v1/complaints", headers, body)
end
"""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int

    def line(self, name: str) -> str:
        return (
            f"{name:<10} {self.rps:9.0f} req/s  p50 {self.p50_ms:7.2f} ms  "
            f"p99 {self.p99_ms:7.2f} ms  ({self.requests} requests, {self.errors} errors)"
        )


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    assert m, text
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def parse(output: str) -> WrkResult:
    reqs = re.search(r"(\d+) requests in ([\d.]+)(ms|s|m)", output)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"\s50%\s+(\S+)", output)
    p99 = re.search(r"\s99%\s+(\S+)", output)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    sock = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), "
        r"timeout (\d+)",
        output,
    )
    if not (reqs and rps and p50 and p99):
        raise RuntimeError(f"could not read wrk output:\n{output}")
    secs = float(reqs.group(2)) * {"ms": 0.001, "s": 1, "m": 60}[reqs.group(3)]
    errors = int(non2xx.group(1)) if non2xx else 0
    if sock:
        errors += sum(int(g) for g in sock.groups())
    return WrkResult(
        int(reqs.group(1)), secs, float(rps.group(1)), _ms(p50.group(1)), _ms(p99.group(1)), errors
    )


def run(
    url: str,
    districts: list[str],
    *,
    seconds: int,
    connections: int,
    threads: int = 1,
    headers: dict[str, str] | None = None,
) -> WrkResult:
    """``headers`` are sent with every request (e.g. ``Authorization``)."""
    exe = shutil.which("wrk")
    if exe is None:
        raise SystemExit("wrk is needed for this benchmark: apt-get install wrk")
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "post.lua"
        extra = "".join(f',["{k}"]="{v}"' for k, v in (headers or {}).items())
        script.write_text(
            LUA % {"districts": ",".join(f'"{d}"' for d in districts), "headers": extra}
        )
        out = subprocess.run(
            [
                exe,
                f"-t{threads}",
                f"-c{connections}",
                f"-d{seconds}s",
                "--latency",
                "-s",
                str(script),
                url,
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    return parse(out)
