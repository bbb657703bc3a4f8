"""Every setting, read once from the environment into one typed object."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, fields
from urllib.parse import urlsplit

DEFAULT_DATABASE_URL = "sqlite:///var/openrdv.db"


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def parse_networks(name: str, raw: str) -> tuple[str, ...]:
    """Comma-separated addresses or CIDR networks → their normal forms; a bad one stops the server
    with a reason."""
    networks: list[str] = []
    for part in raw.split(","):
        if part.strip():
            try:
                networks.append(str(ipaddress.ip_network(part.strip(), strict=False)))
            except ValueError:
                raise SystemExit(f"{name}: {part.strip()!r} is not an IP address or a CIDR network") from None
    return tuple(networks)


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be an integer, got {raw!r}") from None


def parse_origins(name: str, raw: str) -> tuple[str, ...]:
    """Comma-separated web origins (`https://app.example.org`, `http://localhost:5173`) → their lower-case
    forms; `*`, a path, a trailing slash or a missing scheme stops the server with a reason (such an
    origin would never match what a browser sends)."""
    origins: list[str] = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        parts = urlsplit(part)
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or "@" in parts.netloc
            or part.endswith("/")
            or parts.path
            or parts.query
            or parts.fragment
        ):
            raise SystemExit(
                f"{name}: {part!r} is not an origin: write scheme://host[:port] exactly as a browser sends it "
                "(no path, no trailing slash, never '*')"
            )
        origins.append(part.lower())
    return tuple(origins)


@dataclass(frozen=True)
class Settings:
    """Server settings. `SETTINGS_DOC` below is the table README shows; keep both in step."""

    database_url: str = DEFAULT_DATABASE_URL
    environment: str = "sandbox"
    strict_apikey: bool = False
    secure_cookies: bool = False
    cors_origins: tuple[str, ...] = ()  # web origins allowed to call the API from a browser
    session_idle: int = 3600
    session_max: int = 86400
    db_threads: int = 2
    basic_cache_ttl: int = 60
    login_attempts: int = 10
    rate_limit: int = 120  # requests a minute per API key and client address (0 = no limit)
    log_level: str = "INFO"
    statistics_every: int = 3600
    statement_timeout_ms: int = 500  # a request's database statement stopped after this (0 = never)
    trusted_proxies: tuple[str, ...] = ()  # networks whose X-Forwarded-For / Forwarded give the client

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        values: dict[str, object] = {
            "database_url": os.environ.get("OPENRDV_DATABASE_URL") or DEFAULT_DATABASE_URL,
            "environment": (os.environ.get("OPENRDV_ENVIRONMENT") or "sandbox").strip().lower(),
            "strict_apikey": _env_bool("OPENRDV_STRICT_APIKEY", False),
            "secure_cookies": _env_bool("OPENRDV_SECURE_COOKIES", False),
            "cors_origins": parse_origins("OPENRDV_CORS_ORIGINS", os.environ.get("OPENRDV_CORS_ORIGINS", "")),
            "session_idle": _env_int("OPENRDV_SESSION_IDLE", 3600),
            "session_max": _env_int("OPENRDV_SESSION_MAX", 86400),
            "db_threads": max(1, _env_int("OPENRDV_DB_THREADS", 2)),
            "basic_cache_ttl": max(0, _env_int("OPENRDV_BASIC_CACHE_TTL", 60)),
            "login_attempts": max(1, _env_int("OPENRDV_LOGIN_ATTEMPTS", 10)),
            "rate_limit": max(0, _env_int("OPENRDV_RATE_LIMIT", 120)),
            "log_level": (os.environ.get("OPENRDV_LOG_LEVEL") or "INFO").upper(),
            "statistics_every": max(0, _env_int("OPENRDV_STATISTICS_EVERY", 3600)),
            "statement_timeout_ms": max(0, _env_int("OPENRDV_STATEMENT_TIMEOUT_MS", 500)),
            "trusted_proxies": parse_networks("OPENRDV_TRUSTED_PROXIES", os.environ.get("OPENRDV_TRUSTED_PROXIES", "")),
        }
        known = {f.name for f in fields(cls)}
        for key, value in overrides.items():
            if key in known and value is not None:
                values[key] = value
        settings = cls(**values)  # type: ignore[arg-type]
        if settings.environment not in {"sandbox", "production"}:
            raise SystemExit("OPENRDV_ENVIRONMENT must be 'sandbox' or 'production'")
        return settings


SETTINGS_DOC: list[tuple[str, str, str]] = [
    (
        "OPENRDV_DATABASE_URL",
        DEFAULT_DATABASE_URL,
        "`sqlite:///path.db` (embedded) or `postgresql://user:pass@host/db`",
    ),
    ("OPENRDV_ENVIRONMENT", "sandbox", "`sandbox` or `production`: only API keys of this environment work"),
    ("OPENRDV_STRICT_APIKEY", "0", "`1` refuses an `apikey` sent in the request body (query or session only)"),
    ("OPENRDV_SECURE_COOKIES", "0", "`1` adds `Secure` to the `_session_id` cookie (behind HTTPS)"),
    (
        "OPENRDV_CORS_ORIGINS",
        "",
        "comma-separated web origins (`https://app.example.org`) whose pages may call the API from a browser "
        "(CORS, credentials allowed); empty: no CORS headers at all",
    ),
    ("OPENRDV_SESSION_IDLE", "3600", "seconds without a request after which a session expires"),
    ("OPENRDV_SESSION_MAX", "86400", "seconds after login after which a session expires in any case"),
    ("OPENRDV_DB_THREADS", "2", "database threads per worker process"),
    ("OPENRDV_BASIC_CACHE_TTL", "60", "seconds a verified HTTP Basic credential is remembered (0 = never)"),
    (
        "OPENRDV_LOGIN_ATTEMPTS",
        "10",
        "failed logins in 15 minutes at one e-mail from one client address after which that address gets 429 "
        "for that e-mail, right password or not; past as many failures at one e-mail from anywhere (or 20× as "
        "many from one address) a wrong password gets 429, a right one still logs in",
    ),
    (
        "OPENRDV_TRUSTED_PROXIES",
        "",
        "comma-separated addresses or CIDR networks of reverse proxies: a request whose TCP peer is one of "
        "them is from the right-most `X-Forwarded-For` address that is not a trusted proxy (else from "
        "`Forwarded: for=`); from any other peer these headers are ignored",
    ),
    (
        "OPENRDV_RATE_LIMIT",
        "120",
        "requests a minute per API key and client address, bursts of as many allowed (a token bucket "
        "shared by every server through the database); beyond it 429 with `Retry-After` (0 = no limit)",
    ),
    (
        "OPENRDV_STATISTICS_EVERY",
        "3600",
        "SQLite: seconds between two refreshes of the query planner's statistics, taken when a worker "
        "is idle, the first one at its first idle moment (0 = never)",
    ),
    (
        "OPENRDV_STATEMENT_TIMEOUT_MS",
        "500",
        "milliseconds one database statement of a request may run before it is stopped and the request "
        "answered 503 (0 = no limit; in a streamed list the limit holds for each chunk; a statement of a "
        "write transaction, which may wait for rows other bookings hold, gets ten times as long)",
    ),
    ("OPENRDV_LOG_LEVEL", "INFO", "`DEBUG`, `INFO`, `WARNING`, `ERROR`"),
    (
        "OPENRDV_HOST / OPENRDV_PORT / OPENRDV_WORKERS",
        "127.0.0.1 / 8000 / 1",
        "defaults of `openrdv serve --host --port --workers`",
    ),
]
