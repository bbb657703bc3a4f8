"""The calendar API benchmark: lists over 1,000,000 fiches and 1,000,000 vevents in ONE group.

    .venv/bin/python bench/calendar_bench.py [--fresh] [--calls 200] [--only a,b,c,d,e]
                                             [--database-url postgresql://...] [--profile]

Data: `openrdv db upgrade` then `openrdv demo --fiches 1000000 --vevents 1000000 --groups 1 --json`,
made once into bench/data/calendar-1m.db (its credentials in bench/data/calendar-1m.json); --fresh
makes it again. With --database-url postgresql://... the same two commands load that database
(which must be empty the first time); the credentials are kept in bench/data/calendar-1m-pg-<hash>.json.

Targets a-d are SERVER time: `openrdv.web.api.Api.handle` called in this process on an
`ApiRequest` built beforehand (route, query parsing, authentication, SQL, rendering to bytes), timed
with time.perf_counter, after a warm-up, over --calls calls with parameters that change every call:
  a. fiches page filtered on updated_at >= D (D leaves 40-60 % of the rows), 25 rows   p50 <= 10 ms
  b. fiches `search=<3-6 letters of a real last name>`                                 p50 <= 20 ms
  c. fiches page at startIndex ~500,000                                                p50 <= 150 ms
  d. vevents of one calendar for one week (start >= D1 and start < D1+7d), 25 rows     p50 <= 10 ms
Target e goes through a real server (`openrdv serve --workers 1`): GET fiches.json?results=all
streamed with httpx, >= 100,000 records/s, and the server process's peak VmRSS <= 150 MB (sampled
every 50 ms). Calls authenticate with HTTP Basic (the pro) and the API key in the query string.

For a missed target the script prints where the time goes: every SQL statement of one call, timed
again on its own with its EXPLAIN QUERY PLAN (SQLite), and the top functions of a cProfile run (or of
py-spy on the server, for e). Results: bench/results/calendar_bench.json. See bench/README.md.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import datetime as dt
import hashlib
import io
import json
import math
import os
import platform
import pstats
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
import orjson
from common import (
    BENCH,
    BIN,
    Server,
    children,
    cmdline,
    free_port,
    log,
    machine_cpu_seconds,
    process_cpu_seconds,
    rss_kib,
    wait_quiet,
)

from openrdv.agenda.zones import zone
from openrdv.db.engine import Database, dialect_of, sqlite_path
from openrdv.query.search import normalize
from openrdv.settings import Settings
from openrdv.web.api import Api
from openrdv.web.http import ApiRequest, ApiResponse

ROWS = 1_000_000
RESULTS = BENCH / "results" / "calendar_bench.json"
SEED = 20240501
DAY = 86400


# -- shared with booking_bench.py: in-process calls, statistics, verdicts ---------------------------


@dataclass
class Credentials:
    apikey: str
    email: str
    password: str

    @property
    def basic(self) -> str:
        return "Basic " + base64.b64encode(f"{self.email}:{self.password}".encode()).decode()


class InProcess:
    """The server's request pipeline in this process, on its own Database (like one worker)."""

    def __init__(self, url: str, creds: Credentials) -> None:
        self.settings = Settings.from_env(database_url=url, log_level="WARNING")
        self.db = Database(url, pool_size=self.settings.db_threads)
        self.api = Api(self.settings, self.db)
        self.creds = creds
        self.count = 0

    def request(
        self,
        method: str,
        path: str,
        params: Sequence[tuple[str, str]] = (),
        body: bytes = b"",
        content_type: str | None = None,
    ) -> ApiRequest:
        """A request as the ASGI layer hands it over: path after /api/v1/, raw query string, headers."""
        self.count += 1
        query = urllib.parse.urlencode([*params, ("apikey", self.creds.apikey)])
        headers = {"authorization": self.creds.basic, "host": "127.0.0.1", "accept": "*/*"}
        if content_type:
            headers["content-type"] = content_type
            headers["content-length"] = str(len(body))
        return ApiRequest(method, path, query, headers, body, client="127.0.0.1", request_id=f"bench{self.count}")

    def timed(self, request: ApiRequest) -> tuple[float, ApiResponse]:
        """(milliseconds, response) of one Api.handle call."""
        started = time.perf_counter()
        response = self.api.handle(request)
        return (time.perf_counter() - started) * 1000, response

    def close(self) -> None:
        self.db.close()


def expect(response: ApiResponse, status: int, what: str) -> dict[str, Any]:
    if response.status != status:
        raise SystemExit(f"{what}: HTTP {response.status} (expected {status}): {response.body[:500]!r}")
    parsed: dict[str, Any] = orjson.loads(response.body) if response.body else {}
    return parsed


@dataclass
class Stats:
    calls: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    mean_ms: float
    min_ms: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> Stats:
        ordered = sorted(samples)
        n = len(ordered)

        def pct(p: float) -> float:  # nearest rank
            return ordered[min(n, max(1, math.ceil(p / 100 * n))) - 1]

        return cls(
            n,
            round(statistics.median(ordered), 3),
            round(pct(95), 3),
            round(ordered[-1], 3),
            round(statistics.fmean(ordered), 3),
            round(ordered[0], 3),
        )


@dataclass
class Verdict:
    key: str
    name: str
    figure: float
    unit: str
    target: float
    compare: Literal["<=", ">=", "=="] = "<="
    stats: Stats | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        if self.compare == ">=":
            return self.figure >= self.target
        if self.compare == "==":
            return self.figure == self.target
        return self.figure <= self.target

    def line(self) -> str:
        head = f"  {self.key:<3}{self.name:<58} {self.figure:>12,.2f} {self.unit:<9}"
        return f"{head} target {self.compare} {self.target:,g} {self.unit:<9} {'PASS' if self.passed else 'FAIL'}"

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["passed"] = self.passed
        return out


class LoadMeter:
    """CPU the rest of the machine used while we measured (this process and its children excluded):
    on a shared machine, figures taken while it is not ~0 are pessimistic."""

    def __enter__(self) -> LoadMeter:
        self._wall = time.perf_counter()
        self._busy = machine_cpu_seconds()[0]
        self._own = _own_cpu()
        self.other_cores = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        wall = max(1e-9, time.perf_counter() - self._wall)
        busy = machine_cpu_seconds()[0] - self._busy
        own = _own_cpu() - self._own
        self.other_cores = round(max(0.0, busy - own) / wall, 2)


def _own_cpu() -> float:
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def measure(
    api: InProcess,
    label: str,
    make: Callable[[random.Random], ApiRequest],
    calls: int,
    warmup: int,
    seed: int = SEED,
) -> tuple[Stats, list[dict[str, Any]], float]:
    """Time `calls` calls of requests from `make` (a fresh request each call) after `warmup` calls.
    Gives the statistics, the parsed bodies' envelopes and the cores other processes used meanwhile."""
    rnd = random.Random(seed)
    for _ in range(warmup):
        expect(api.timed(make(rnd))[1], 200, f"{label} (warm-up)")
    requests = [make(rnd) for _ in range(calls)]
    samples: list[float] = []
    envelopes: list[dict[str, Any]] = []
    with LoadMeter() as meter:
        for request in requests:
            ms, response = api.timed(request)
            samples.append(ms)
            envelopes.append(_envelope(expect(response, 200, label)))
    return Stats.of(samples), envelopes, meter.other_cores


def _envelope(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "records"}


def machine_info() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "sqlite": __import__("sqlite3").sqlite_version,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "git": git_revision(),
    }


def git_revision() -> str:
    """The commit measured, with "+dirty src" when src/ differs from it (others edit it meanwhile)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=BENCH, capture_output=True, text=True)
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "../src"], cwd=BENCH, capture_output=True, text=True
        )
    except OSError:
        return "unknown"
    return head.stdout.strip() + (" +dirty src" if dirty.stdout.strip() else "")


def redact_url(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    return url


def run_cli(url: str, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPENRDV_DATABASE_URL": url}
    done = subprocess.run([str(BIN / "openrdv"), *argv], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"openrdv {' '.join(argv)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


def write_results(path: Path, results: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    log(f"results written to {path}")


# -- diagnostics: where the time of one call goes ------------------------------------------------------


def sql_breakdown(api: InProcess, request: ApiRequest, repeat: int = 3) -> dict[str, Any]:
    """Where one call's time goes in SQLite (SQLite only):

    - timeline: every statement the call ran (sqlite3's trace hook fires as each statement, trigger
      sub-statement included, starts; values expanded) with the time until the next one starts, so a
      write, its triggers and the COMMIT show too (the Python between two statements is counted in);
    - statements: each SELECT re-run alone (best of `repeat`) with its EXPLAIN QUERY PLAN;
    - if_analyzed: the same with planner statistics, when the database has none: ANALYZE inside a
      transaction that is rolled back, so the data set is left as it was."""
    if api.db.dialect != "sqlite":
        return {}
    marks: list[tuple[float, str]] = []
    with api.db.connect() as conn:
        raw = conn.raw
        raw.set_trace_callback(lambda sql: marks.append((time.perf_counter(), sql)))
        started = time.perf_counter()
        try:
            api.api.handle(request)
        finally:
            ended = time.perf_counter()
            raw.set_trace_callback(None)
        # sub-statements (trigger bodies, FTS5's own queries: "-- ..." in the trace) count in the
        # statement that runs them
        top = [(t, sql) for t, sql in marks if not sql.startswith("--")]
        subs = Counter(sum(1 for t, _ in top if t <= mark) for mark, sql in marks if sql.startswith("--"))
        times = [t for t, _ in top] + [ended]
        timeline = [
            {"ms": round((times[i + 1] - t) * 1000, 3), "sql": sql, "sub_statements": subs.get(i + 1, 0)}
            for i, (t, sql) in enumerate(top)
        ]
        selects = [sql for _, sql in top if sql.lstrip().split(None, 1)[0].upper() in ("SELECT", "WITH")]

        def timed_all() -> list[dict[str, Any]]:
            out: list[dict[str, Any]] = []
            for sql in selects:
                best = float("inf")
                for _ in range(repeat):
                    began = time.perf_counter()
                    raw.execute(sql).fetchall()
                    best = min(best, (time.perf_counter() - began) * 1000)
                plan = [row[3] for row in raw.execute("EXPLAIN QUERY PLAN " + sql).fetchall()]
                out.append({"ms": round(best, 3), "sql": sql, "plan": plan})
            return out

        as_is = timed_all()
        has_stats = raw.execute("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone()[0]
        with_stats: list[dict[str, Any]] = []
        if not has_stats:
            raw.execute("BEGIN IMMEDIATE")
            try:
                raw.execute("ANALYZE")
                with_stats = timed_all()
            finally:
                raw.execute("ROLLBACK")
    return {
        "call_ms": round((ended - started) * 1000, 3),
        "before_first_statement_ms": round(((marks[0][0] if marks else ended) - started) * 1000, 3),
        "timeline": timeline,
        "statements": as_is,
        "planner_statistics": bool(has_stats),
        "if_analyzed": with_stats,
    }


def cprofile_summary(api: InProcess, requests: Sequence[ApiRequest], top: int = 6) -> list[str]:
    """The functions with the most own time over these calls (cProfile, tottime)."""
    profiler = cProfile.Profile()
    profiler.enable()
    for request in requests:
        api.api.handle(request)
    profiler.disable()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(top)
    lines = text.getvalue().splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip().startswith("ncalls")), 0)
    return [line.rstrip() for line in lines[start : start + top + 1] if line.strip()]


_SELECT_LIST = re.compile(r"^SELECT (.+?) FROM ", re.S)


def short_sql(sql: str, limit: int = 300) -> str:
    """The SQL with a long select list shown as its column count."""
    match = _SELECT_LIST.match(sql)
    if match and match.group(1).count(",") >= 4:
        sql = f"SELECT <{match.group(1).count(',') + 1} columns> FROM " + sql[match.end() :]
    return sql if len(sql) <= limit else sql[:limit] + " ..."


def print_breakdown(breakdown: dict[str, Any], floor_ms: float = 0.05, timeline_floor_ms: float = 0.2) -> None:
    if not breakdown:
        return
    timeline = breakdown["timeline"]
    log(
        f"      one call traced: {breakdown['call_ms']:.2f} ms; {breakdown['before_first_statement_ms']:.2f} ms "
        "before its first SQL statement, then each statement until the next one starts:"
    )
    shown = [i for i in timeline if i["ms"] >= timeline_floor_ms]
    for item in shown:
        subs = f" [+{item['sub_statements']} trigger/FTS sub-statements]" if item["sub_statements"] else ""
        log(f"      {item['ms']:8.2f} ms  {short_sql(item['sql'])}{subs}")
    rest = [i for i in timeline if i["ms"] < timeline_floor_ms]
    if rest:
        log(
            f"      {sum(i['ms'] for i in rest):8.2f} ms  {len(rest)} other statements, each under "
            f"{timeline_floor_ms} ms"
        )
    analyzed = breakdown["if_analyzed"]
    log(
        "      its SELECT statements re-run alone, with their plans"
        + (
            "; then with planner statistics (the database has no sqlite_stat1: ANALYZE run inside a "
            "transaction, rolled back):"
            if analyzed
            else ":"
        )
    )
    small = 0.0
    hidden = 0
    for index, item in enumerate(breakdown["statements"]):
        other = analyzed[index] if analyzed else None
        if item["ms"] < floor_ms and (other is None or other["ms"] < floor_ms):
            small += item["ms"]
            hidden += 1
            continue
        log(f"      {item['ms']:8.2f} ms  {short_sql(item['sql'])}")
        for step in item["plan"]:
            log(f"                   plan: {step}")
        if other is not None:
            log(f"      {other['ms']:8.2f} ms  the same with planner statistics")
            if other["plan"] != item["plan"]:
                for step in other["plan"]:
                    log(f"                   plan: {step}")
    if hidden:
        log(
            f"      {small:8.2f} ms  {hidden} other SELECTs (authentication, tenant guard, ...), "
            f"each under {floor_ms} ms"
        )


# -- data ---------------------------------------------------------------------------------------------


@dataclass
class DataSet:
    url: str
    meta_path: Path
    creds: Credentials
    group_id: int
    generation: dict[str, Any]
    cached: bool


def data_label(fiches: int, vevents: int) -> str:
    return "1m" if fiches == vevents == ROWS else f"{fiches}f-{vevents}v"


def prepare_data(database_url: str | None, fiches: int, vevents: int, fresh: bool) -> DataSet:
    label = data_label(fiches, vevents)
    if database_url is None or dialect_of(database_url) == "sqlite":
        return _prepare_sqlite(database_url, label, fiches, vevents, fresh)
    return _prepare_postgresql(database_url, label, fiches, vevents, fresh)


def _load(url: str, fiches: int, vevents: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """`openrdv db upgrade` and `openrdv demo` on `url`: the demo's JSON and the generation times."""
    log(f"generating {fiches:,} fiches and {vevents:,} vevents in one group with `openrdv demo` ...")
    started = time.perf_counter()
    run_cli(url, "db", "upgrade")
    upgrade = time.perf_counter() - started
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = run_cli(url, "demo", "--fiches", str(fiches), "--vevents", str(vevents), "--groups", "1", "--json")
    demo_seconds = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    generation = {
        "db_upgrade_s": round(upgrade, 2),
        "demo_s": round(demo_seconds, 2),
        "demo_user_cpu_s": round(cpu_after.ru_utime - cpu_before.ru_utime, 2),
        "demo_sys_cpu_s": round(cpu_after.ru_stime - cpu_before.ru_stime, 2),
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "fiches": fiches,
        "vevents": vevents,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    log(
        f"  generated in {demo_seconds:.1f} s (user CPU {generation['demo_user_cpu_s']} s, "
        f"system {generation['demo_sys_cpu_s']} s), schema {upgrade:.1f} s"
    )
    return result, generation


def _meta(result: dict[str, Any], generation: dict[str, Any]) -> dict[str, Any]:
    return {
        "apikey": result["apikey"],
        "email": result["email"],
        "password": result["password"],
        "group_id": result["group_id"],
        "generation": generation,
    }


def _dataset(url: str, meta_path: Path, meta: dict[str, Any], cached: bool) -> DataSet:
    creds = Credentials(meta["apikey"], meta["email"], meta["password"])
    return DataSet(url, meta_path, creds, int(meta["group_id"]), meta.get("generation", {}), cached)


def _prepare_sqlite(database_url: str | None, label: str, fiches: int, vevents: int, fresh: bool) -> DataSet:
    path = Path(sqlite_path(database_url)).resolve() if database_url else BENCH / "data" / f"calendar-{label}.db"
    meta_path = path.with_suffix(".json")
    url = f"sqlite:///{path}"
    if fresh:
        for stale in (path, meta_path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            stale.unlink(missing_ok=True)
    if path.exists() and meta_path.exists():
        run_cli(url, "db", "upgrade")  # a migration added since the cache was made must not break serve
        return _dataset(url, meta_path, json.loads(meta_path.read_text()), cached=True)
    if path.exists():
        raise SystemExit(f"{path} exists without {meta_path.name}: remove it or pass --fresh")
    path.parent.mkdir(parents=True, exist_ok=True)
    building = path.with_name(path.stem + ".building.db")
    for stale in (building, Path(f"{building}-wal"), Path(f"{building}-shm")):
        stale.unlink(missing_ok=True)
    result, generation = _load(f"sqlite:///{building}", fiches, vevents)
    building.with_name("demo.txt").unlink(missing_ok=True)  # the demo's notes: the same as the meta file
    for suffix in ("-wal", "-shm"):
        if Path(f"{building}{suffix}").exists():
            raise SystemExit(f"{building}{suffix} was left behind: the demo did not close the database cleanly")
    building.rename(path)  # only a complete data set ever carries the final name
    meta = _meta(result, generation)
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    return _dataset(url, meta_path, meta, cached=False)


def _prepare_postgresql(url: str, label: str, fiches: int, vevents: int, fresh: bool) -> DataSet:
    digest = hashlib.sha256(url.encode()).hexdigest()[:12]
    meta_path = BENCH / "data" / f"calendar-{label}-pg-{digest}.json"
    if meta_path.exists() and not fresh:
        run_cli(url, "db", "upgrade")
        return _dataset(url, meta_path, json.loads(meta_path.read_text()), cached=True)
    result, generation = _load(url, fiches, vevents)
    if result.get("already"):
        raise SystemExit(
            f"{redact_url(url)} already holds demo data whose credentials this script did not keep: give it "
            "an empty database (the script never drops anything)"
        )
    meta = _meta(result, generation)
    meta_path.parent.mkdir(parents=True, exist_ok=True)
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    return _dataset(url, meta_path, meta, cached=False)


# -- request parameters drawn from the data ---------------------------------------------------------


@dataclass
class Params:
    group_id: int
    zone_name: str
    updated_low: int  # updated_at values leaving 60 % and 40 % of the group's fiches
    updated_high: int
    fiches: int
    fragments: list[str]
    calendars: dict[int, tuple[int, int]]  # calendar id → (first start, last start) of its vevents


def read_params(api: InProcess, group_id: int) -> Params:
    with api.db.connect() as conn:
        zone_name = str(conn.scalar("SELECT timezone FROM groups WHERE id = ?", (group_id,)))
        total = int(conn.scalar("SELECT count(*) FROM fiches WHERE group_id = ?", (group_id,)) or 0)
        if total < 1000:
            raise SystemExit(f"group {group_id} has only {total} fiches")

        def updated_at_rank(rank: int) -> int:
            return int(
                conn.scalar(
                    "SELECT updated_at FROM fiches WHERE group_id = ? ORDER BY updated_at LIMIT 1 OFFSET ?",
                    (group_id, rank),
                )
            )

        low, high = updated_at_rank(int(total * 0.40)), updated_at_rank(int(total * 0.60))
        names = {
            str(r[0])
            for r in conn.all("SELECT lastname FROM fiches WHERE group_id = ? ORDER BY id LIMIT 5000", (group_id,))
        }
        calendars = {
            int(r[0]): (int(r[1]), int(r[2]))
            for r in conn.all(
                "SELECT calendar_id, min(start), max(start) FROM vevents WHERE group_id = ? AND rrule = '' "
                "GROUP BY calendar_id",
                (group_id,),
            )
        }
    fragments: set[str] = set()
    for name in names:
        for word in normalize(name).split():
            letters = "".join(ch for ch in word if ch.isalpha())
            for size in range(3, 7):
                fragments.update(letters[i : i + size] for i in range(len(letters) - size + 1))
    if not fragments or not calendars:
        raise SystemExit("the data set has no last names or no vevents to draw parameters from")
    return Params(group_id, zone_name, low, high, total, sorted(fragments), calendars)


# -- targets a-d (in-process) ---------------------------------------------------------------------------


@dataclass
class ListTarget:
    key: str
    name: str
    target_ms: float
    make: Callable[[random.Random], ApiRequest]


def list_targets(api: InProcess, p: Params) -> list[ListTarget]:
    tz = zone(p.zone_name)
    fiches = f"groups/{p.group_id}/fiches.json"
    vevents = f"groups/{p.group_id}/vevents.json"
    calendar_ids = sorted(p.calendars)

    def filtered(rnd: random.Random) -> ApiRequest:
        since = tz.format(rnd.randrange(p.updated_low, p.updated_high + 1))
        return api.request(
            "GET",
            fiches,
            [
                ("conditions[0][field]", "updated_at"),
                ("conditions[0][op]", ">="),
                ("conditions[0][value]", since),
                ("results", "25"),
            ],
        )

    def search(rnd: random.Random) -> ApiRequest:
        return api.request("GET", fiches, [("search", rnd.choice(p.fragments))])

    def deep(rnd: random.Random) -> ApiRequest:
        return api.request("GET", fiches, [("startIndex", str(rnd.randrange(490_000, 510_001))), ("results", "25")])

    def week(rnd: random.Random) -> ApiRequest:
        calendar = rnd.choice(calendar_ids)
        first, last = p.calendars[calendar]
        day = tz.local_datetime(rnd.randrange(first, max(first + 1, last - 7 * DAY))).date()
        monday = day - dt.timedelta(days=day.weekday())
        d1, d2 = f"{monday.isoformat()} 00:00:00", f"{(monday + dt.timedelta(days=7)).isoformat()} 00:00:00"
        return api.request(
            "GET",
            vevents,
            [
                ("calendar_id", str(calendar)),
                ("conditions[0][field]", "start"),
                ("conditions[0][op]", ">="),
                ("conditions[0][value]", d1),
                ("conditions[1][field]", "start"),
                ("conditions[1][op]", "<"),
                ("conditions[1][value]", d2),
                ("results", "25"),
            ],
        )

    return [
        ListTarget("a", "fiches, updated_at >= D (~half the rows), 25 rows, p50", 10.0, filtered),
        ListTarget("b", "fiches, search=<3-6 letters of a last name>, p50", 20.0, search),
        ListTarget("c", "fiches, startIndex ~500,000, 25 rows, p50", 150.0, deep),
        ListTarget("d", "vevents, one calendar, one week, 25 rows, p50", 10.0, week),
    ]


def run_list_target(api: InProcess, t: ListTarget, calls: int, warmup: int, profile: bool) -> Verdict:
    stats, envelopes, other = measure(api, t.key, t.make, calls, warmup)
    totals = [int(e.get("totalRecords", 0)) for e in envelopes]
    returned = [int(e.get("recordsReturned", 0)) for e in envelopes]
    details: dict[str, Any] = {
        "totalRecords": {"min": min(totals), "median": statistics.median(totals), "max": max(totals)},
        "recordsReturned": {"min": min(returned), "max": max(returned)},
        "distinct_requests": len({e.get("totalRecords") for e in envelopes}),
        "other_processes_cores": other,
    }
    verdict = Verdict(t.key, t.name, stats.p50_ms, "ms", t.target_ms, stats=stats, details=details)
    log(verdict.line())
    log(
        f"       p95 {stats.p95_ms:.2f} ms  max {stats.max_ms:.2f} ms  min {stats.min_ms:.2f} ms over "
        f"{stats.calls} calls; totalRecords median {details['totalRecords']['median']:,} "
        f"(min {min(totals):,}, max {max(totals):,}); other processes used {other} cores"
    )
    if not verdict.passed or profile:
        rnd = random.Random(SEED + 1)
        breakdown = sql_breakdown(api, t.make(rnd))
        print_breakdown(breakdown)
        top = cprofile_summary(api, [t.make(rnd) for _ in range(20)])
        log("      cProfile of 20 more calls, top functions by own time:")
        for line in top:
            log(f"        {line}")
        details["diagnosis"] = {"sql": breakdown, "cprofile_tottime": top}
    return verdict


# -- target e (a real server) ----------------------------------------------------------------------------


class RssSampler(threading.Thread):
    def __init__(self, pid: int, every: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.samples: list[int] = []
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            value = rss_kib(self.pid)
            if value is not None:
                self.samples.append(value)
            self._halt.wait(self.every)

    def stop(self) -> list[int]:
        self._halt.set()
        self.join()
        return self.samples


def pyspy_top(pid: int, seconds: float, top: int = 12) -> list[str]:
    """py-spy on the server for `seconds`, sampling only the thread that holds the GIL: the functions
    with the most own samples."""
    spy = shutil.which("py-spy") or str(BIN / "py-spy")
    if not Path(spy).exists():
        return ["py-spy is not installed"]
    with tempfile.NamedTemporaryFile(suffix=".txt", delete=False) as out:
        target = out.name
    try:
        done = subprocess.run(
            [
                spy,
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(max(1, round(seconds))),
                "--format",
                "raw",
                "--nonblocking",
                "--gil",
                "--output",
                target,
            ],
            capture_output=True,
            text=True,
        )
        leaves: Counter[str] = Counter()
        total = 0
        for line in Path(target).read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if count.isdigit():
                leaves[stack.split(";")[-1]] += int(count)
                total += int(count)
    except OSError as exc:
        return [f"py-spy failed: {exc}"]
    finally:
        os.unlink(target)
    if not total:
        return [f"py-spy recorded nothing: {done.stderr.strip()[-300:]}"]
    return [f"{100 * n / total:5.1f}%  {frame}" for frame, n in leaves.most_common(top)]


@dataclass
class Streamed:
    status: int
    body: bytearray
    seconds: float
    first_byte: float


def stream_once(client: httpx.Client, url: str, params: dict[str, str], headers: dict[str, str]) -> Streamed:
    body = bytearray()
    started = time.perf_counter()
    first_byte = 0.0
    with client.stream("GET", url, params=params, headers=headers) as response:
        for chunk in response.iter_bytes():
            if not first_byte:
                first_byte = time.perf_counter() - started
            body += chunk
    return Streamed(response.status_code, body, time.perf_counter() - started, first_byte)


def count_records(body: bytearray) -> tuple[int, dict[str, Any]]:
    """Records of a streamed JSON collection, checked three ways: `"id":` keys counted (inside a JSON
    string a quote is always escaped, so only keys match), the JSON parsed, and its envelope."""
    ids = body.count(b'"id":')
    tail = bytes(body[body.rfind(b"]") + 1 :]).lstrip(b",")
    envelope: dict[str, Any] = orjson.loads(b"{" + tail) if tail.endswith(b"}") else {}
    parsed = orjson.loads(bytes(body))
    records = len(parsed["records"])
    del parsed
    if not (records == ids == envelope.get("totalRecords") == envelope.get("recordsReturned")):
        raise SystemExit(
            f"e: the stream does not add up: {records} records parsed, {ids} ids counted, envelope {envelope}"
        )
    return records, envelope


def run_stream(data: DataSet, expected: int, profile: bool) -> list[Verdict]:
    port = free_port()
    env = {**os.environ, "OPENRDV_DATABASE_URL": data.url, "OPENRDV_LOG_LEVEL": "WARNING"}
    log_dir = Path(tempfile.mkdtemp(prefix="calendar-bench-"))
    argv = [str(BIN / "openrdv"), "serve", "--workers", "1", "--port", str(port)]
    url = f"http://127.0.0.1:{port}/api/v1/groups/{data.group_id}/fiches.json"
    params = {"results": "all", "apikey": data.creds.apikey}
    headers = {"Authorization": data.creds.basic}
    profile_top: list[str] = []
    with (
        Server("calendar-serve", argv, port, env, log_dir) as server,
        httpx.Client(timeout=httpx.Timeout(120.0)) as client,
    ):
        server.wait_ready("/api/v1/openapi.json")
        warm = client.get(url, params={"results": "25", "apikey": data.creds.apikey}, headers=headers)
        if warm.status_code != 200:
            raise SystemExit(f"e: warm-up answered HTTP {warm.status_code}: {warm.text[:300]}")
        time.sleep(0.5)
        # `openrdv serve --workers 1` runs Uvicorn in the serve process itself: that pid is the worker
        workers = [c for c in children(server.pid) if "resource_tracker" not in cmdline(c)]
        worker = workers[0] if workers else server.pid
        idle_kib = rss_kib(worker) or 0
        sampler = RssSampler(worker)
        server_cpu, own_cpu, busy = process_cpu_seconds([worker]), _self_cpu(), machine_cpu_seconds()[0]
        sampler.start()
        run = stream_once(client, url, params, headers)
        samples = sampler.stop()
        server_cpu = process_cpu_seconds([worker]) - server_cpu
        own_cpu = _self_cpu() - own_cpu
        other = max(0.0, machine_cpu_seconds()[0] - busy - server_cpu - own_cpu) / run.seconds
        if run.status != 200:
            raise SystemExit(f"e: HTTP {run.status}: {bytes(run.body[:300])!r}")
        records, envelope = count_records(run.body)
        rate = records / run.seconds
        if profile or rate < 100_000:
            log("      py-spy --gil on the server during a second stream (not in the figures) ...")
            holder: list[list[str]] = []
            spy = threading.Thread(target=lambda: holder.append(pyspy_top(worker, min(run.seconds * 0.8, 10.0))))
            spy.start()
            stream_once(client, url, params, headers)
            spy.join()
            profile_top = holder[0] if holder else []
    shutil.rmtree(log_dir, ignore_errors=True)
    if records != expected:
        log(f"  note: {records:,} records streamed, {expected:,} expected from the data set")
    peak_mb = max(samples) * 1024 / 1e6 if samples else 0.0
    details: dict[str, Any] = {
        "command": " ".join(argv[1:]),
        "worker_pid_is_serve_pid": worker == server.pid,
        "records": records,
        "bytes": len(run.body),
        "seconds": round(run.seconds, 3),
        "first_byte_s": round(run.first_byte, 3),
        "envelope": envelope,
        "server_cpu_s": round(server_cpu, 2),
        "server_cpu_cores": round(server_cpu / run.seconds, 2),
        "server_cpu_us_per_record": round(server_cpu / records * 1e6, 2),
        "records_per_server_cpu_second": round(records / server_cpu) if server_cpu else None,
        "client_cpu_cores": round(own_cpu / run.seconds, 2),
        "other_processes_cores": round(other, 2),
        "idle_rss_mb": round(idle_kib * 1024 / 1e6, 1),
    }
    if profile_top:
        details["pyspy_gil_own_samples"] = profile_top
    verdicts = [
        Verdict(
            "e1",
            "fiches.json?results=all through `openrdv serve`, records/s",
            rate,
            "records/s",
            100_000,
            ">=",
            details=details,
        ),
        Verdict(
            "e2",
            "peak VmRSS of the server process during the stream",
            peak_mb,
            "MB",
            150.0,
            details={"samples_every_s": 0.05, "samples": len(samples), "idle_mb": details["idle_rss_mb"]},
        ),
    ]
    for verdict in verdicts:
        log(verdict.line())
    log(
        f"       {records:,} records, {len(run.body) / 1e6:,.1f} MB in {run.seconds:.2f} s (first byte after "
        f"{run.first_byte * 1000:.0f} ms); RSS idle {details['idle_rss_mb']} MB, peak {peak_mb:.1f} MB over "
        f"{len(samples)} samples"
    )
    log(
        f"       server CPU {server_cpu:.1f} s = {details['server_cpu_cores']} cores, "
        f"{details['server_cpu_us_per_record']} us/record, i.e. at most "
        f"{details['records_per_server_cpu_second'] or 0:,} records/s on one full core; client "
        f"{details['client_cpu_cores']} cores; other processes {details['other_processes_cores']} cores"
    )
    for line in profile_top:
        log(f"        {line}")
    return verdicts


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- main -------------------------------------------------------------------------------------------------


def quiet(limit: float) -> None:
    """--wait-quiet: the machine is shared; figures taken while other processes run are pessimistic."""
    if limit > 0:
        log(f"waiting until the machine is quiet (at most {limit:g} s) ...")
        log(f"  {wait_quiet(limit):.2f} cores busy")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="default: sqlite:///bench/data/calendar-1m.db (cached)")
    parser.add_argument("--fresh", action="store_true", help="generate the data again")
    parser.add_argument("--fiches", type=int, default=ROWS, help="fiches in the group (default 1,000,000)")
    parser.add_argument("--vevents", type=int, default=ROWS, help="vevents in the group (default 1,000,000)")
    parser.add_argument("--calls", type=int, default=200, help="timed calls per target a-d (at least 200)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed calls before each target")
    parser.add_argument("--only", default="a,b,c,d,e", help="the targets to run, e.g. a,d")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="diagnose every target, not only the missed ones (py-spy on the server for e)",
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before measuring, wait at most this long until other processes leave the CPU idle",
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.calls < 200:
        parser.error("--calls must be at least 200")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    only = {k.strip() for k in args.only.split(",") if k.strip()}
    started = time.perf_counter()
    data = prepare_data(args.database_url, args.fiches, args.vevents, args.fresh)
    gen = data.generation
    log(
        f"data: {redact_url(data.url)} group {data.group_id}"
        + (" (cached)" if data.cached else "")
        + f", generated with `openrdv demo` in {gen.get('demo_s', '?')} s"
    )
    verdicts: list[Verdict] = []
    if "demo_s" in gen:
        sizes = f"{int(gen.get('fiches', 0)):,} fiches + {int(gen.get('vevents', 0)):,} vevents"
        verdicts.append(
            Verdict(
                "g",
                f"data generator: openrdv demo, {sizes}",
                float(gen["demo_s"]),
                "s",
                60.0,
                details=gen,
            )
        )
        log(verdicts[-1].line() + (" (cached: from the run that made it)" if data.cached else ""))
        log(
            f"       user CPU {gen.get('demo_user_cpu_s', '?')} s, system {gen.get('demo_sys_cpu_s', '?')} s; "
            f"load average after: {gen.get('loadavg_after', '?')}"
        )
    results: dict[str, Any] = {
        "benchmark": "calendar_bench",
        "machine": machine_info(),
        "database": redact_url(data.url),
        "data": {"group_id": data.group_id, "cached": data.cached, "generation": gen, "meta": str(data.meta_path)},
        "method": {
            "server_time": "Api.handle in process on a built ApiRequest, time.perf_counter",
            "calls": args.calls,
            "warmup": args.warmup,
            "seed": SEED,
        },
    }
    quiet(args.wait_quiet)
    api = InProcess(data.url, data.creds)
    try:
        params = read_params(api, data.group_id)
        results["data"].update(
            {
                "fiches": params.fiches,
                "calendars": {str(k): v for k, v in params.calendars.items()},
                "updated_at_range": [params.updated_low, params.updated_high],
                "search_fragments": len(params.fragments),
            }
        )
        log(
            f"server time of Api.handle in this process, {args.calls} calls per target after {args.warmup} "
            "warm-up calls:"
        )
        for target in list_targets(api, params):
            if target.key in only:
                verdicts.append(run_list_target(api, target, args.calls, args.warmup, args.profile))
    finally:
        api.close()
    if "e" in only:
        quiet(args.wait_quiet)
        log("a real server, `openrdv serve --workers 1`, streaming results=all:")
        verdicts += run_stream(data, params.fiches, args.profile)
    results["targets"] = [v.as_dict() for v in verdicts]
    results["summary"] = {
        v.key: {"figure": round(v.figure, 3), "unit": v.unit, "target": v.target, "passed": v.passed} for v in verdicts
    }
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    write_results(args.output, results)
    failed = [v.key for v in verdicts if not v.passed]
    missed = f"; missed: {', '.join(failed)}" if failed else ""
    log(f"{len(verdicts) - len(failed)}/{len(verdicts)} targets met{missed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
