"""Server-side sessions in the database (so every app server sees them), keyed by the SHA-256 of a
random token that only the client's `_session_id` cookie holds."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from openrdv.db.engine import Conn

COOKIE_NAME = "_session_id"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SessionRow:
    digest: str
    user_kind: str
    user_id: int
    apikey_id: int
    created_at: int
    last_seen_at: int
    email: str | None = None  # the user's, read in the same query
    main_group_id: int | None = None
    apikey_environment: str | None = None  # the session's API key, read in the same query too
    apikey_revoked_at: int | None = None


def open_session(conn: Conn, user_kind: str, user_id: int, apikey_id: int, now: int) -> str:
    token = secrets.token_hex(32)
    conn.execute(
        "INSERT INTO sessions (token_digest, user_kind, user_id, apikey_id, created_at, last_seen_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (token_digest(token), user_kind, user_id, apikey_id, now, now),
    )
    return token


def find_session(conn: Conn, token: str, now: int, idle: int, maximum: int) -> SessionRow | None:
    """The live session of this token, or None. Its idle clock is pushed forward, but at most once a
    minute (or once a tenth of the idle time) so that reads do not turn into writes."""
    if not token or len(token) > 128:
        return None
    digest = token_digest(token)
    # the user comes with the session: one round trip instead of two (it shows on PostgreSQL)
    row = conn.one(
        "SELECT s.token_digest, s.user_kind, s.user_id, s.apikey_id, s.created_at, s.last_seen_at, "
        "coalesce(p.email, a.email), coalesce(p.group_id, a.group_id), k.environment, k.revoked_at "
        "FROM sessions s "
        "LEFT JOIN pros p ON s.user_kind = 'pro' AND p.id = s.user_id "
        "LEFT JOIN accounts a ON s.user_kind = 'account' AND a.id = s.user_id "
        "LEFT JOIN apikeys k ON k.id = s.apikey_id "
        "WHERE s.token_digest = ?",
        (digest,),
    )
    if row is None:
        return None
    session = SessionRow(*row)
    if now - session.last_seen_at >= idle or now - session.created_at >= maximum:
        conn.execute("DELETE FROM sessions WHERE token_digest = ?", (digest,))
        return None
    if now - session.last_seen_at >= min(60, max(1, idle // 10)):
        conn.execute("UPDATE sessions SET last_seen_at = ? WHERE token_digest = ?", (now, digest))
    return session


def close_session(conn: Conn, token: str) -> None:
    conn.execute("DELETE FROM sessions WHERE token_digest = ?", (token_digest(token),))


def purge_expired(conn: Conn, now: int, idle: int, maximum: int) -> int:
    return conn.execute("DELETE FROM sessions WHERE last_seen_at <= ? OR created_at <= ?", (now - idle, now - maximum))
