"""End-to-end harness: real `openrdv serve` processes on real databases, driven over HTTP.

Fixtures
--------
* ``server`` (session): one server on a migrated database, with a sandbox API key and one group +
  pro. Tests that write or need data of their own call ``server.new_tenant()``.
* ``start_server`` (function): ``start_server(env, fresh_database=False)`` starts another server
  process (own port; the session's database, or a new one) with extra environment such as
  ``OPENRDV_SESSION_IDLE=2``; it is stopped when the test ends.

Database: SQLite in a temporary directory by default; PostgreSQL when ``OPENRDV_TEST_POSTGRES`` holds a
``postgresql://`` URL: its ``public`` schema is dropped and recreated, and any further database (a
``fresh_database`` server, a pytest-xdist worker other than gw0) is a new database on the same server,
dropped at the end. ``provision_database`` is the one place that makes that choice.

Servers run with ``OPENRDV_LOGIN_ATTEMPTS=1000`` unless the test's env says otherwise: every client of
the suite comes from 127.0.0.1, failed logins are counted per client address in the (shared) database,
and the default allowance would let unrelated tests throttle each other. Throttling itself is tested
on dedicated servers, with requests from other loopback addresses (``login(..., local_address=...)``).
Likewise ``OPENRDV_RATE_LIMIT=1000000``: the suite sends thousands of requests a minute with one API key
from one address; the limiter still runs (and sets its headers) on every request. test_rate_limits.py
tests the limits on servers of its own.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import itertools
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
_VENV_CLI = REPO / ".venv" / "bin" / "openrdv"
OPENRDV_CLI = str(_VENV_CLI if _VENV_CLI.exists() else Path(sys.executable).with_name("openrdv"))
POSTGRES_ENV = "OPENRDV_TEST_POSTGRES"
START_TIMEOUT = 20.0
SHARED_SERVER_ENV = {"OPENRDV_LOGIN_ATTEMPTS": "1000", "OPENRDV_RATE_LIMIT": "1000000"}

_unique = itertools.count(1)


def unique(prefix: str = "x") -> str:
    """A name no other test (or earlier run on the same PostgreSQL database) uses."""
    return f"{prefix}{next(_unique)}{secrets.token_hex(4)}"


def sha1_hex(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def basic_header(email: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{email}:{password}".encode()).decode()


# -- the command line ------------------------------------------------------------------------------------
def clean_environment() -> dict[str, str]:
    """This process's environment without any OPENRDV_* setting (a developer's shell may have some):
    servers and commands get exactly the settings a test asks for."""
    return {k: v for k, v in os.environ.items() if not k.startswith("OPENRDV_")}


def run_cli(database_url: str, *args: str, as_json: bool = True) -> Any:
    """`openrdv <args> [--json]` against `database_url`; the parsed JSON (or the stdout text)."""
    env = {**clean_environment(), "OPENRDV_DATABASE_URL": database_url}
    command = [OPENRDV_CLI, *args, *(["--json"] if as_json else [])]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise AssertionError(
            f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        )
    return json.loads(done.stdout) if as_json else done.stdout


# -- databases -------------------------------------------------------------------------------------------
def _postgres_admin(url: str, statements: list[str]) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def _with_database_name(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


@dataclass
class Database:
    url: str
    drop: Callable[[], None] | None = None


def provision_database(directory: Path, name: str, *, primary: bool) -> Database:
    """The one place that picks the engine of the end-to-end tests, and migrates the schema.

    SQLite: a new file `<name>.db` in `directory`. PostgreSQL (``OPENRDV_TEST_POSTGRES``): the
    `primary` database is the given one, its public schema dropped and recreated; any other is a new
    database on the same server, dropped again by ``Database.drop``.
    """
    postgres = os.environ.get(POSTGRES_ENV, "").strip()
    if not postgres:
        database = Database(f"sqlite:///{directory / (name + '.db')}")
    elif primary:
        _postgres_admin(postgres, ["DROP SCHEMA IF EXISTS public CASCADE", "CREATE SCHEMA public"])
        database = Database(postgres)
    else:
        db_name = f"openrdv_e2e_{name}_{secrets.token_hex(4)}".lower()
        _postgres_admin(postgres, [f'CREATE DATABASE "{db_name}"'])
        database = Database(
            _with_database_name(postgres, db_name),
            drop=lambda: _postgres_admin(postgres, [f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)']),
        )
    run_cli(database.url, "db", "upgrade", as_json=False)
    return database


# -- servers ---------------------------------------------------------------------------------------------
@dataclass
class Tenant:
    group_id: int
    email: str
    password: str
    pro_id: int

    @property
    def auth(self) -> tuple[str, str]:
        """For httpx's `auth=` (HTTP Basic with the plain password)."""
        return (self.email, self.password)


@dataclass
class RawResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class RunningServer:
    url: str
    api: str
    database_url: str
    log_path: Path
    apikey: str
    group_id: int
    pro_email: str
    pro_password: str
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    pro_id: int = 0
    apikey_id: int = 0

    def cli(self, *args: str) -> dict[str, Any]:
        """`openrdv <args> --json` on this server's database, parsed."""
        result = run_cli(self.database_url, *args)
        assert isinstance(result, dict), result
        return result

    def new_tenant(self, *, extra_groups: int = 0, timezone: str = "Europe/Paris") -> Tenant:
        """A new group and a new pro in it (plus `extra_groups` more groups the pro belongs to)."""
        tag = unique("t")
        group = self.cli("group", "create", "--name", f"E2E {tag}", "--timezone", timezone)
        also: list[str] = []
        for n in range(extra_groups):
            other = self.cli("group", "create", "--name", f"E2E {tag} extra {n}", "--timezone", timezone)
            also += ["--also", str(other["id"])]
        password = "pw-" + secrets.token_hex(8)
        email = f"{tag}@e2e.example.org"
        pro = self.cli("pro", "create", "--group", str(group["id"]), "--email", email, "--password", password,
                       "--firstname", "Test", "--lastname", tag, *also)
        return Tenant(group_id=int(group["id"]), email=email, password=password, pro_id=int(pro["id"]))

    def new_apikey(self, env: str = "sandbox") -> dict[str, Any]:
        return self.cli("apikey", "create", "--name", unique("key"), "--env", env)

    def client(self, **kw: Any) -> httpx.Client:
        kw.setdefault("timeout", 30)
        return httpx.Client(base_url=self.api, **kw)

    def raw(
        self, method: str, target: str, headers: dict[str, str] | None = None, body: bytes | None = None
    ) -> RawResponse:
        """A request whose target is sent byte for byte (httpx would percent-encode `<`, `>`...).
        `target` is the path and query, e.g. ``/api/v1/groups?x=>=``."""
        parts = urlsplit(self.url)
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
        try:
            conn.putrequest(method, target, skip_accept_encoding=True)
            for name, value in (headers or {}).items():
                conn.putheader(name, value)
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            response = conn.getresponse()
            return RawResponse(response.status, response.getheaders(), response.read())
        finally:
            conn.close()

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def launch(database_url: str, log_path: Path, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """Start `openrdv serve` and wait until /healthz answers; the process and its base URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    full_env = {**clean_environment(), "OPENRDV_ENVIRONMENT": "sandbox", "PYTHONUNBUFFERED": "1"}
    full_env.update(env or {})
    full_env["OPENRDV_DATABASE_URL"] = database_url
    log = open(log_path, "ab")  # noqa: SIM115 - handed to the child, closed right after
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "openrdv", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=full_env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            cwd=str(log_path.parent), start_new_session=True,
        )
    finally:
        log.close()
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if process.poll() is not None:
            pytest.fail(f"openrdv serve exited with {process.returncode}:\n{log_path.read_text(errors='replace')}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            stop(process)
            pytest.fail(f"openrdv serve did not answer /healthz within {START_TIMEOUT:.0f} s:\n"
                        f"{log_path.read_text(errors='replace')}")
        time.sleep(0.05)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        # the server's own process group (start_new_session): its workers go with it
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@dataclass
class _Seed:
    apikey: str
    apikey_id: int
    group_id: int
    pro_id: int
    pro_email: str
    pro_password: str


def seed(database_url: str) -> _Seed:
    key = run_cli(database_url, "apikey", "create", "--name", unique("e2e-key"), "--env", "sandbox")
    tag = unique("main")
    group = run_cli(database_url, "group", "create", "--name", f"E2E {tag}", "--timezone", "Europe/Paris")
    password = "pw-" + secrets.token_hex(8)
    email = f"{tag}@e2e.example.org"
    pro = run_cli(database_url, "pro", "create", "--group", str(group["id"]), "--email", email,
                  "--password", password)
    return _Seed(key["key"], int(key["id"]), int(group["id"]), int(pro["id"]), email, password)


def start(database_url: str, log_path: Path, env: dict[str, str] | None, data: _Seed) -> RunningServer:
    process, url = launch(database_url, log_path, env)
    return RunningServer(
        url=url, api=url + "/api/v1", database_url=database_url, log_path=log_path, apikey=data.apikey,
        group_id=data.group_id, pro_email=data.pro_email, pro_password=data.pro_password, process=process,
        pro_id=data.pro_id, apikey_id=data.apikey_id,
    )


# -- fixtures --------------------------------------------------------------------------------------------
@dataclass
class _SessionState:
    directory: Path
    database: Database
    data: _Seed


@pytest.fixture(scope="session")
def _e2e_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_SessionState]:
    directory = tmp_path_factory.mktemp("e2e")
    # under pytest-xdist every worker has a session server: only one may reset the PostgreSQL database
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    database = provision_database(directory, "e2e" if worker == "gw0" else f"e2e_{worker}", primary=worker == "gw0")
    yield _SessionState(directory, database, seed(database.url))
    if database.drop is not None:
        database.drop()


@pytest.fixture(scope="session")
def server(_e2e_state: _SessionState) -> Iterator[RunningServer]:
    running = start(_e2e_state.database.url, _e2e_state.directory / "server.log", SHARED_SERVER_ENV,
                    _e2e_state.data)
    yield running
    assert running.process is not None
    stop(running.process)


StartServer = Callable[..., RunningServer]


@pytest.fixture
def start_server(_e2e_state: _SessionState, tmp_path: Path) -> Iterator[StartServer]:
    """``start_server(env, fresh_database=False)`` → another RunningServer, stopped at test end.

    With the session's database it shares the session server's API key, group and pro; with
    ``fresh_database=True`` it gets a new migrated database with its own key, group and pro."""
    started: list[RunningServer] = []
    databases: list[Database] = []

    def _start(env: dict[str, str] | None = None, *, fresh_database: bool = False) -> RunningServer:
        n = len(started) + 1
        if fresh_database:
            database = provision_database(tmp_path, f"extra{n}", primary=False)
            databases.append(database)
            data = seed(database.url)
        else:
            database = _e2e_state.database
            data = _e2e_state.data
        running = start(database.url, tmp_path / f"server{n}.log", {**SHARED_SERVER_ENV, **(env or {})}, data)
        started.append(running)
        return running

    yield _start
    for running in started:
        assert running.process is not None
        stop(running.process)
    for database in databases:
        if database.drop is not None:
            database.drop()


# -- helpers for the test modules (`from .conftest import ...`) ------------------------------------------
JSON_TYPE = "application/json; charset=utf-8"


def error_of(response: httpx.Response, status: int) -> str:
    """Assert the status and the error body shape; the error sentence."""
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {response.text}"
    assert response.headers.get("content-type") == JSON_TYPE, response.headers
    assert response.headers.get("x-request-id"), "every response carries X-Request-Id"
    body = response.json()
    assert isinstance(body, dict), body
    assert isinstance(body.get("error"), str), body
    assert body["error"].strip(), body
    return str(body["error"])


def assert_401(response: httpx.Response, *words: str) -> str:
    """A 401 with an error sentence containing `words` (any case) and no Basic challenge."""
    message = error_of(response, 401)
    assert "www-authenticate" not in response.headers, "a 401 never carries WWW-Authenticate"
    for word in words:
        assert word.lower() in message.lower(), f"{word!r} not in {message!r}"
    return message


def set_cookie_parts(response: httpx.Response, name: str = "_session_id") -> tuple[str, list[str]] | None:
    """(value, [attributes]) of the Set-Cookie for `name`, or None when there is none."""
    for header in response.headers.get_list("set-cookie"):
        first, *attributes = [part.strip() for part in header.split(";")]
        key, _, value = first.partition("=")
        if key == name:
            return value, attributes
    return None


def session_token(response: httpx.Response) -> str:
    parts = set_cookie_parts(response)
    assert parts is not None, f"no _session_id cookie in {response.headers}"
    assert parts[0], "empty session token"
    return parts[0]


def cookie(token: str) -> dict[str, str]:
    return {"Cookie": f"_session_id={token}"}


def login(
    server: RunningServer,
    email: str,
    password: str,
    *,
    how: str = "query",
    apikey: str | None = None,
    suffix: str = ".json",
    local_address: str | None = None,
) -> httpx.Response:
    """POST /sessions/login with the credentials in the query ('query'), a form body ('form', with
    the apikey in the query and in the body, as migclic does) or a JSON body ('json').
    `local_address` (e.g. 127.0.0.9) makes the request come from another client address."""
    key = server.apikey if apikey is None else apikey
    path = f"/sessions/login{suffix}"
    transport = httpx.HTTPTransport(local_address=local_address) if local_address else None
    with server.client(transport=transport) as client:
        if how == "query":
            return client.post(path, params={"apikey": key, "pro[email]": email, "pro[password]": password})
        if how == "form":
            return client.post(path, params={"apikey": key},
                               data={"apikey": key, "pro[email]": email, "pro[password]": password})
        if how == "json":
            return client.post(path, params={"apikey": key}, json={"pro": {"email": email, "password": password}})
    raise ValueError(how)


def login_token(server: RunningServer, email: str, password: str, **kw: Any) -> str:
    response = login(server, email, password, **kw)
    assert response.status_code == 200, response.text
    return session_token(response)
