"""Shared pieces of the benchmarks: data sets, servers, load generation and process memory.

Nothing here imports openrdv: the benchmarks drive it only from the outside, through its command
line (`openrdv db upgrade`, `openrdv demo`, `openrdv serve`) and HTTP, like an operator would.

Run as a script, this module is the fallback load generator used when `wrk` is not available:

    python bench/common.py loadgen '{"host": ..., "port": ..., "requests": [...], ...}'
"""

from __future__ import annotations

import asyncio
import http.client
import importlib.util
import json
import os
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

# A benchmark sends thousands of requests a second with one API key from one address: the rate limit
# per key (120 a minute by default) would answer nearly all of them 429. Benchmarks measure the server
# without it (its cost per request is measured separately: docs/security.md); every server and
# in-process Settings a benchmark makes read this.
os.environ.setdefault("OPENRDV_RATE_LIMIT", "0")

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
BIN = Path(sys.executable).parent  # the venv's bin/: openrdv, uvicorn
FLOOR_GROUPS = 100  # floor.make_db always spreads its rows over groups 1..100


def log(message: str = "") -> None:
    print(message, flush=True)


# -- data sets ----------------------------------------------------------------------------------------


def load_module(path: Path, name: str) -> ModuleType:
    """Import a Python file by its path (the floor lives outside the repository)."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class DataSet:
    directory: Path
    rows: int
    groups: int
    floor_db: Path
    openrdv_db: Path
    apikey: str
    email: str
    password: str
    floor_group_ids: list[int]
    openrdv_group_ids: list[int]
    seconds: dict[str, float]  # how long each database took to generate
    cached: bool = False

    @property
    def openrdv_url(self) -> str:
        return f"sqlite:///{self.openrdv_db}"


def _make_floor_db(floor: ModuleType, path: Path, rows: int, groups: int) -> None:
    floor.make_db(str(path), rows)
    if groups != FLOOR_GROUPS:  # same rows over the asked number of groups, like openrdv's demo
        con = sqlite3.connect(path)
        con.execute("update fiches set group_id = 1 + id % ?", (groups,))
        con.commit()
        con.close()


def _make_openrdv_db(path: Path, rows: int, groups: int) -> dict[str, Any]:
    env = {**os.environ, "OPENRDV_DATABASE_URL": f"sqlite:///{path}"}
    subprocess.run([str(BIN / "openrdv"), "db", "upgrade"], env=env, check=True, capture_output=True)
    done = subprocess.run(
        [
            str(BIN / "openrdv"),
            "demo",
            "--fiches",
            str(rows),
            "--vevents",
            "0",
            "--groups",
            str(groups),
            "--json",
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if result.get("already"):
        raise SystemExit(f"{path} already held demo data: remove it or pass --fresh")
    return result


def prepare_data(floor_path: Path, rows: int, groups: int, fresh: bool) -> DataSet:
    """Both databases for `rows` fiches over `groups` groups, cached under bench/data/."""
    directory = BENCH / "data" / f"fiches{rows}_groups{groups}"
    meta_path = directory / "meta.json"
    if fresh and directory.exists():
        shutil.rmtree(directory)
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        data = DataSet(
            directory=directory,
            floor_db=directory / "floor.db",
            openrdv_db=directory / "openrdv.db",
            cached=True,
            **meta,
        )
        # a schema migration added since the cache was made must not break `openrdv serve`
        subprocess.run(
            [str(BIN / "openrdv"), "db", "upgrade"],
            check=True,
            capture_output=True,
            env={**os.environ, "OPENRDV_DATABASE_URL": data.openrdv_url},
        )
        return data

    building = directory.with_name(directory.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    floor = load_module(floor_path, "floor")
    seconds: dict[str, float] = {}
    log(f"generating the floor database ({rows:,} fiches over {groups} groups) ...")
    started = time.perf_counter()
    _make_floor_db(floor, building / "floor.db", rows, groups)
    seconds["floor"] = round(time.perf_counter() - started, 2)
    log(f"generating the openrdv database ({rows:,} fiches over {groups} groups) ...")
    started = time.perf_counter()
    demo = _make_openrdv_db(building / "openrdv.db", rows, groups)
    seconds["openrdv"] = round(time.perf_counter() - started, 2)
    meta = {
        "rows": rows,
        "groups": groups,
        "apikey": demo["apikey"],
        "email": demo["email"],
        "password": demo["password"],
        "floor_group_ids": list(range(1, groups + 1)),
        "openrdv_group_ids": demo["group_ids"],
        "seconds": seconds,
    }
    (building / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    building.rename(directory)  # only a complete data set ever carries the final name
    return DataSet(directory=directory, floor_db=directory / "floor.db", openrdv_db=directory / "openrdv.db", **meta)


# -- servers ------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class HttpAnswer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def json(self) -> Any:
        return json.loads(self.body)


def http_request(
    port: int, method: str, path: str, headers: Mapping[str, str] | None = None, body: bytes | None = None
) -> HttpAnswer:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=dict(headers or {}))
        response = conn.getresponse()
        return HttpAnswer(response.status, response.getheaders(), response.read())
    finally:
        conn.close()


class Server:
    """A server in its own process group, its output in a log file; stopped (the whole group) on exit."""

    def __init__(self, name: str, argv: Sequence[str], port: int, env: Mapping[str, str], log_dir: Path) -> None:
        self.name, self.argv, self.port, self.env = name, list(argv), port, dict(env)
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        with self.log_path.open("wb") as out:
            self.process = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=REPO,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def wait_ready(self, probe_path: str, timeout: float = 60.0) -> None:
        """Until the server answers HTTP at all (any status) on `probe_path`."""
        deadline = time.monotonic() + timeout
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                raise SystemExit(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                http_request(self.port, "GET", probe_path)
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"{self.name} did not answer within {timeout:.0f} s:\n{self.log_tail()}") from None
                time.sleep(0.2)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.process.wait(grace)
                break
            except subprocess.TimeoutExpired:
                continue
        # workers whose parent is gone are still in the group: make sure none is left behind
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# -- process memory (/proc) ---------------------------------------------------------------------------


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return sorted(set(found))


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and its parts (RssAnon: heap, e.g. SQLite's page cache; RssFile: mapped code and files), KiB."""
    found: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM"):
                found[name] = int(value.split()[0])
    except OSError:
        return {}
    return found


_TICK = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU time of these processes (/proc/<pid>/stat utime and stime)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5), counted from after "comm"
    return total / _TICK


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, total) CPU time of the whole machine, all cores, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / _TICK, sum(values) / _TICK


def busy_cores(seconds: float = 2.0) -> float:
    """How many cores the whole machine kept busy over the next `seconds`."""
    before = machine_cpu_seconds()[0]
    time.sleep(seconds)
    return (machine_cpu_seconds()[0] - before) / seconds


def wait_quiet(limit: float, threshold: float = 0.15, seconds: float = 3.0) -> float:
    """Wait (at most `limit` s) until the machine is quiet: less than `threshold` core busy over
    `seconds`. Returns the last reading."""
    start = time.monotonic()
    said = -30.0
    while True:
        busy = busy_cores(seconds)
        waited = time.monotonic() - start
        if busy < threshold or waited >= limit:
            return busy
        if waited - said >= 30:
            log(f"  machine busy ({busy:.2f} cores used by other processes), waited {waited:.0f} s ...")
            said = waited


class CpuMeter:
    """Where the CPU went during a load run, in cores: the server's workers, the load generator (a child
    of this process), and everything else on the machine (which skews the figures when it is not ~0)."""

    def __init__(self, server_pids: Sequence[int]) -> None:
        self.pids = list(server_pids)
        self.cores: dict[str, float] = {}
        self.per_worker: dict[int, float] = {}  # cores used by each server process

    def __enter__(self) -> CpuMeter:
        self._wall = time.perf_counter()
        self._each = {pid: process_cpu_seconds([pid]) for pid in self.pids}
        self._server = process_cpu_seconds(self.pids)
        self._children = _children_cpu()
        self._busy, _ = machine_cpu_seconds()
        return self

    def __exit__(self, *exc: object) -> None:
        wall = time.perf_counter() - self._wall
        server = process_cpu_seconds(self.pids) - self._server
        loadgen = _children_cpu() - self._children
        busy = machine_cpu_seconds()[0] - self._busy
        self.per_worker = {
            pid: round((process_cpu_seconds([pid]) - start) / wall, 2) for pid, start in self._each.items()
        }
        self.cores = {
            "server": round(server / wall, 2),
            "load_tool": round(loadgen / wall, 2),
            "other": round(max(0.0, busy - server - loadgen) / wall, 2),
            "idle": round(max(0.0, (os.cpu_count() or 1) - busy / wall), 2),
        }


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def worker_pids(server_pid: int) -> list[int]:
    """The worker processes of a multi-worker Uvicorn (multiprocessing's resource tracker is not one)."""
    return [p for p in children(server_pid) if "resource_tracker" not in cmdline(p)]


# -- load ---------------------------------------------------------------------------------------------


@dataclass
class Target:
    name: str
    port: int
    paths: list[str]  # requests rotate over these, one after the other
    headers: dict[str, str] = field(default_factory=dict)
    server_pid: int = 0  # the server process whose workers answer


@dataclass
class LoadResult:
    tool: str
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    non_2xx: int  # answers with a status >= 400 (wrk's "Non-2xx or 3xx responses")
    socket_errors: dict[str, int]
    bytes_per_response: float
    raw: str = ""
    cpu_cores: dict[str, float] = field(default_factory=dict)  # see CpuMeter
    worker_cores: list[float] = field(default_factory=list)  # cores used by each server worker
    lopsided_retries: int = 0  # runs done again because one worker had most of the connections

    @property
    def errors(self) -> int:
        return self.non_2xx + sum(self.socket_errors.values())

    def as_dict(self, raw: bool = True) -> dict[str, Any]:
        out = asdict(self)
        out["errors"] = self.errors
        if not raw:
            del out["raw"]
        return out


def lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


WRK_SCRIPT = """
local paths = {%(paths)s}
local extra = {%(headers)s}
local requests = {}
local count = 0

function init(args)
  local headers = {}
  for name, value in pairs(wrk.headers) do headers[name] = value end
  for name, value in pairs(extra) do headers[name] = value end
  for i, path in ipairs(paths) do requests[i] = wrk.format("GET", path, headers) end
end

function request()
  count = count + 1
  return requests[(count %% #requests) + 1]
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    "WRKJSON {\\"requests\\": %%d, \\"duration_us\\": %%d, \\"bytes\\": %%d, \\"status\\": %%d, " ..
    "\\"connect\\": %%d, \\"read\\": %%d, \\"write\\": %%d, \\"timeout\\": %%d, " ..
    "\\"p50\\": %%d, \\"p90\\": %%d, \\"p99\\": %%d, \\"max\\": %%d}\\n",
    summary.requests, summary.duration, summary.bytes, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def wrk_version() -> str:
    done = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
    return (done.stdout + done.stderr).strip().splitlines()[0] if (done.stdout + done.stderr).strip() else "wrk"


def ensure_wrk() -> bool:
    """wrk is on the PATH, installing Debian's package if it is missing and apt can."""
    if shutil.which("wrk"):
        return True
    if shutil.which("apt-get") and os.geteuid() == 0:
        log("wrk is missing: apt-get install -y wrk ...")
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], capture_output=True)
        if not shutil.which("wrk"):
            subprocess.run(["apt-get", "update", "-qq"], capture_output=True)
            subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], capture_output=True)
    return shutil.which("wrk") is not None


_LATENCY_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def parse_wrk_latency(text: str) -> dict[int, float]:
    """The "Latency Distribution" block of `wrk --latency`, in ms: {50: 1.23, 75: ..., 90: ..., 99: ...}."""
    found: dict[int, float] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].endswith("%") and parts[0][:-1].isdigit():
            value = parts[1]
            unit = next((u for u in ("us", "ms", "s", "m") if value.endswith(u)), None)
            if unit is not None:
                try:
                    found[int(parts[0][:-1])] = float(value[: -len(unit)]) * _LATENCY_UNITS[unit]
                except ValueError:
                    continue
    return found


def run_wrk(target: Target, seconds: float, connections: int, threads: int = 1) -> LoadResult:
    paths = ", ".join(lua_string(p) for p in target.paths)
    headers = ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in target.headers.items())
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix=f"bench-{target.name}-", delete=False) as lua:
        lua.write(WRK_SCRIPT % {"paths": paths, "headers": headers})
    try:
        argv = [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "--latency",
            "-s",
            lua.name,
            f"http://127.0.0.1:{target.port}",
        ]
        done = subprocess.run(argv, capture_output=True, text=True)
    finally:
        os.unlink(lua.name)
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed on {target.name} ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    data = json.loads(line[len("WRKJSON ") :])
    duration = data["duration_us"] / 1e6
    text_latency = parse_wrk_latency(done.stdout)  # the figures wrk prints: the same histogram, rounded
    return LoadResult(
        tool="wrk",
        requests=data["requests"],
        seconds=round(duration, 3),
        rps=data["requests"] / duration,
        p50_ms=data["p50"] / 1000,
        p90_ms=data["p90"] / 1000,
        p99_ms=data["p99"] / 1000,
        max_ms=data["max"] / 1000,
        non_2xx=data["status"],
        socket_errors={k: data[k] for k in ("connect", "read", "write", "timeout") if data[k]},
        bytes_per_response=data["bytes"] / max(1, data["requests"]),
        raw=done.stdout.replace(line + "\n", "") + (f"(printed percentiles: {text_latency})" if text_latency else ""),
    )


# -- the fallback load generator (keep-alive HTTP/1.1 over raw sockets, one asyncio loop) -------------


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, int, bool]:
    """(status, bytes, keep_alive) of one response."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length, chunked, keep_alive = 0, False, True
    for raw in lines[1:]:
        name, _, value = raw.partition(b":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value:
            chunked = True
        elif name == b"connection" and value == b"close":
            keep_alive = False
    size = len(head)
    if chunked:
        while True:
            size_line = await reader.readuntil(b"\r\n")
            chunk = int(size_line.split(b";")[0], 16)
            await reader.readexactly(chunk + 2)
            size += len(size_line) + chunk + 2
            if chunk == 0:
                break
    elif length:
        await reader.readexactly(length)
        size += length
    return status, size, keep_alive


async def _load_connection(spec: dict[str, Any], offset: int, stop_at: float, stats: dict[str, Any]) -> None:
    requests: list[bytes] = [r.encode("latin-1") for r in spec["requests"]]
    latencies: list[float] = stats["latencies"]
    index = offset
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    while time.perf_counter() < stop_at:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(spec["host"], spec["port"])
            assert reader is not None
            started = time.perf_counter()
            writer.write(requests[index % len(requests)])
            index += 1
            status, size, keep_alive = await asyncio.wait_for(_read_response(reader), timeout=10)
            if time.perf_counter() > stop_at:
                break  # finished after the end: not counted, like wrk
            latencies.append(time.perf_counter() - started)
            stats["bytes"] += size
            if status >= 400:
                stats["status"] += 1
            if not keep_alive:
                writer.close()
                reader = writer = None
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError):
            stats["read"] += 1
            if writer is not None:
                writer.close()
            reader = writer = None
            await asyncio.sleep(0.01)
    if writer is not None:
        writer.close()


async def _load(spec: dict[str, Any]) -> dict[str, Any]:
    stats: dict[str, Any] = {"latencies": [], "bytes": 0, "status": 0, "read": 0}
    started = time.perf_counter()
    stop_at = started + spec["seconds"]
    await asyncio.gather(*(_load_connection(spec, i, stop_at, stats) for i in range(spec["connections"])))
    duration = time.perf_counter() - started
    latencies = sorted(stats.pop("latencies"))

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))] * 1000 if latencies else 0.0

    return {
        "requests": len(latencies),
        "seconds": duration,
        "bytes": stats["bytes"],
        "status": stats["status"],
        "read": stats["read"],
        "p50": pct(50),
        "p90": pct(90),
        "p99": pct(99),
        "max": pct(100),
    }


def run_python_load(target: Target, seconds: float, connections: int) -> LoadResult:
    """The fallback: this module's asyncio load generator, in its own process like wrk would be."""
    host_header = f"127.0.0.1:{target.port}"
    extra = "".join(f"{k}: {v}\r\n" for k, v in target.headers.items())
    requests = [f"GET {p} HTTP/1.1\r\nHost: {host_header}\r\n{extra}\r\n" for p in target.paths]
    spec = {
        "host": "127.0.0.1",
        "port": target.port,
        "requests": requests,
        "seconds": seconds,
        "connections": connections,
    }
    done = subprocess.run([sys.executable, __file__, "loadgen", json.dumps(spec)], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"the load generator failed on {target.name}:\n{done.stderr}")
    data = json.loads(done.stdout)
    return LoadResult(
        tool="python-asyncio",
        requests=data["requests"],
        seconds=round(data["seconds"], 3),
        rps=data["requests"] / data["seconds"],
        p50_ms=data["p50"],
        p90_ms=data["p90"],
        p99_ms=data["p99"],
        max_ms=data["max"],
        non_2xx=data["status"],
        socket_errors={"read": data["read"]} if data["read"] else {},
        bytes_per_response=data["bytes"] / max(1, data["requests"]),
    )


def _loadgen_main(argv: list[str]) -> None:
    spec = json.loads(argv[0])
    try:
        import uvloop

        result = uvloop.run(_load(spec))
    except ImportError:
        result = asyncio.run(_load(spec))
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "loadgen":
        _loadgen_main(sys.argv[2:])
    else:
        print(__doc__)
        sys.exit(2)
