"""Demo calendars, services, customer records and events (filled in with the Calendar API)."""

from __future__ import annotations

import random

from openrdv.db.engine import Database
from openrdv.settings import Settings


def load_calendar_demo(
    db: Database, settings: Settings, group_ids: list[int], *, fiches: int, vevents: int, rnd: random.Random,
    progress: bool,
) -> str:
    return "no calendar data yet"
