"""The migrated schema and the declarations agree: what the request path believes a table holds
(without SQLAlchemy) is exactly what the migration created, on whichever engine runs the tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from openrdv.crud.storage import table_columns
from openrdv.db.engine import sqlalchemy_url
from openrdv.migrations import current_revision, upgrade
from openrdv.registry import RESOURCES
from tests.engines import fresh_database_url

pytestmark = pytest.mark.engines  # run again on PostgreSQL by scripts/test


def _database_url(tmp_path: Path) -> str:
    return fresh_database_url(tmp_path, "schema.db")


def test_every_declared_table_has_exactly_the_columns_the_handlers_write(tmp_path: Path) -> None:
    url = _database_url(tmp_path)
    upgrade(url)
    assert current_revision(url) is not None
    engine = sa.create_engine(sqlalchemy_url(url))
    try:
        inspector = sa.inspect(engine)
        for resource in RESOURCES.values():
            actual = {c["name"] for c in inspector.get_columns(resource.table)}
            if resource.owns_table:
                assert actual == set(table_columns(resource)), resource.name
            else:
                assert set(table_columns(resource)) <= actual, resource.name
    finally:
        engine.dispose()


def test_upgrading_twice_is_harmless(tmp_path: Path) -> None:
    url = _database_url(tmp_path)
    upgrade(url)
    upgrade(url)
    assert current_revision(url) == "0002"
