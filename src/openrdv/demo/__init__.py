"""Demo data for `make run` and benchmarks: loaded once, through the same handlers as the API
(bulk rows for large sizes go straight to SQL, in the declared shape)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from openrdv import admin
from openrdv.auth.apikeys import create_apikey
from openrdv.db.engine import Database
from openrdv.settings import Settings

DEMO_EMAIL = "demo@openrdv.test"
DEMO_PASSWORD = "demo-password"
DEMO_URLNAME = "cabinet-demo"


def _notes_path(settings: Settings) -> Path | None:
    if settings.database_url.startswith("sqlite:"):
        from openrdv.db.engine import sqlite_path

        path = sqlite_path(settings.database_url)
        if path != ":memory:":
            return Path(path).with_name("demo.txt")
    return None


def load_demo(
    db: Database, settings: Settings, fiches: int = 40, vevents: int = 120, groups: int = 1, progress: bool = True
) -> dict[str, Any]:
    with db.connect() as conn:
        existing = conn.scalar("SELECT id FROM groups WHERE urlname = ?", (DEMO_URLNAME,))
    if existing is not None:
        return {"already": True, "group_id": existing}
    rnd = random.Random(42)
    group = admin.create(
        db,
        settings,
        "groups",
        {
            "name": "Cabinet Démo",
            "timezone": "Europe/Paris",
            "urlname": DEMO_URLNAME,
            "city": "Paris",
            "zipcode": "75011",
            "address": "12 rue de la Roquette",
            "phone": "01 23 45 67 89",
            "open": True,
            "calendarChoice": 2,
            "anyCalendar": True,
        },
    )
    group_ids = [group["id"]]
    for n in range(2, groups + 1):
        extra = admin.create(
            db,
            settings,
            "groups",
            {"name": f"Cabinet {n}", "timezone": "Europe/Paris", "urlname": f"{DEMO_URLNAME}-{n}"},
        )
        group_ids.append(extra["id"])
    pro = admin.create(
        db,
        settings,
        "pros",
        {
            "email": DEMO_EMAIL,
            "password": DEMO_PASSWORD,
            "firstname": "Camille",
            "lastname": "Martin",
        },
        group_id=group["id"],
    )
    for other in group_ids[1:]:
        admin.add_pro_to_group(db, pro["id"], other)
    with db.connect() as conn:
        key, secret = create_apikey(conn, "demo", settings.environment)
    from openrdv.demo.calendar import load_calendar_demo

    counts = load_calendar_demo(db, settings, group_ids, fiches=fiches, vevents=vevents, rnd=rnd, progress=progress)
    with db.connect() as conn:
        # fresh planner statistics for the new volumes; on PostgreSQL VACUUM also sets the visibility
        # map, without which a count(*) visits every heap page instead of only the index
        if conn.dialect == "postgresql":
            # twice: the first pass leaves the pages of the last batches not yet all-visible
            conn.execute("VACUUM (FREEZE, ANALYZE)")
            conn.execute("VACUUM (ANALYZE)")
        else:
            conn.execute("ANALYZE")
    text = (
        f"Demo data loaded: group {group['id']} ({group['name']}), {counts}.\n"
        f"  API key ({key.environment}): {secret}\n"
        f"  pro login:  {DEMO_EMAIL} / {DEMO_PASSWORD}\n"
        f"  try: curl -u '{DEMO_EMAIL}:{DEMO_PASSWORD}' 'http://127.0.0.1:8000/api/v1/groups.json?apikey={secret}'"
    )
    notes = _notes_path(settings)
    if notes is not None:
        notes.write_text(text + "\n")
        notes.chmod(0o600)
    return {
        "already": False,
        "group_id": group["id"],
        "group_ids": group_ids,
        "pro_id": pro["id"],
        "apikey": secret,
        "email": DEMO_EMAIL,
        "password": DEMO_PASSWORD,
        "text": text,
    }
