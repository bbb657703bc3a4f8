"""SQLite and PostgreSQL side by side, in one run: the foundation's list benchmark (a 25-row fiches
page with session auth, 2 workers, wrk) and the 50-client booking race, on each engine.

    .venv/bin/python bench/engines_bench.py [--rows 1000000] [--groups 100] [--duration 10]
                                            [--postgres postgresql://...]

Without --postgres a throw-away cluster is started with scripts/pg-cluster and stopped at the end.
Target: PostgreSQL list throughput >= 0.6 x SQLite's on the same machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    BIN,
    REPO,
    DataSet,
    Server,
    Target,
    ensure_wrk,
    free_port,
    log,
    prepare_data,
    run_wrk,
)
from list_bench import login

RESULTS = REPO / "bench" / "results"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--postgres", help="a PostgreSQL URL (its public schema is replaced)")
    parser.add_argument("--floor", type=Path, default=REPO.parent / "shared" / "bench" / "floor.py")
    parser.add_argument("--skip-race", action="store_true")
    return parser.parse_args()


def cli(url: str, *args: str) -> str:
    env = {**os.environ, "OPENRDV_DATABASE_URL": url}
    done = subprocess.run([str(BIN / "openrdv"), *args], env=env, check=True, capture_output=True, text=True)
    return done.stdout


def load_postgres(url: str, rows: int, groups: int) -> DataSet:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")
    started = time.perf_counter()
    cli(url, "db", "upgrade")
    demo = json.loads(
        cli(url, "demo", "--fiches", str(rows), "--vevents", "0", "--groups", str(groups), "--json")
        .strip()
        .splitlines()[-1]
    )
    seconds = round(time.perf_counter() - started, 1)
    log(f"PostgreSQL data: {rows:,} fiches over {groups} groups loaded in {seconds} s")
    return DataSet(
        directory=Path(tempfile.gettempdir()),
        rows=rows,
        groups=groups,
        floor_db=Path(),
        openrdv_db=Path(),
        apikey=demo["apikey"],
        email=demo["email"],
        password=demo["password"],
        floor_group_ids=[],
        openrdv_group_ids=demo["group_ids"],
        seconds={"openrdv": seconds},
    )


def measure_list(name: str, url: str, data: DataSet, args: argparse.Namespace, logs: Path) -> dict[str, Any]:
    port = free_port()
    env = {**os.environ, "OPENRDV_DATABASE_URL": url, "OPENRDV_LOG_LEVEL": "WARNING"}
    argv = [str(BIN / "openrdv"), "serve", "--workers", "2", "--host", "127.0.0.1", "--port", str(port)]
    with Server(f"openrdv-{name}", argv, port, env, logs) as server:
        server.wait_ready("/healthz")
        session = login(port, data)
        target = Target(
            name,
            port,
            [f"/api/v1/groups/{g}/fiches.json" for g in data.openrdv_group_ids],
            {"Cookie": f"_session_id={session}"},
            server_pid=server.pid,
        )
        run_wrk(target, 2, args.connections)  # warm-up
        result = run_wrk(target, args.duration, args.connections)
    log(
        f"  {name:<10} {result.rps:8.0f} req/s   p50 {result.p50_ms:6.2f} ms   p99 {result.p99_ms:6.2f} ms   "
        f"errors {result.errors}"
    )
    return result.as_dict(raw=False)


def race(name: str, url: str | None) -> dict[str, Any]:
    output = RESULTS / f"race_{name}.json"
    argv = [
        sys.executable,
        str(REPO / "bench" / "booking_bench.py"),
        "--only",
        "c",
        "--repeats",
        "3",
        "--output",
        str(output),
    ]
    if url:
        argv += ["--database-url", url]
    subprocess.run(argv, cwd=REPO, check=False, capture_output=True, text=True)
    return json.loads(output.read_text()) if output.exists() else {"error": "the race did not run"}


def main() -> int:
    args = parse_args()
    if not ensure_wrk():
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    RESULTS.mkdir(parents=True, exist_ok=True)
    sqlite_data = prepare_data(args.floor, args.rows, args.groups, fresh=False)
    cluster = None
    url = args.postgres
    if not url:
        cluster = tempfile.mktemp(prefix="openrdv-bench-pg-")
        url = subprocess.run(
            [str(REPO / "scripts" / "pg-cluster"), "start", cluster], check=True, capture_output=True, text=True
        ).stdout.strip()
    try:
        pg_data = load_postgres(url, args.rows, args.groups)
        with tempfile.TemporaryDirectory() as logs:
            log(
                f"list benchmark, {args.rows:,} fiches over {args.groups} groups, 2 workers each, "
                f"{args.connections} connections, {args.duration:.0f} s each:"
            )
            lists = {
                "sqlite": measure_list("sqlite", sqlite_data.openrdv_url, sqlite_data, args, Path(logs)),
                "postgresql": measure_list("postgresql", url, pg_data, args, Path(logs)),
            }
        ratio = lists["postgresql"]["rps"] / lists["sqlite"]["rps"]
        log(f"  PostgreSQL / SQLite = {ratio:.2f}  (target >= 0.6: {'PASS' if ratio >= 0.6 else 'FAIL'})")
        races: dict[str, Any] = {}
        if not args.skip_race:
            races = {"sqlite": race("sqlite", None), "postgresql": race("postgresql", url)}
            for engine, result in races.items():
                for target in result.get("targets", []):
                    verdict = "PASS" if result.get("summary", {}).get(target["key"], {}).get("passed") else "FAIL"
                    log(
                        f"  race {engine:<10} {target['name']}: {target['figure']:.2f} {target['unit']} "
                        f"(target {target['compare']} {target['target']}: {verdict})"
                    )
        summary = {
            "command": " ".join(sys.argv),
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "rows": args.rows,
            "groups": args.groups,
            "list": lists,
            "postgresql_over_sqlite": round(ratio, 3),
            "race": races,
            "postgres_load_s": pg_data.seconds["openrdv"],
        }
        (RESULTS / "engines_bench.json").write_text(json.dumps(summary, indent=2) + "\n")
        return 0 if ratio >= 0.6 else 1
    finally:
        if cluster:
            subprocess.run([str(REPO / "scripts" / "pg-cluster"), "stop", cluster], check=False, capture_output=True)


if __name__ == "__main__":
    sys.exit(main())
