"""The prediction API under load: requests per second and p50/p99 latency of /v1/predictions/players on loopback.

    .venv/bin/python benchmarks/bench_api.py [--home DIR] [--seconds 10] [--connections 8]

Starts the real server (`fpl-platform api`) on a free port over the analyst copy of `--home` (default: the
repo's `.fpl_platform`, which `make demo` fills) and drives it with wrk (Debian's `wrk`; `make bench` installs
it), one wrk thread, so wrk and the server share the machine's cores as a client on the same host would. Each
case is warmed for two seconds first. Cases:

- `default page`: the question most clients ask (the latest round, best 100). After its first asking it is
  answered from memory: a published copy never changes, so answers are kept per copy until the next publish.
- `filtered`: midfielders likely to play, top 20: the same, a different question.
- `every request new`: each request a limit and offset never asked before, so every one runs its DuckDB queries.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from tabulate import tabulate

REPO = Path(__file__).resolve().parents[1]
# every request a (limit, offset) pair not asked before in this server's life: each run starts from its own
# random point of 100 x <rows> pairs (offsets within the round, so each page has rows to render)
NEW_EVERY_TIME = """
local rows = {rows}
math.randomseed({seed})
local counter = math.random(0, 100 * rows)
request = function()
  counter = counter + 1
  local pair = counter % (100 * rows)
  return wrk.format(nil, "/v1/predictions/players?limit=" .. (math.floor(pair / rows) + 1) .. "&offset=" .. (pair % rows))
end
"""
CASES = [
    ("default page", "/v1/predictions/players", None),
    ("filtered", "/v1/predictions/players?position=MID&min_p_play=0.5&limit=20", None),
    ("every request new", "", NEW_EVERY_TIME),
]


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def milliseconds(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def wrk(url: str, path: str, script: str | None, seconds: int, connections: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
        if script:
            lua.write(script)
            lua.flush()
            command += ["-s", lua.name]
        output = subprocess.run([*command, url + path], capture_output=True, text=True, check=True).stdout
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", output, re.MULTILINE))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "req/s": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50 ms": milliseconds(latency["50"]),
        "p99 ms": milliseconds(latency["99"]),
        "non-2xx": int(errors.group(1)) if errors else 0,
    }


def latest_round_rows(copy: Path) -> int:
    from fpl_platform.lib import analyst, forecasts

    connection = analyst.connect_read_only(copy)
    try:
        return forecasts.player_predictions(connection, limit=1)["total"]
    finally:
        connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=REPO / ".fpl_platform", help="platform home with an analyst copy")
    parser.add_argument("--seconds", type=int, default=10, help="seconds of load per case")
    parser.add_argument("--connections", type=int, default=8, help="concurrent keep-alive connections")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench_api.py: wrk is not installed: `make bench` installs it (apt-get install wrk)")
    copy = args.home / "analytics.duckdb"
    if not copy.exists():
        sys.exit(f"bench_api.py: no analyst copy at {copy}: run `make demo` first (or pass --home)")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FPL_PLATFORM_")} | {"FPL_PLATFORM_HOME": str(args.home)}
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("fpl-platform")), "api", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/health", timeout=2).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    sys.exit("bench_api.py: the API did not start")
                time.sleep(0.2)
        rows, total = [], latest_round_rows(copy)
        for name, path, script in CASES:
            scripts = [script and script.replace("{rows}", str(total)).replace("{seed}", str(seed)) for seed in (1, 2)]
            wrk(url, path, scripts[0], 2, args.connections)  # warm: imports, the first connection, the first answers
            rows.append(
                {"case": name, "connections": args.connections, **wrk(url, path, scripts[1], args.seconds, args.connections)}
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(
        f"/v1/predictions/players on {copy} ({latest_round_rows(copy)} player-fixtures in the latest round), "
        f"{args.seconds} s per case, {os.cpu_count()} cores"
    )
    print(tabulate(rows, headers="keys", floatfmt=".1f"))


if __name__ == "__main__":
    main()
