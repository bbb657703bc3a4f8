"""The list benchmark: openrdv's fiches list against the floor, side by side, on the same data.

    .venv/bin/python bench/list_bench.py [--rows 1000000] [--groups 100] [--duration 10] [--connections 32]

Targets, each loaded the same way (one load tool, same settings, one after the other, every request
on the next group in turn):
  floor    GET /api/v1/groups/{g}/fiches             the bare Starlette handler of floor.py
  session  GET /api/v1/groups/{g}/fiches.json        openrdv, `Cookie: _session_id=...` only
  basic    GET /api/v1/groups/{g}/fiches.json?apikey=KEY, `Authorization: Basic email:password`

Both servers run under Uvicorn (httptools, uvloop) with 2 worker processes. Prints req/s, p50, p99,
the ratios session/floor and basic/session, the idle memory of each openrdv worker, and PASS/FAIL
against the targets; writes the same to bench/results/list_bench.json. See bench/README.md.
"""

from __future__ import annotations

import argparse
import base64
import collections
import datetime as dt
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from common import (
    BENCH,
    BIN,
    REPO,
    CpuMeter,
    DataSet,
    LoadResult,
    Server,
    Target,
    cmdline,
    ensure_wrk,
    free_port,
    http_request,
    log,
    memory_kib,
    prepare_data,
    run_python_load,
    run_wrk,
    wait_quiet,
    worker_pids,
    wrk_version,
)

WORKERS = 2
WARMUP_SECONDS = 2.0
SESSION_VS_FLOOR = 0.5  # target: openrdv (session) req/s at least half the floor's
SESSION_VS_FLOOR_STRETCH = 0.7
BASIC_VS_SESSION = 0.8  # target: HTTP Basic costs at most a fifth of the session's throughput
RSS_LIMIT_MB = 100.0  # target: idle resident memory of one worker (MB = 10**6 bytes)
WORKER_BALANCE = 0.6  # a run where a worker did less than this share of another's work is lopsided
OTHER_CPU_WARNING = 0.2  # cores used by other processes during a run that make it suspect
# --gil: sample only the thread holding the GIL, i.e. where the interpreter spends its time; without
# it, threads waiting to take the GIL back after a SQLite call count too (BENCH_PYSPY_FLAGS="" for that)
PYSPY_FLAGS: list[str] = os.environ.get("BENCH_PYSPY_FLAGS", "--gil").split()
RESULTS = BENCH / "results" / "list_bench.json"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="fiches in each database")
    parser.add_argument("--groups", type=int, default=100, help="groups the fiches are spread over")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per target")
    parser.add_argument("--connections", type=int, default=32, help="concurrent keep-alive connections")
    parser.add_argument(
        "--floor",
        type=Path,
        default=REPO / ".." / "shared" / "bench" / "floor.py",
        help="path of floor.py (default: ../shared/bench/floor.py from the repository root)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure every target this many times, interleaved, and keep each one's best "
        "round (against noise from other processes on the machine)",
    )
    parser.add_argument("--lopsided-retries", type=int, default=3, metavar="N",
                        help="measure again (at most N times) a run where one worker got most connections")  # fmt: skip
    parser.add_argument("--fresh", action="store_true", help="rebuild the cached databases under bench/data/")
    parser.add_argument("--data-only", action="store_true", help="generate (or check) the data, then stop")
    parser.add_argument(
        "--tool",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="load generator: wrk (installed with apt-get if missing), or the asyncio "
        "fallback of bench/common.py; auto = wrk when it can be had",
    )
    parser.add_argument(
        "--profile",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="after the measurements, load the session target again for SECONDS under "
        "py-spy (all openrdv workers) and print the hottest functions",
    )
    parser.add_argument("--wait-quiet", type=float, default=0.0, metavar="SECONDS",
                        help="first wait, at most SECONDS, until other processes leave the CPU idle")  # fmt: skip
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON results")
    args = parser.parse_args(argv)
    args.floor = args.floor.resolve()
    if not args.floor.is_file():
        parser.error(f"--floor: no file {args.floor}")
    if args.rounds < 1 or args.duration < 1 or args.connections < 1:
        parser.error("--rounds, --duration and --connections must be at least 1")
    if args.rows < 25 * args.groups or args.groups < 1:
        parser.error("--rows must give every group at least one full page (25 fiches)")
    return args


def _terminate(signum: int, _frame: object) -> NoReturn:
    raise SystemExit(128 + signum)  # unwinds through the `with` blocks, which stop the servers


def machine_info() -> dict[str, Any]:
    cpu = ""
    try:
        cpu = next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            "",
        )
    except OSError:
        pass
    revision = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "--no-optional-locks", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "openrdv_commit": revision + ("+changes" if dirty else ""),
    }


# -- the targets --------------------------------------------------------------------------------------


def login(port: int, data: DataSet) -> str:
    """One session for the demo pro (it belongs to every group); its API key is bound to the session."""
    form = urllib.parse.urlencode(
        {"apikey": data.apikey, "pro[email]": data.email, "pro[password]": data.password}
    ).encode()
    answer = http_request(
        port,
        "POST",
        "/api/v1/sessions/login.json",
        body=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    if answer.status != 200:
        raise SystemExit(f"login failed: {answer.status} {answer.body[:300]!r}")
    for cookie in answer.header("set-cookie"):
        name, _, rest = cookie.partition("=")
        if name.strip() == "_session_id":
            return rest.split(";", 1)[0]
    raise SystemExit(f"login answered no _session_id cookie: {answer.headers}")


def check_target(target: Target, rows: int, groups: int) -> None:
    """The first and last pages of the rotation answer 200 with 25 records and the group's total."""
    for path in (target.paths[0], target.paths[-1]):
        answer = http_request(target.port, "GET", path, headers=target.headers)
        if answer.status != 200:
            raise SystemExit(f"{target.name}: GET {path} answered {answer.status}: {answer.body[:300]!r}")
        page = answer.json()
        total = page.get("totalRecords")
        if len(page.get("records", [])) != 25 or not isinstance(total, int):
            raise SystemExit(
                f"{target.name}: GET {path} is not a 25-record page with totalRecords: {answer.body[:300]!r}"
            )
        low, high = rows // groups, -(-rows // groups)
        if not low <= total <= high:
            raise SystemExit(f"{target.name}: totalRecords {total}, expected {low}..{high} ({path})")
    log(f"  {target.name:<8} 200, 25 records, totalRecords {total} ({len(answer.body):,} bytes)")


def make_targets(data: DataSet, floor: Server, openrdv: Server, session_id: str) -> list[Target]:
    key = urllib.parse.quote(data.apikey, safe="")
    basic = base64.b64encode(f"{data.email}:{data.password}".encode()).decode()
    return [
        Target("floor", floor.port, [f"/api/v1/groups/{g}/fiches" for g in data.floor_group_ids],
               server_pid=floor.pid),
        Target("session", openrdv.port, [f"/api/v1/groups/{g}/fiches.json" for g in data.openrdv_group_ids],
               {"Cookie": f"_session_id={session_id}"}, server_pid=openrdv.pid),
        Target("basic", openrdv.port,
               [f"/api/v1/groups/{g}/fiches.json?apikey={key}" for g in data.openrdv_group_ids],
               {"Authorization": f"Basic {basic}"}, server_pid=openrdv.pid),
    ]  # fmt: skip


def load(tool: str, target: Target, seconds: float, connections: int) -> LoadResult:
    if tool == "wrk":
        return run_wrk(target, seconds, connections, threads=1)
    return run_python_load(target, seconds, connections)


def load_measured(tool: str, target: Target, seconds: float, connections: int, retries: int) -> LoadResult:
    """Warm up, then one measured run, with where the CPU went during it. A lopsided run (the kernel
    handed most keep-alive connections to one worker, see `unbalanced`) is done again, up to `retries`
    times: it measures the accept race, not the server."""
    for attempt in range(retries + 1):
        load(tool, target, WARMUP_SECONDS, connections)
        with CpuMeter(worker_pids(target.server_pid)) as meter:
            result = load(tool, target, seconds, connections)
        result.cpu_cores = meter.cores
        result.worker_cores = list(meter.per_worker.values())
        result.lopsided_retries = attempt
        if not unbalanced(result) or attempt == retries:
            return result
        log(f"  lopsided run ({result.rps:,.0f} req/s, worker cores {result.worker_cores}): again")
    raise AssertionError("unreachable")


# -- profile ------------------------------------------------------------------------------------------


def profile(
    tool: str, target: Target, server_pid: int, seconds: float, connections: int, tmp: Path, keep: Path
) -> dict[str, Any]:
    """py-spy on every openrdv worker while the target is under load: self and inclusive time per function."""
    spy = shutil.which("py-spy") or (str(BIN / "py-spy") if (BIN / "py-spy").exists() else None)
    if spy is None:
        log("  py-spy is not installed (.venv/bin/pip install py-spy): no profile")
        return {}
    raw = tmp / "profile.txt"
    recorder = subprocess.Popen(
        [
            spy,
            "record",
            "--pid",
            str(server_pid),
            "--subprocesses",
            "--rate",
            "200",
            *PYSPY_FLAGS,
            "--format",
            "raw",
            "--output",
            str(raw),
            "--duration",
            str(round(seconds)),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        time.sleep(0.5)
        result = load(tool, target, seconds, connections)
        recorder.wait(seconds + 30)
    finally:
        if recorder.poll() is None:
            os.killpg(recorder.pid, signal.SIGKILL)
            recorder.wait()
    if not raw.exists():
        log(f"  py-spy wrote nothing: {recorder.stderr.read().decode()[-500:] if recorder.stderr else ''}")
        return {}
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    per_process: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        pid = ""
        while stack.startswith("process "):  # `process PID:"COMMAND LINE";` for the server, then its worker
            pid, _, stack = stack[len("process ") :].partition(':"')
            stack = stack.partition('";')[2]
        per_process[pid] += n
        frames = [f for f in stack.split(";") if f and not f.startswith("thread ")]
        if not frames:
            continue
        total += n
        names = [_function(f) for f in frames]
        own[names[-1]] += n
        for name in set(names):
            inclusive[name] += n
    keep.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(raw, keep)  # the collapsed stacks, for flame graph tools
    return {
        "samples": total,
        "flags": PYSPY_FLAGS,
        "per_process": {pid: round(100 * n / total, 1) for pid, n in per_process.items()},
        "rps_under_profiler": round(result.rps, 1),
        "self": [(name, round(100 * n / total, 1)) for name, n in own.most_common(20)],
        "inclusive": [(name, round(100 * n / total, 1)) for name, n in inclusive.most_common(40)],
    }


def _function(frame: str) -> str:
    """`handler (/…/src/openrdv/app.py:120)` → `handler (openrdv/app.py)`: no line, a short path."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("/site-packages/", "/src/", "/lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{name} ({path})"


# -- report -------------------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def unbalanced(result: LoadResult) -> bool:
    """One worker worked less than 60 % as much as another during the run."""
    cores = result.worker_cores
    return len(cores) > 1 and max(cores) > 0 and min(cores) / max(cores) < WORKER_BALANCE


def server_cpu_ms(result: LoadResult) -> float:
    return 1000 * result.cpu_cores.get("server", 0.0) / result.rps if result.rps else 0.0


def report(
    results: dict[str, LoadResult], rss: list[dict[str, Any]], floor_rss: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    tool = next(iter(results.values())).tool
    log("")
    log(f"{'target':<9}{'req/s':>9}{'p50 ms':>8}{'p90 ms':>8}{'p99 ms':>8}{'max ms':>8}{'requests':>9}"
        f"{'errors':>7}{'bytes/resp':>11}{'CPU ms/req':>11}   CPU cores: server/load tool/other")  # fmt: skip
    contended, lopsided = [], []
    for name, r in results.items():
        cpu = r.cpu_cores
        log(f"{name:<9}{r.rps:>9.1f}{r.p50_ms:>8.2f}{r.p90_ms:>8.2f}{r.p99_ms:>8.2f}{r.max_ms:>8.1f}{r.requests:>9}"
            f"{r.errors:>7}{r.bytes_per_response:>11.0f}{server_cpu_ms(r):>11.3f}   {cpu.get('server', 0):.2f} / "
            f"{cpu.get('load_tool', 0):.2f} / {cpu.get('other', 0):.2f}")  # fmt: skip
        if cpu.get("other", 0) > OTHER_CPU_WARNING:
            contended.append(name)
        if unbalanced(r):
            lopsided.append(f"{name} ({' / '.join(f'{c:.2f}' for c in r.worker_cores)} cores)")
    log(f"(load tool: {tool}, the targets one after the other; CPU ms/req: the server workers' CPU time per "
        "request, which other processes on the machine hardly change)")  # fmt: skip
    if contended:
        log(f"WARNING: other processes used over {OTHER_CPU_WARNING} core during {', '.join(contended)}: "
            "those req/s are low; rerun on a quiet machine (--wait-quiet) or with --rounds 3")  # fmt: skip
    if lopsided:
        log(f"WARNING: uneven load over the workers in {', '.join(lopsided)}: the kernel gave one worker most "
            "of the keep-alive connections, so that req/s is low; --rounds 3 keeps each target's best run")  # fmt: skip
    ratios = {
        "session/floor": results["session"].rps / results["floor"].rps,
        "basic/session": results["basic"].rps / results["session"].rps,
        "basic/floor": results["basic"].rps / results["floor"].rps,
        # the same comparisons in CPU per request (floor's cost / openrdv's): informative, not targets
        "cpu floor/session": server_cpu_ms(results["floor"]) / max(1e-9, server_cpu_ms(results["session"])),
        "cpu session/basic": server_cpu_ms(results["session"]) / max(1e-9, server_cpu_ms(results["basic"])),
    }
    log(f"CPU per request: floor/session {ratios['cpu floor/session']:.3f}, session/basic "
        f"{ratios['cpu session/basic']:.3f} (about what the req/s ratios are with the CPU to themselves)")  # fmt: skip
    checks: list[dict[str, Any]] = []
    s_f = ratios["session/floor"]
    checks.append(
        {
            "name": "session/floor req/s",
            "value": round(s_f, 3),
            "target": f">= {SESSION_VS_FLOOR}",
            "pass": s_f >= SESSION_VS_FLOOR,
            "note": f"stretch >= {SESSION_VS_FLOOR_STRETCH}: "
            + ("met" if s_f >= SESSION_VS_FLOOR_STRETCH else "not met"),
        }
    )
    b_s = ratios["basic/session"]
    checks.append(
        {
            "name": "basic/session req/s",
            "value": round(b_s, 3),
            "target": f">= {BASIC_VS_SESSION}",
            "pass": b_s >= BASIC_VS_SESSION,
            "note": "",
        }
    )
    for worker in rss:
        checks.append(
            {
                "name": f"idle RSS, openrdv worker {worker['pid']}",
                "value": worker["mb"],
                "target": f"<= {RSS_LIMIT_MB:.0f} MB",
                "pass": worker["mb"] <= RSS_LIMIT_MB,
                "note": f"floor workers: {', '.join(str(w['mb']) for w in floor_rss)} MB",
            }
        )
    if not rss:
        checks.append(
            {
                "name": "idle RSS, openrdv workers",
                "value": None,
                "target": f"<= {RSS_LIMIT_MB:.0f} MB",
                "pass": False,
                "note": "no worker process found",
            }
        )
    log("")
    log(f"{'check':<34}{'value':>10}  {'target':<10}{'':>6}  note")
    for check in checks:
        value = (
            "-"
            if check["value"] is None
            else (
                f"{check['value']:.3f}"
                if isinstance(check["value"], float) and check["value"] < 10
                else f"{check['value']}"
            )
        )
        unit = " MB" if "RSS" in check["name"] and check["value"] is not None else ""
        log(f"{check['name']:<34}{value + unit:>10}  {check['target']:<10}{verdict(check['pass']):>6}  {check['note']}")
    return checks, ratios


def choose_tool(wanted: str) -> tuple[str, str]:
    """("wrk" or "python", its description)."""
    tool = wanted
    if wanted in ("auto", "wrk"):
        if ensure_wrk():
            tool = "wrk"
        elif wanted == "wrk":
            raise SystemExit("wrk is not installed and apt-get could not install it")
        else:
            tool = "python"
    if tool == "wrk":
        return tool, f"{wrk_version()}, 1 thread"
    return tool, "python-asyncio (bench/common.py, one process)"


def get_data(args: argparse.Namespace) -> DataSet:
    started = time.perf_counter()
    data = prepare_data(args.floor, args.rows, args.groups, args.fresh)
    where, took = data.directory.relative_to(REPO), data.seconds
    if data.cached:
        log(
            f"data: cached in {where} (generated in floor {took['floor']:.1f} s, openrdv "
            f"{took['openrdv']:.1f} s; --fresh rebuilds), ready in {time.perf_counter() - started:.1f} s"
        )
    else:
        log(f"data: generated in {where}: floor {took['floor']:.1f} s, openrdv {took['openrdv']:.1f} s")
    return data


def idle_rss(server_pid: int) -> list[dict[str, Any]]:
    found = []
    for pid in worker_pids(server_pid):
        mem = memory_kib(pid)
        if "VmRSS" in mem:
            kib = mem["VmRSS"]
            found.append({"pid": pid, "mb": round(kib * 1024 / 1e6, 1), "kib": kib, "cmd": cmdline(pid)[:100],
                          "anon_kib": mem.get("RssAnon"), "file_kib": mem.get("RssFile"),
                          "peak_kib": mem.get("VmHWM")})  # fmt: skip
    return found


@dataclass
class Measurements:
    results: dict[str, LoadResult] = field(default_factory=dict)  # the figures: each target's best round
    rounds: dict[str, list[LoadResult]] = field(default_factory=dict)
    rss: list[dict[str, Any]] = field(default_factory=list)
    floor_rss: list[dict[str, Any]] = field(default_factory=list)
    profile: dict[str, Any] = field(default_factory=dict)
    openrdv_env: dict[str, str] = field(default_factory=dict)  # OPENRDV_* settings the server ran with


def measure(args: argparse.Namespace, tool: str, data: DataSet) -> Measurements:
    """Start both servers, check and load each target in turn, read the workers' memory; stop the servers."""
    out = Measurements()
    floor_port, openrdv_port = free_port(), free_port()
    floor_env = {**os.environ, "FLOOR_DB": str(data.floor_db)}
    openrdv_env = {**os.environ, "OPENRDV_DATABASE_URL": data.openrdv_url, "OPENRDV_LOG_LEVEL": "WARNING"}
    # the same server for both: Uvicorn, httptools, uvloop, no access log, WORKERS processes
    floor_argv = [str(BIN / "uvicorn"), "floor:app", "--app-dir", str(args.floor.parent), "--workers",
                  str(WORKERS), "--http", "httptools", "--loop", "uvloop", "--no-access-log",
                  "--host", "127.0.0.1", "--port", str(floor_port)]  # fmt: skip
    openrdv_argv = [str(BIN / "openrdv"), "serve", "--workers", str(WORKERS),
                    "--host", "127.0.0.1", "--port", str(openrdv_port)]  # fmt: skip
    with (
        tempfile.TemporaryDirectory(prefix="openrdv-bench-") as tmp,
        Server("floor", floor_argv, floor_port, floor_env, Path(tmp)) as floor_server,
        Server("openrdv", openrdv_argv, openrdv_port, openrdv_env, Path(tmp)) as openrdv_server,
    ):
        floor_server.wait_ready("/api/v1/groups/1/fiches")
        openrdv_server.wait_ready("/api/v1/openapi.json")
        log(
            f"servers: floor on :{floor_port} (pid {floor_server.pid}), "
            f"openrdv on :{openrdv_port} (pid {openrdv_server.pid})"
        )
        targets = make_targets(data, floor_server, openrdv_server, login(openrdv_port, data))
        log("checks before the load:")
        for target in targets:
            check_target(target, data.rows, data.groups)
        for n in range(1, args.rounds + 1):
            for target in targets:
                label = f"{target.name} (round {n})" if args.rounds > 1 else target.name
                log(f"{label}: warm-up {WARMUP_SECONDS:g} s, then {args.duration:g} s measured ...")
                result = load_measured(tool, target, args.duration, args.connections, args.lopsided_retries)
                out.rounds.setdefault(target.name, []).append(result)
                log(f"  {result.rps:,.1f} req/s, p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms, "
                    f"CPU cores {result.cpu_cores}, per worker {result.worker_cores}"
                    + (f"  !!! {result.errors} ERRORS" if result.errors else ""))  # fmt: skip
        # several rounds: each target's best one (other processes on the machine only ever slow a run down)
        out.results = {name: max(runs, key=lambda r: r.rps) for name, runs in out.rounds.items()}
        out.openrdv_env = {k: v for k, v in openrdv_env.items() if k.startswith("OPENRDV_") and "URL" not in k}
        time.sleep(2.0)
        out.rss, out.floor_rss = idle_rss(openrdv_server.pid), idle_rss(floor_server.pid)
        for worker in out.rss:
            log(f"idle RSS of openrdv worker {worker['pid']}: {worker['mb']:.1f} MB ({worker['kib']:,} KiB: "
                f"anonymous {worker['anon_kib']:,}, files {worker['file_kib']:,}; "
                f"peak {worker['peak_kib']:,})")  # fmt: skip
        if args.profile > 0:
            log(f"profile: the session target for {args.profile:g} s under py-spy (not in the figures) ...")
            keep = args.output.with_name(args.output.stem + "_profile.txt")
            out.profile = profile(tool, targets[1], openrdv_server.pid, args.profile, args.connections,
                                  Path(tmp), keep)  # fmt: skip
    return out


SCAFFOLDING = (
    "(threading.py)",
    "(concurrent/",
    "(multiprocessing/",
    "(asyncio/runners.py)",
    "(<string>)",
    "(uvicorn/_subprocess.py)",
    "(uvicorn/supervisors/",
    "(uvicorn/_compat.py)",
    "(uvicorn/server.py)",
)


def print_profile(prof: dict[str, Any]) -> None:
    log("")
    log(f"py-spy {' '.join(prof['flags'])} on all openrdv workers, session target: {prof['samples']} samples "
        f"({', '.join(f'pid {p}: {v}%' for p, v in prof['per_process'].items())}), "
        f"{prof['rps_under_profiler']} req/s under the profiler; share of the samples:")  # fmt: skip
    log("  self time:")
    for name, pct in prof["self"][:15]:
        log(f"    {pct:5.1f}%  {name}")
    log("  inclusive time (thread, process and event-loop scaffolding left out):")
    shown = [(n, p) for n, p in prof["inclusive"] if not any(s in n for s in SCAFFOLDING)]
    for name, pct in shown[:25]:
        log(f"    {pct:5.1f}%  {name}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored (`cmd &`)
    started_at = dt.datetime.now(dt.UTC)
    command = shlex.join([".venv/bin/python", "bench/list_bench.py", *(sys.argv[1:] if argv is None else argv)])
    log(
        f"list benchmark: {args.rows:,} fiches over {args.groups} groups, {args.duration:g} s per target, "
        f"{args.connections} connections, {WORKERS} workers per server"
    )
    tool, tool_name = choose_tool(args.tool)
    log(f"load tool: {tool_name}")
    data = get_data(args)
    if args.data_only:
        return 0

    if args.wait_quiet > 0:
        log(f"waiting until the machine is quiet (at most {args.wait_quiet:g} s) ...")
        log(f"  {wait_quiet(args.wait_quiet):.2f} cores busy")
    load_before = os.getloadavg()
    m = measure(args, tool, data)  # the servers are stopped when it returns, whatever happened
    load_after = os.getloadavg()

    checks, ratios = report(m.results, m.rss, m.floor_rss)
    if args.rounds > 1:
        log("rounds (req/s; the best one is kept): " + "; ".join(
            f"{name} {' / '.join(f'{r.rps:.0f}' for r in runs)}" for name, runs in m.rounds.items()))  # fmt: skip
    errors = {name: r.errors for name, r in m.results.items() if r.errors}
    if errors:
        log("")
        log("!" * 78)
        log(f"!!! ERRORS DURING THE LOAD: {errors} (non-2xx answers or socket errors)")
        log("!!! the figures are not valid")
        log("!" * 78)
    log("")
    log(
        f"load average (1 min) before {load_before[0]:.2f}, after {load_after[0]:.2f} "
        "(anything else busy on this machine skews the figures)"
    )
    if m.profile:
        print_profile(m.profile)

    document = {
        "benchmark": "list",
        "date": started_at.isoformat(timespec="seconds"),
        "command": command,
        "machine": {**machine_info(), "load_tool": tool_name, "load_avg_before": load_before[0],
                    "load_avg_after": load_after[0]},
        "settings": {"rows": args.rows, "groups": args.groups, "duration_s": args.duration,
                     "warmup_s": WARMUP_SECONDS, "connections": args.connections, "rounds": args.rounds,
                     "wrk_threads": 1 if tool == "wrk" else None, "workers": WORKERS,
                     "server": "uvicorn, httptools, uvloop", "openrdv_env": m.openrdv_env},
        "data": {"directory": str(data.directory.relative_to(REPO)), "cached": data.cached,
                 "generation_s": data.seconds},
        "results": {name: r.as_dict(raw=False) for name, r in m.results.items()},
        "rounds": {name: [r.as_dict(raw=False) for r in runs] for name, runs in m.rounds.items()},
        "ratios": {k: round(v, 3) for k, v in ratios.items()},
        "idle_rss": {"openrdv_workers": m.rss, "floor_workers": m.floor_rss},
        "checks": checks,
        "errors": errors,
        "profile": m.profile,
        "wrk_output": {name: r.raw for name, r in m.results.items() if r.raw},
    }  # fmt: skip
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2) + "\n")
    log(f"\nwritten: {args.output.relative_to(REPO) if args.output.is_relative_to(REPO) else args.output}")
    if errors:
        return 2
    if args.check and not all(c["pass"] for c in checks):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
