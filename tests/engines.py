"""The database an engine-dependent test (marked `engines`) runs on: the suite runs once on SQLite,
then the `engines` tests again on PostgreSQL (scripts/test sets OPENRDV_TEST_POSTGRES for that
second pass), so each pass tests its own engine."""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa

from openrdv.db.engine import sqlalchemy_url

POSTGRES = os.environ.get("OPENRDV_TEST_POSTGRES", "").strip()
ENGINE = "postgresql" if POSTGRES else "sqlite"


def fresh_database_url(tmp_path: Path, name: str) -> str:
    """An empty database of this pass's engine: a new SQLite file, or the PostgreSQL test database
    with its public schema dropped and made again."""
    if POSTGRES:
        engine = sa.create_engine(sqlalchemy_url(POSTGRES))
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()
        return POSTGRES
    return f"sqlite:///{tmp_path / name}"
