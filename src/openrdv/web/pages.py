"""Non-API pages: the landing page and the health check (the public booking page grows here)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from openrdv import __version__
from openrdv.settings import Settings

LANDING = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>openrdv</title></head>
<body><h1>openrdv {__version__}</h1>
<p>A server speaking the ClicRDV REST API v1. The API lives under <code>/api/v1/</code>;
its OpenAPI document is <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p></body></html>
"""


def booking_pages(settings: Settings) -> Starlette:
    async def landing(request: Request) -> Response:
        return HTMLResponse(LANDING)

    async def health(request: Request) -> Response:
        # open to anyone: the version and the environment would tell a stranger what to attack
        return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})

    return Starlette(routes=[Route("/", landing), Route("/healthz", health)])
