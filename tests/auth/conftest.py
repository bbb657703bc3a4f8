"""A real migrated database (SQLite, or PostgreSQL in scripts/test's second pass for the modules
marked `engines`) with API keys of both environments, a group, a pro and an account,
and the two ways of asking it who is calling: `Authenticator` directly and `Api.handle` in process."""

from __future__ import annotations

import base64
import itertools
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

import pytest

from openrdv import admin
from openrdv.auth import passwords
from openrdv.auth.apikeys import create_apikey
from openrdv.auth.principal import Authenticator
from openrdv.db.engine import Database
from openrdv.migrations import upgrade
from openrdv.settings import Settings
from openrdv.web.api import Api
from openrdv.web.http import ApiRequest, ApiResponse
from tests.engines import fresh_database_url

LOGIN_ATTEMPTS = 2
_addresses = itertools.count(1)


def new_address() -> str:
    """A client address no other test of the session uses: failures are counted per address."""
    n = next(_addresses)
    return f"198.51.{n // 250}.{n % 250 + 1}"


def made_up_email() -> str:
    return f"ghost-{secrets.token_hex(6)}@example.org"


def basic(email: str, password: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{email}:{password}".encode()).decode()}


@dataclass(frozen=True)
class AuthWorld:
    db: Database
    settings: Settings
    sandbox_key: str
    production_key: str
    group_id: int

    def api(self, **overrides: Any) -> Api:
        """An API of this database; `environment="production"` for a production server sharing it."""
        return Api(replace(self.settings, **overrides), self.db)

    def authenticator(self) -> Authenticator:
        return Authenticator(self.settings)

    def new_pro(self, password: str = "pro-password-1") -> tuple[int, str, str]:
        email = f"pro-{secrets.token_hex(6)}@example.org"
        fields = {"lastname": "Pro", "email": email, "password": password}
        made = admin.create(self.db, self.settings, "pros", fields, group_id=self.group_id)
        return int(made["id"]), email, password

    def call(
        self,
        api: Api,
        method: str,
        path: str,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        client: str = "127.0.0.1",
    ) -> ApiResponse:
        all_headers = {**({"content-type": "application/json"} if body is not None else {}), **(headers or {})}
        data = json.dumps(body).encode() if body is not None else b""
        request = ApiRequest(method, path, urlencode(params or {}), all_headers, data, client=client, request_id="t")
        return api.handle(request)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthWorld]:
    url = fresh_database_url(tmp_path_factory.mktemp("auth"), "auth.db")
    upgrade(url)
    db = Database(url)
    settings = Settings(database_url=url, login_attempts=LOGIN_ATTEMPTS)
    with db.connect() as conn:
        _, sandbox_key = create_apikey(conn, "sandbox app", "sandbox")
        _, production_key = create_apikey(conn, "production app", "production")
    group_id = int(admin.create(db, settings, "groups", {"name": "Auth", "timezone": "Europe/Paris"})["id"])
    yield AuthWorld(db, settings, sandbox_key, production_key, group_id)
    db.close()


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every argon2id verification made while the test runs (the candidate SHA-1 forms checked),
    counted through the one function that makes them; the verifications still happen."""
    made: list[str] = []
    real = passwords.argon2_verify

    def counted(stored_hash: str, candidate: str) -> bool:
        made.append(candidate)
        return real(stored_hash, candidate)

    monkeypatch.setattr(passwords, "argon2_verify", counted)
    return made


def json_of(response: ApiResponse) -> Any:
    return json.loads(b"".join(response.stream) if response.stream is not None else response.body)
