"""A short-lived memory of verified HTTP Basic credentials.

argon2id costs ~20 ms a check; Basic sends the password on every request. A success is remembered
under an HMAC of (kind, e-mail, password, credential version) with a per-process random key, so the
cache never holds a password, a changed password (new version) misses at once on every server, and
failures are never remembered.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time

_MAX_ENTRIES = 10_000


class VerifiedCredentials:
    def __init__(self, ttl: int) -> None:
        self.ttl = ttl
        self._key = secrets.token_bytes(32)
        self._entries: dict[bytes, float] = {}
        self._lock = threading.Lock()

    def _fingerprint(self, kind: str, email: str, password: str, version: int) -> bytes:
        message = "\x00".join((kind, email.lower(), password, str(version))).encode("utf-8")
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def seen(self, kind: str, email: str, password: str, version: int) -> bool:
        if self.ttl <= 0:
            return False
        fingerprint = self._fingerprint(kind, email, password, version)
        expires = self._entries.get(fingerprint)
        return expires is not None and expires > time.monotonic()

    def remember(self, kind: str, email: str, password: str, version: int) -> None:
        if self.ttl <= 0:
            return
        fingerprint = self._fingerprint(kind, email, password, version)
        with self._lock:
            if len(self._entries) >= _MAX_ENTRIES:
                now = time.monotonic()
                self._entries = {k: v for k, v in self._entries.items() if v > now}
                if len(self._entries) >= _MAX_ENTRIES:
                    self._entries.clear()
            self._entries[fingerprint] = time.monotonic() + self.ttl
