"""Login throttling: failed logins counted per e-mail and per client address in the database (so
every app server shares the count), in fixed 15-minute windows."""

from __future__ import annotations

from openrdv.db.engine import Conn

WINDOW = 900
# An address may fail for several users (an office behind one NAT): it gets a wider allowance.
ADDRESS_FACTOR = 5


def _buckets(email: str, address: str, limit: int) -> list[tuple[str, int]]:
    return [(f"email:{email.lower()}", limit), (f"addr:{address}", limit * ADDRESS_FACTOR)]


def retry_after(conn: Conn, email: str, address: str, limit: int, now: int) -> int:
    """Seconds to wait before trying again, or 0 when a login may be attempted."""
    wait = 0
    for bucket, allowed in _buckets(email, address, limit):
        row = conn.one("SELECT failures, window_start FROM login_failures WHERE bucket = ?", (bucket,))
        if row is None:
            continue
        failures, window_start = row
        if now - window_start < WINDOW and failures >= allowed:
            wait = max(wait, WINDOW - (now - window_start))
    return wait


def record_failure(conn: Conn, email: str, address: str, limit: int, now: int) -> None:
    for bucket, _allowed in _buckets(email, address, limit):
        conn.execute(
            "INSERT INTO login_failures (bucket, failures, window_start) VALUES (?, 1, ?) "
            "ON CONFLICT (bucket) DO UPDATE SET "
            "failures = CASE WHEN excluded.window_start - login_failures.window_start >= ? THEN 1 "
            "ELSE login_failures.failures + 1 END, "
            "window_start = CASE WHEN excluded.window_start - login_failures.window_start >= ? "
            "THEN excluded.window_start ELSE login_failures.window_start END",
            (bucket, now, WINDOW, WINDOW),
        )


def clear_failures(conn: Conn, email: str) -> None:
    conn.execute("DELETE FROM login_failures WHERE bucket = ?", (f"email:{email.lower()}",))
