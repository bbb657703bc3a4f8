"""Every setting, read once from the environment into one typed object."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

DEFAULT_DATABASE_URL = "sqlite:///var/openrdv.db"


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be an integer, got {raw!r}") from None


@dataclass(frozen=True)
class Settings:
    """Server settings. `SETTINGS_DOC` below is the table README shows; keep both in step."""

    database_url: str = DEFAULT_DATABASE_URL
    environment: str = "sandbox"
    strict_apikey: bool = False
    secure_cookies: bool = False
    session_idle: int = 3600
    session_max: int = 86400
    db_threads: int = 2
    basic_cache_ttl: int = 60
    login_attempts: int = 10
    log_level: str = "INFO"
    statistics_every: int = 3600

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        values: dict[str, object] = {
            "database_url": os.environ.get("OPENRDV_DATABASE_URL") or DEFAULT_DATABASE_URL,
            "environment": (os.environ.get("OPENRDV_ENVIRONMENT") or "sandbox").strip().lower(),
            "strict_apikey": _env_bool("OPENRDV_STRICT_APIKEY", False),
            "secure_cookies": _env_bool("OPENRDV_SECURE_COOKIES", False),
            "session_idle": _env_int("OPENRDV_SESSION_IDLE", 3600),
            "session_max": _env_int("OPENRDV_SESSION_MAX", 86400),
            "db_threads": max(1, _env_int("OPENRDV_DB_THREADS", 2)),
            "basic_cache_ttl": max(0, _env_int("OPENRDV_BASIC_CACHE_TTL", 60)),
            "login_attempts": max(1, _env_int("OPENRDV_LOGIN_ATTEMPTS", 10)),
            "log_level": (os.environ.get("OPENRDV_LOG_LEVEL") or "INFO").upper(),
            "statistics_every": max(0, _env_int("OPENRDV_STATISTICS_EVERY", 3600)),
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
    ("OPENRDV_SESSION_IDLE", "3600", "seconds without a request after which a session expires"),
    ("OPENRDV_SESSION_MAX", "86400", "seconds after login after which a session expires in any case"),
    ("OPENRDV_DB_THREADS", "2", "database threads per worker process"),
    ("OPENRDV_BASIC_CACHE_TTL", "60", "seconds a verified HTTP Basic credential is remembered (0 = never)"),
    ("OPENRDV_LOGIN_ATTEMPTS", "10", "failed logins per e-mail and per client address per 15 minutes before 429"),
    (
        "OPENRDV_STATISTICS_EVERY",
        "3600",
        "SQLite: seconds between two refreshes of the query planner's statistics, taken when a worker "
        "is idle, the first one at its first idle moment (0 = never)",
    ),
    ("OPENRDV_LOG_LEVEL", "INFO", "`DEBUG`, `INFO`, `WARNING`, `ERROR`"),
    (
        "OPENRDV_HOST / OPENRDV_PORT / OPENRDV_WORKERS",
        "127.0.0.1 / 8000 / 1",
        "defaults of `openrdv serve --host --port --workers`",
    ),
]
