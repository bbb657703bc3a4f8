"""API keys: random, shown once, stored as SHA-256 digests, revocable, one environment each."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from openrdv.db.engine import Conn

ENVIRONMENTS = ("sandbox", "production")


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ApiKey:
    id: int
    name: str
    environment: str
    created_at: int
    revoked_at: int | None


def create_apikey(conn: Conn, name: str, environment: str) -> tuple[ApiKey, str]:
    if environment not in ENVIRONMENTS:
        raise ValueError(f"environment must be one of {', '.join(ENVIRONMENTS)}")
    key = f"{environment[:3]}_{secrets.token_urlsafe(30)}"
    now = int(time.time())
    key_id = conn.insert(
        "INSERT INTO apikeys (name, environment, key_digest, created_at) VALUES (?, ?, ?, ?) RETURNING id",
        (name, environment, key_digest(key), now),
    )
    return ApiKey(key_id, name, environment, now, None), key


def list_apikeys(conn: Conn) -> list[ApiKey]:
    rows = conn.all("SELECT id, name, environment, created_at, revoked_at FROM apikeys ORDER BY id")
    return [ApiKey(*row) for row in rows]


def revoke_apikey(conn: Conn, key_id: int) -> bool:
    changed = conn.execute(
        "UPDATE apikeys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (int(time.time()), key_id)
    )
    if changed:
        # sessions opened with a revoked key die with it
        conn.execute("DELETE FROM sessions WHERE apikey_id = ?", (key_id,))
    return changed > 0


def find_apikey(conn: Conn, key: str) -> ApiKey | None:
    row = conn.one(
        "SELECT id, name, environment, created_at, revoked_at FROM apikeys WHERE key_digest = ?",
        (key_digest(key),),
    )
    return ApiKey(*row) if row else None
