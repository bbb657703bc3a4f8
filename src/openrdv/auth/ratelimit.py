"""Rate limits per API key and client address: a token bucket kept in the database, so that every
server of one database counts together, at the cost of one UPSERT a request.

The bucket is the generic cell rate algorithm (GCRA), which needs one number per bucket: `tat`, the
instant the bucket is full again. A request at `now` is allowed when the bucket, after it, would not
hold more than its capacity's worth of debt (`max(tat, now) + interval - now <= capacity`); it then
moves `tat` on by one `interval` (60 s / the limit). The capacity is one minute's allowance: a client
may send the limit's worth of requests at once, then one every `interval`; any pattern that stays
within the limit over every 60 s from a full bucket passes.

The whole decision is one statement (INSERT ... ON CONFLICT DO UPDATE ... RETURNING) on SQLite and
PostgreSQL alike: the check and the update can never be split by another server's request.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from openrdv.auth.principal import Authenticator, Caller, Credentials
from openrdv.db.engine import Conn
from openrdv.errors import TooManyRequests
from openrdv.settings import Settings

MICROSECONDS = 1_000_000
MINUTE = 60 * MICROSECONDS
PURGE_ONE_IN = 1000  # full buckets are the same as none: their rows go now and then

# Parameters: bucket, tat of a new bucket, then (ceiling, now, now, interval, ceiling) where ceiling
# = now + capacity - interval is the latest `tat` that still leaves room for one more request.
TAKE = (
    "INSERT INTO rate_limits (bucket, tat, refused) VALUES (?, ?, FALSE) "
    "ON CONFLICT (bucket) DO UPDATE SET "
    "tat = CASE WHEN rate_limits.tat <= ? "
    "THEN (CASE WHEN rate_limits.tat > ? THEN rate_limits.tat ELSE ? END) + ? ELSE rate_limits.tat END, "
    "refused = CASE WHEN rate_limits.tat <= ? THEN FALSE ELSE TRUE END "
    "RETURNING tat, refused"
)


@dataclass(frozen=True)
class Quota:
    """What one request left of its bucket, as the IETF draft's RateLimit-* headers say it."""

    limit: int  # requests a minute
    remaining: int  # requests that may follow at once
    reset: int  # seconds until the bucket is full again
    retry_after: int  # seconds until one more request may pass; 0 when this one passed

    @property
    def allowed(self) -> bool:
        return self.retry_after == 0

    def headers(self) -> list[tuple[str, str]]:
        return [
            ("RateLimit-Limit", str(self.limit)),
            ("RateLimit-Remaining", str(self.remaining)),
            ("RateLimit-Reset", str(self.reset)),
        ]


def _seconds(microseconds: int) -> int:
    """Whole seconds, rounded up: waiting that long is always enough."""
    return max(0, -(-microseconds // MICROSECONDS))


class RateLimiter:
    def __init__(self, per_minute: int) -> None:
        if per_minute < 1:
            raise ValueError("a rate limit is at least 1 request a minute")
        self.limit = per_minute
        self.interval = max(1, MINUTE // per_minute)  # µs between two requests at the steady rate
        self.capacity = self.interval * per_minute  # a minute's allowance, in µs of debt

    def take(self, conn: Conn, bucket: str, now: int) -> Quota:
        """Count one request of `bucket` at `now` (epoch µs) and say whether it may pass."""
        ceiling = now + self.capacity - self.interval
        row = conn.one(TAKE, (bucket, now + self.interval, ceiling, now, now, self.interval, ceiling))
        assert row is not None
        tat, refused = int(row[0]), bool(row[1])
        if secrets.randbelow(PURGE_ONE_IN) == 0:
            conn.execute("DELETE FROM rate_limits WHERE tat < ?", (now,))
        if refused:
            return Quota(self.limit, 0, _seconds(tat - now), max(1, _seconds(tat - ceiling)))
        remaining = max(0, (self.capacity - (tat - now)) // self.interval)
        return Quota(self.limit, remaining, _seconds(tat - now), 0)


def now_microseconds() -> int:
    return time.time_ns() // 1000


class MeteredAuthenticator(Authenticator):
    """The Authenticator that also counts every request it identifies against the bucket of its API
    key and client address (requests without a valid key are refused before, and count for nothing).

    The request's quota is kept for its thread until the next `begin()`: `web/api.py` turns it into
    the response's headers, whichever route (a login included) identified the caller."""

    def __init__(self, settings: Settings, clock: Callable[[], int] = now_microseconds) -> None:
        super().__init__(settings)
        self.limiter = RateLimiter(settings.rate_limit) if settings.rate_limit > 0 else None
        self.clock = clock
        self._local = threading.local()

    def begin(self) -> None:
        """A new request on this thread: no quota yet."""
        self._local.quota = None

    def quota(self) -> Quota | None:
        """The quota of this thread's request, once it has been identified (and limits are on)."""
        quota: Quota | None = getattr(self._local, "quota", None)
        return quota

    def identify(self, conn: Conn, creds: Credentials, now: int) -> Caller:
        caller = super().identify(conn, creds, now)
        if self.limiter is None or caller.apikey_id is None:
            return caller
        # an address is at most 45 characters (IPv6); the cut only keeps an odd peer name in the column
        quota = self.limiter.take(conn, f"{caller.apikey_id} {creds.address[:100]}", self.clock())
        self._local.quota = quota
        if not quota.allowed:
            raise TooManyRequests(
                f"Too many requests: this API key may send {quota.limit} a minute from one address; "
                f"retry in {quota.retry_after} seconds.",
                quota.retry_after,
            )
        return caller


__all__ = ["MeteredAuthenticator", "Quota", "RateLimiter"]
