"""Every end-to-end test depends on the database engine behind the server it starts: marked
`engines`, it runs again on PostgreSQL in scripts/test's second pass."""

from __future__ import annotations

from pathlib import Path

import pytest

E2E = Path(__file__).parent / "e2e"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if E2E in item.path.parents:
            item.add_marker(pytest.mark.engines)
