"""A mixed load on the list benchmark's data (1,000,000 fiches in 100 groups), and the slowest single
requests a pro can make on it.

    .venv/bin/python bench/mixed_load.py [--duration 60] [--connections 32] [--rows 1000000 --groups 100]

1. Mixed load: `openrdv serve --workers 2`, wrk with 32 keep-alive connections for 60 s, every
   request on the next group in turn, as the demo pro (HTTP Basic + apikey). One request in ten is a
   write (POST a fiche); the reads are pages, searches, range conditions, sorts, deep pages and the
   catalogue. Prints requests, req/s, errors (non-2xx and socket errors) and p50/p99.
2. The slowest requests: each candidate (the costliest shapes the API accepts: a sort on an
   unindexed custom column, ten-word searches with a deep startIndex, a LIKE with a leading
   wildcard, the deepest page) timed alone, three times, on the same server; prints the slowest.

The data comes from `bench/list_bench.py`'s cache (`bench/data/fiches{rows}_groups{groups}/`; run
list_bench.py once with the same --rows/--groups to build it). Rate limits are off (bench/common.py).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import BENCH, BIN, Server, busy_cores, free_port, http_request, log, lua_string, wait_quiet

WRITE_EVERY = 10  # one request in ten is a POST

LUA = """
local entries = {%(entries)s}
local extra = {%(headers)s}
local requests = {}
local count = 0

function init(args)
  local headers = {}
  for name, value in pairs(wrk.headers) do headers[name] = value end
  for name, value in pairs(extra) do headers[name] = value end
  for i, e in ipairs(entries) do
    if e[1] == "POST" then
      local h = {}
      for k, v in pairs(headers) do h[k] = v end
      h["Content-Type"] = "application/json"
      requests[i] = wrk.format("POST", e[2], h, e[3])
    else
      requests[i] = wrk.format("GET", e[2], headers)
    end
  end
end

function request()
  count = count + 1
  return requests[(count %% #requests) + 1]
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    "WRKJSON {\\"requests\\": %%d, \\"duration_us\\": %%d, \\"status\\": %%d, \\"connect\\": %%d, " ..
    "\\"read\\": %%d, \\"write\\": %%d, \\"timeout\\": %%d, \\"p50\\": %%d, \\"p99\\": %%d, \\"max\\": %%d}\\n",
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def mixed_requests(key: str, groups: int) -> list[tuple[str, str, str]]:
    """(method, path, body): reads of every shape, and a write every WRITE_EVERY requests."""
    reads = [
        "fiches.json?apikey={k}",
        "fiches.json?apikey={k}&search=mar",
        "fiches.json?apikey={k}&sort=lastname&dir=desc",
        "fiches.json?apikey={k}&conditions[0][field]=updated_at&conditions[0][op]=%3E%3D"
        "&conditions[0][value]=2026-01-01%2000:00:00",
        "fiches.json?apikey={k}&startIndex=5000&results=25",
        "calendars.json?apikey={k}",
        "interventions.json?apikey={k}",
        "fiches.json?apikey={k}&search=dubois%20jean",
        "vevents.json?apikey={k}&results=10",
    ]
    out: list[tuple[str, str, str]] = []
    for group in range(1, groups + 1):
        for i in range(WRITE_EVERY):
            if i == WRITE_EVERY - 1:
                body = json.dumps({"fiche": {"lastname": f"Load{group}", "firstname": "Mixed", "email": ""}})
                out.append(("POST", f"/api/v1/groups/{group}/fiches.json?apikey={key}", body))
            else:
                path = reads[(group + i) % len(reads)].format(k=key)
                out.append(("GET", f"/api/v1/groups/{group}/{path}", ""))
    return out


def run_mixed(port: int, key: str, auth: str, groups: int, seconds: int, connections: int) -> dict[str, float]:
    entries = ", ".join(
        "{" + ", ".join(lua_string(x) for x in entry) + "}" for entry in mixed_requests(key, groups)
    )
    headers = f'["Authorization"] = {lua_string(auth)}'
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA % {"entries": entries, "headers": headers})
    try:
        argv = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", script.name,
                f"http://127.0.0.1:{port}"]
        done = subprocess.run(argv, capture_output=True, text=True)
    finally:
        os.unlink(script.name)
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    data = json.loads(line[len("WRKJSON "):])
    duration = data["duration_us"] / 1e6
    socket_errors = sum(data[k] for k in ("connect", "read", "write", "timeout"))
    return {
        "requests": data["requests"],
        "seconds": round(duration, 2),
        "rps": round(data["requests"] / duration, 1),
        "non_2xx": data["status"],
        "socket_errors": socket_errors,
        "p50_ms": data["p50"] / 1000,
        "p99_ms": data["p99"] / 1000,
        "max_ms": data["max"] / 1000,
    }


TEN_WORDS = "%20".join(["a", "b", "ma", "du", "be", "le", "ro", "an", "ri", "ne"])  # two one-letter words at most
SLOW_CANDIDATES = [
    ("sort on an unindexed custom column", "fiches.json?sort=str3&dir=desc&startIndex=9000"),
    ("ten-word search, deep startIndex", f"fiches.json?search={TEN_WORDS}&startIndex=9000"),
    ("LIKE with a leading wildcard", "fiches.json?conditions[0][field]=lastname&conditions[0][op]=like"
     "&conditions[0][value]=%25e%25&startIndex=9000"),
    ("deepest page", "fiches.json?startIndex=9975&results=25"),
    ("sort on a text column, descending, deep", "fiches.json?sort=comments&dir=desc&startIndex=9000"),
    ("un-nested list of every group, sorted, deep", "UNNESTED:fiches.json?sort=firstname&startIndex=500000"),
    ("un-nested ten-word search", f"UNNESTED:fiches.json?search={TEN_WORDS}"),
]


def slowest(port: int, key: str, auth: str) -> list[tuple[str, float, int]]:
    results: list[tuple[str, float, int]] = []
    for label, path in SLOW_CANDIDATES:
        if path.startswith("UNNESTED:"):
            target = f"/api/v1/{path[len('UNNESTED:'):]}&apikey={key}"
        else:
            target = f"/api/v1/groups/7/{path}&apikey={key}"
        times = []
        status = 0
        for _ in range(3):
            started = time.perf_counter()
            answer = http_request(port, "GET", target, {"Authorization": auth})
            times.append(time.perf_counter() - started)
            status = answer.status
        results.append((label, min(times) * 1000, status))
    return sorted(results, key=lambda r: -r[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--duration", type=int, default=60)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--wait-quiet", type=float, default=30)
    args = parser.parse_args()
    data_dir = BENCH / "data" / f"fiches{args.rows}_groups{args.groups}"
    meta_path = data_dir / "meta.json"
    if not meta_path.exists():
        sys.exit(f"no data in {data_dir}: run bench/list_bench.py --rows {args.rows} --groups {args.groups} first")
    meta = json.loads(meta_path.read_text())
    work = Path(tempfile.mkdtemp(prefix="mixed-"))
    database = work / "openrdv.db"
    # a copy: the load writes fiches, the list benchmark's cache stays as it was
    subprocess.run(["cp", str(data_dir / "openrdv.db"), str(database)], check=True)
    url = f"sqlite:///{database}"
    env = {**os.environ, "OPENRDV_DATABASE_URL": url, "OPENRDV_LOG_LEVEL": "WARNING"}
    subprocess.run([str(BIN / "openrdv"), "db", "upgrade"], env=env, check=True)
    port = free_port()
    auth = "Basic " + base64.b64encode(f"{meta['email']}:{meta['password']}".encode()).decode()
    argv = [str(BIN / "openrdv"), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"]
    with Server("openrdv", argv, port, env, work) as server:
        server.wait_ready("/healthz")
        if args.wait_quiet:
            wait_quiet(args.wait_quiet)
        log(f"mixed load: {args.connections} connections, {args.duration} s, 1 write in {WRITE_EVERY}")
        mixed = run_mixed(port, meta["apikey"], auth, args.groups, args.duration, args.connections)
        others = busy_cores()
        log(json.dumps(mixed))
        log(f"other processes right after: {others:.2f} cores")
        log("slowest single requests as a pro (best of 3 each):")
        for label, ms, status in slowest(port, meta["apikey"], auth):
            log(f"  {ms:9.1f} ms  {status}  {label}")
    subprocess.run(["rm", "-rf", str(work)], check=False)


if __name__ == "__main__":
    main()
