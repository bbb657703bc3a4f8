"""Idempotency-Key: a POST retried with the same key and body replays the first response (for 24
hours); the same key with another body is a conflict. The key is claimed inside the transaction
that writes, so two concurrent retries cannot both create."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from openrdv.db.engine import Conn
from openrdv.errors import Conflict

RETENTION = 86400


@dataclass(frozen=True)
class StoredResponse:
    status: int
    media_type: str
    body: bytes


def fingerprint(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.strip("/").encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def claim(conn: Conn, scope: str, key: str, request_fingerprint: str, now: int) -> StoredResponse | None:
    """None when this request owns the key (first use, or the old use expired); the stored response
    when it is a retry; Conflict when the key came with another request."""
    inserted = conn.execute(
        "INSERT INTO idempotency_keys (scope, key, fingerprint, status, media_type, created_at) "
        "VALUES (?, ?, ?, 0, '', ?) ON CONFLICT (scope, key) DO NOTHING",
        (scope, key, request_fingerprint, now),
    )
    if inserted:
        return None
    row = conn.one(
        "SELECT fingerprint, status, media_type, body, created_at FROM idempotency_keys WHERE scope = ? AND key = ?",
        (scope, key),
    )
    assert row is not None
    stored_fingerprint, status, media_type, body, created_at = row
    if now - int(created_at) >= RETENTION:
        conn.execute(
            "UPDATE idempotency_keys SET fingerprint = ?, status = 0, media_type = '', body = NULL, created_at = ? "
            "WHERE scope = ? AND key = ?",
            (request_fingerprint, now, scope, key),
        )
        return None
    if stored_fingerprint != request_fingerprint:
        raise Conflict("This Idempotency-Key was already used with another request; use a new key.")
    if not status:
        raise Conflict("A request with this Idempotency-Key is still being processed; retry in a moment.")
    return StoredResponse(int(status), str(media_type), bytes(body or b""))


def store(conn: Conn, scope: str, key: str, status: int, media_type: str, body: bytes) -> None:
    conn.execute(
        "UPDATE idempotency_keys SET status = ?, media_type = ?, body = ? WHERE scope = ? AND key = ?",
        (status, media_type, body, scope, key),
    )


def purge(conn: Conn, now: int) -> int:
    return conn.execute("DELETE FROM idempotency_keys WHERE created_at < ?", (now - RETENTION,))
