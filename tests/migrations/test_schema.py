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
    assert current_revision(url) == "0003"


def test_0003_gives_a_database_made_before_it_the_rate_limits_table(tmp_path: Path) -> None:
    url = _database_url(tmp_path)
    upgrade(url, "0002")
    engine = sa.create_engine(sqlalchemy_url(url))
    try:
        with engine.begin() as conn:  # revision 0001 follows the declarations: as made before 0003
            conn.execute(sa.text("DROP TABLE rate_limits"))
        upgrade(url)
        assert current_revision(url) == "0003"
        columns = {c["name"] for c in sa.inspect(engine).get_columns("rate_limits")}
        assert columns == {"bucket", "tat", "refused"}
        if engine.dialect.name == "postgresql":  # a write on every request: no WAL flush to wait for
            with engine.connect() as conn:
                persistence = conn.scalar(sa.text("SELECT relpersistence FROM pg_class WHERE relname = 'rate_limits'"))
            assert persistence == "u"
    finally:
        engine.dispose()
