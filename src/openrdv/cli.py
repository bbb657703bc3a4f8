"""The `openrdv` command: run the server and administer it.

Every command reads the database from OPENRDV_DATABASE_URL (or --database-url), like the server.
Commands that create something print it; with --json they print exactly one JSON object.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import orjson
import typer

from openrdv.errors import ApiError
from openrdv.settings import DEFAULT_DATABASE_URL, Settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help="openrdv: a ClicRDV API v1 server.")
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
apikey_app = typer.Typer(no_args_is_help=True, help="API keys of the applications.")
group_app = typer.Typer(no_args_is_help=True, help="Groups (businesses).")
pro_app = typer.Typer(no_args_is_help=True, help="Pros (back-office users).")
app.add_typer(db_app, name="db")
app.add_typer(apikey_app, name="apikey")
app.add_typer(group_app, name="group")
app.add_typer(pro_app, name="pro")

DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", envvar="OPENRDV_DATABASE_URL", help="sqlite:///path.db or postgresql://..."),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="print one JSON object (for scripts)")]


def _settings(database_url: str | None) -> Settings:
    url = database_url or DEFAULT_DATABASE_URL
    os.environ["OPENRDV_DATABASE_URL"] = url
    return Settings.from_env(database_url=url)


def _database(settings: Settings) -> Any:
    from openrdv.db.engine import Database

    return Database(settings.database_url, pool_size=2)


def _emit(obj: dict[str, Any], as_json: bool, text: str) -> None:
    if as_json:
        sys.stdout.write(orjson.dumps(obj).decode() + "\n")
    else:
        typer.echo(text)


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _api_error_text(exc: ApiError) -> str:
    if exc.errors:
        return "; ".join(f"{name}: {', '.join(msgs)}" for name, msgs in exc.errors.items())
    return exc.message


@app.command()
def serve(
    host: Annotated[str, typer.Option(envvar="OPENRDV_HOST")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="OPENRDV_PORT")] = 8000,
    workers: Annotated[int, typer.Option(envvar="OPENRDV_WORKERS", min=1)] = 1,
    database_url: DatabaseUrl = None,
) -> None:
    """Serve the API (Uvicorn, one process per worker)."""
    settings = _settings(database_url)
    # read the schema revision without Alembic: a one-worker server runs in this very process, and
    # importing SQLAlchemy would cost it ~20 MB for nothing
    from openrdv.db.engine import Database

    try:
        database = Database(settings.database_url, pool_size=1)
        with database.connect() as conn:
            revision = conn.scalar("SELECT version_num FROM alembic_version")
        database.close()
    except Exception:
        revision = None
    if revision is None:
        _fail("the database has no schema yet (or cannot be opened): run `openrdv db upgrade` first")
    from openrdv.logs import configure_logging
    from openrdv.web.server import run

    configure_logging(settings.log_level)
    typer.echo(
        f"openrdv serving on http://{host}:{port}/api/v1/ ({workers} worker(s), {settings.environment})", err=True
    )
    run(host, port, workers, settings.log_level)


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseUrl = None) -> None:
    """Create or migrate the schema (Alembic) to the newest revision."""
    settings = _settings(database_url)
    from openrdv.migrations import current_revision, upgrade

    upgrade(settings.database_url)
    typer.echo(f"database at revision {current_revision(settings.database_url)}", err=True)


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Option(help="what the key is for")],
    env: Annotated[str, typer.Option("--env", help="sandbox or production")] = "sandbox",
    as_json: JsonFlag = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Create an API key; the key is shown once, only its digest is stored."""
    from openrdv.auth.apikeys import ENVIRONMENTS, create_apikey

    if env not in ENVIRONMENTS:
        _fail("--env must be sandbox or production")
    db = _database(_settings(database_url))
    with db.connect() as conn:
        key, secret = create_apikey(conn, name, env)
    _emit(
        {"id": key.id, "name": key.name, "environment": key.environment, "key": secret},
        as_json,
        f"API key {key.id} ({key.environment}, {key.name}): {secret}\nStore it now: it is not shown again.",
    )


@apikey_app.command("list")
def apikey_list(as_json: JsonFlag = False, database_url: DatabaseUrl = None) -> None:
    """List API keys (never the keys themselves)."""
    from openrdv.auth.apikeys import list_apikeys

    db = _database(_settings(database_url))
    with db.connect() as conn:
        keys = list_apikeys(conn)
    rows = [
        {
            "id": k.id,
            "name": k.name,
            "environment": k.environment,
            "created_at": k.created_at,
            "revoked": k.revoked_at is not None,
        }
        for k in keys
    ]
    if as_json:
        sys.stdout.write(orjson.dumps({"apikeys": rows}).decode() + "\n")
        return
    for row in rows:
        typer.echo(
            f"{row['id']:>4}  {row['environment']:<10}  {'revoked' if row['revoked'] else 'active ':<7}  {row['name']}"
        )


@apikey_app.command("revoke")
def apikey_revoke(key_id: int, as_json: JsonFlag = False, database_url: DatabaseUrl = None) -> None:
    """Revoke an API key; sessions opened with it end too."""
    from openrdv.auth.apikeys import revoke_apikey

    db = _database(_settings(database_url))
    with db.connect() as conn:
        done = revoke_apikey(conn, key_id)
    if not done:
        _fail(f"there is no active API key {key_id}")
    _emit({"id": key_id, "revoked": True}, as_json, f"API key {key_id} revoked")


@group_app.command("create")
def group_create(
    name: Annotated[str, typer.Option()],
    timezone: Annotated[str, typer.Option()] = "Europe/Paris",
    urlname: Annotated[str | None, typer.Option(help="booking-page slug (default: from the name)")] = None,
    as_json: JsonFlag = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a group (a business)."""
    from openrdv import admin
    from openrdv.resources.groups import slugify

    settings = _settings(database_url)
    db = _database(settings)
    slug = urlname or slugify(name)
    if urlname is None:
        with db.connect() as conn:
            base, n = slug, 1
            while conn.scalar("SELECT 1 FROM groups WHERE urlname = ?", (slug,)):
                n += 1
                slug = f"{base}-{n}"
    try:
        group = admin.create(db, settings, "groups", {"name": name, "timezone": timezone, "urlname": slug})
    except ApiError as exc:
        _fail(_api_error_text(exc))
    _emit(group, as_json, f"group {group['id']}: {group['name']} ({group['timezone']}, /{group['urlname']})")


@pro_app.command("create")
def pro_create(
    group: Annotated[int, typer.Option(help="main group id")],
    email: Annotated[str, typer.Option()],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True)],
    firstname: Annotated[str, typer.Option()] = "",
    lastname: Annotated[str, typer.Option()] = "",
    also: Annotated[list[int] | None, typer.Option("--also", help="another group the pro belongs to")] = None,
    as_json: JsonFlag = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a pro in a group, with a password."""
    from openrdv import admin

    settings = _settings(database_url)
    db = _database(settings)
    try:
        pro = admin.create(
            db,
            settings,
            "pros",
            {"email": email, "password": password, "firstname": firstname, "lastname": lastname},
            group_id=group,
        )
    except LookupError as exc:
        _fail(str(exc))
    except ApiError as exc:
        _fail(_api_error_text(exc))
    for other in also or []:
        admin.add_pro_to_group(db, pro["id"], other)
        pro["group_ids"] = sorted({*pro["group_ids"], other})
    _emit(pro, as_json, f"pro {pro['id']}: {pro['email']} in group(s) {', '.join(map(str, pro['group_ids']))}")


@app.command()
def demo(
    fiches: Annotated[int, typer.Option(help="customer records to generate")] = 40,
    vevents: Annotated[int, typer.Option(help="events to generate")] = 120,
    groups: Annotated[int, typer.Option(help="groups to spread the records over")] = 1,
    as_json: JsonFlag = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Load demo data once (a group, calendars, services, fiches, events, an API key and a pro)."""
    from openrdv.demo import load_demo

    settings = _settings(database_url)
    db = _database(settings)
    result = load_demo(db, settings, fiches=fiches, vevents=vevents, groups=groups, progress=not as_json)
    if as_json:
        sys.stdout.write(orjson.dumps(result).decode() + "\n")
        return
    if result.get("already"):
        typer.echo("Demo data is already loaded (credentials were printed the first time; see var/demo.txt).")
        return
    typer.echo(result["text"])


def main() -> None:
    app()


if __name__ == "__main__":
    main()
