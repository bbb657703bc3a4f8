"""Login throttling: failed logins counted in the database (so every app server shares the count), in
fixed 15-minute windows, in three buckets with different powers:

* **(client address, e-mail)**, `limit` failures: every further attempt at this e-mail from this
  address is refused before any check, right password or not, so the answer tells nothing. This is
  what slows down guessing a user's password: `limit` guesses an address a window.
* **e-mail** (from any address), `limit` failures, and **client address** (for any e-mail),
  `ADDRESS_FACTOR` × `limit`: a wrong password or an unknown e-mail is answered 429 instead of 401,
  but a right password still gets in. Failures made by others, elsewhere or behind the same address
  (a NAT, a reverse proxy), never lock a user out.

Bucket names are SHA-256 digests: a fixed length whatever the e-mail, and no e-mail stored in clear.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from openrdv.db.engine import Conn

WINDOW = 900
# An address may fail for many users (an office behind one NAT) and blocks no right password.
ADDRESS_FACTOR = 20
# Buckets of windows long past are removed once every this many recorded failures.
PURGE_ONE_FAILURE_IN = 100


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Buckets:
    pair: str
    email: str
    address: str

    @classmethod
    def of(cls, email: str, address: str) -> Buckets:
        email = email.strip().lower()
        return cls(
            pair="pair:" + _digest(address, email), email="email:" + _digest(email), address="addr:" + _digest(address)
        )


@dataclass(frozen=True)
class Throttle:
    """What the buckets of one attempt say, read before the password is checked."""

    pair_wait: int = 0  # > 0: this address may not try this e-mail for that many seconds, right or wrong
    others_wait: int = 0  # > 0: a wrong password is answered 429 with this Retry-After
    own_failures: bool = False  # the e-mail or (address, e-mail) bucket holds failures a success clears


def check(conn: Conn, email: str, address: str, limit: int, now: int) -> Throttle:
    """The state of the three buckets of an attempt, in one query."""
    names = Buckets.of(email, address)
    allowed = {names.pair: limit, names.email: limit, names.address: limit * ADDRESS_FACTOR}
    rows = conn.all(
        "SELECT bucket, failures, window_start FROM login_failures WHERE bucket IN (?, ?, ?)", list(allowed)
    )
    waits = {names.pair: 0, names.email: 0, names.address: 0}
    own = False
    for bucket, failures, window_start in rows:
        if now - int(window_start) >= WINDOW:
            continue
        own = own or bucket != names.address
        if int(failures) >= allowed[bucket]:
            waits[bucket] = WINDOW - (now - int(window_start))
    return Throttle(waits[names.pair], max(waits[names.email], waits[names.address]), own)


def record_failure(conn: Conn, email: str, address: str, now: int) -> None:
    names = Buckets.of(email, address)
    for bucket in (names.pair, names.email, names.address):
        conn.execute(
            "INSERT INTO login_failures (bucket, failures, window_start) VALUES (?, 1, ?) "
            "ON CONFLICT (bucket) DO UPDATE SET "
            "failures = CASE WHEN excluded.window_start - login_failures.window_start >= ? THEN 1 "
            "ELSE login_failures.failures + 1 END, "
            "window_start = CASE WHEN excluded.window_start - login_failures.window_start >= ? "
            "THEN excluded.window_start ELSE login_failures.window_start END",
            (bucket, now, WINDOW, WINDOW),
        )
    if secrets.randbelow(PURGE_ONE_FAILURE_IN) == 0:
        # made-up e-mails each leave buckets behind: without this the table only grows
        conn.execute("DELETE FROM login_failures WHERE window_start <= ?", (now - WINDOW,))


def clear_failures(conn: Conn, email: str, address: str) -> None:
    """A right password forgets the e-mail's failures and this address's failures at it (not the
    address's failures at other e-mails)."""
    names = Buckets.of(email, address)
    conn.execute("DELETE FROM login_failures WHERE bucket IN (?, ?)", (names.pair, names.email))
