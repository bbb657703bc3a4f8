"""The customer lookups of a booking go through their own indexes on SQLite, whatever the planner's
statistics say: taken through the (group_id, deleted) index they read every fiche of the group (a
booking in a group of a million fiches would then take seconds)."""

from __future__ import annotations

from pathlib import Path

from openrdv.booking.book import FICHE_BY_EMAIL, FICHE_OF_ACCOUNT
from openrdv.db.engine import Database
from openrdv.migrations import upgrade
from openrdv.resources.fiches import OTHER_FICHE_WITH_EMAIL


def _plan(db: Database, sql: str, params: tuple[object, ...]) -> list[str]:
    with db.connect() as conn:
        return [str(row[-1]) for row in conn.all("EXPLAIN QUERY PLAN " + sql, params)]


def test_lookups_use_their_indexes_with_the_statistics_of_an_empty_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'plans.db'}"
    upgrade(url)  # runs ANALYZE on empty tables: the statistics a new installation has
    db = Database(url)
    try:
        assert _plan(db, FICHE_BY_EMAIL, (1, "a@example.org")) == [
            "SEARCH fiches USING INDEX ix_fiches_email (group_id=? AND <expr>=?)"
        ]
        assert _plan(db, FICHE_OF_ACCOUNT, (7, 1)) == ["SEARCH fiches USING INDEX ix_fiches_account_id (account_id=?)"]
        # an account's fiche may not take another customer's e-mail: the check of every such write
        assert _plan(db, OTHER_FICHE_WITH_EMAIL, (1, "a@example.org", 5)) == [
            "SEARCH fiches USING INDEX ix_fiches_email (group_id=? AND <expr>=?)"
        ]
    finally:
        db.close()
