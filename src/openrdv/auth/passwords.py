"""User passwords: stored as argon2id of the lowercase SHA-1 hex of the plain password.

Clients send either the plain password (HTTP Basic, most often) or its SHA-1 hex (session login, as
the ClicRDV docs require); hashing the SHA-1 lets one stored hash verify both without ever storing
the SHA-1 itself.
"""

from __future__ import annotations

import hashlib
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP's argon2id recommendation: m = 19 MiB, t = 2, p = 1.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
_SHA1_HEX = re.compile(r"^[0-9a-fA-F]{40}$")


def sha1_hex(plain: str) -> str:
    return hashlib.sha1(plain.encode("utf-8")).hexdigest()


def hash_password(plain: str) -> str:
    return _HASHER.hash(sha1_hex(plain))


def sha1_candidates(given: str) -> list[str]:
    """The SHA-1 hex forms a submitted password may stand for: a 40-hex string is most likely a
    SHA-1 already, but could be a plain password that happens to look like one."""
    if _SHA1_HEX.match(given):
        return [given.lower(), sha1_hex(given)]
    return [sha1_hex(given)]


def argon2_verify(stored_hash: str, candidate: str) -> bool:
    """One argon2id verification: every password check goes through here, and only here (the tests
    count the calls to prove that a check costs the same whether the e-mail exists or not)."""
    return _HASHER.verify(stored_hash, candidate)


_DUMMY_HASH = _HASHER.hash("openrdv-dummy")


def _matches(stored_hash: str | None, candidate: str) -> bool:
    """Exactly one verification, whatever is stored: a missing or unreadable hash (an account made
    without a password) is verified against a dummy, so it costs what a real mismatch costs."""
    target = stored_hash or _DUMMY_HASH
    try:
        return argon2_verify(target, candidate) and target is not _DUMMY_HASH
    except InvalidHashError:
        return _matches(None, candidate)
    except VerificationError:  # VerifyMismatchError among others: the time is spent
        return False


def verify_password(stored_hash: str | None, given: str) -> bool:
    """Whether `given` (plain or SHA-1 hex) is the password. A failure always costs one verification
    per SHA-1 form `given` may stand for (two for 40 hex digits), the same as for an unknown e-mail
    (`burn_verification_time`): timing tells nothing about which e-mails exist."""
    for candidate in sha1_candidates(given):
        if _matches(stored_hash, candidate):
            return bool(given)
    return False


def burn_verification_time(given: str) -> None:
    """Spend what a failed check of `given` against a real user costs, so an unknown e-mail answers
    as slowly as a wrong password (no user enumeration by timing)."""
    verify_password(None, given)
