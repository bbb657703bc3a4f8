"""User passwords: stored as argon2id of the lowercase SHA-1 hex of the plain password.

Clients send either the plain password (HTTP Basic, most often) or its SHA-1 hex (session login, as
the ClicRDV docs require); hashing the SHA-1 lets one stored hash verify both without ever storing
the SHA-1 itself.
"""

from __future__ import annotations

import hashlib
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

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


def verify_password(stored_hash: str | None, given: str) -> bool:
    if not stored_hash or not given:
        return False
    for candidate in sha1_candidates(given):
        try:
            if _HASHER.verify(stored_hash, candidate):
                return True
        except VerifyMismatchError:
            continue
        except (VerificationError, InvalidHashError):
            return False
    return False


_DUMMY_HASH = _HASHER.hash("openrdv-dummy")


def burn_verification_time() -> None:
    """Spend what a real verification costs, so an unknown e-mail answers as slowly as a wrong
    password (no user enumeration by timing)."""
    try:
        _HASHER.verify(_DUMMY_HASH, "x")
    except VerificationError:
        pass
