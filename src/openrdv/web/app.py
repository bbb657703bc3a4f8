"""The ASGI application: the API under /api/v1/, the booking page, request ids and the access log.

The API is served by a plain ASGI function rather than framework routing: each request makes one
hop to a small database thread pool where everything (auth, query, rendering) runs synchronously.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from openrdv.db.engine import Database
from openrdv.errors import PayloadTooLarge
from openrdv.logs import configure_logging, redact
from openrdv.settings import Settings
from openrdv.web.api import Api
from openrdv.web.formats import MEDIA_TYPES
from openrdv.web.http import MAX_BODY, ApiRequest, ApiResponse
from openrdv.web.render import render_document

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

access_log = logging.getLogger("openrdv.access")
API_PREFIX = "/api/v1/"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_DONE = object()
IDLE_TRIM_DELAY = 1.0  # seconds without a request before freed memory goes back to the system


def _request_id(headers: dict[str, str]) -> str:
    given = headers.get("x-request-id", "")
    return given if _REQUEST_ID.match(given) else os.urandom(8).hex()


def _malloc_trim() -> Callable[[], None]:
    """glibc keeps freed memory in per-thread arenas: after minutes of load an idle worker held
    ~140 MB instead of ~70 MB. Handing it back when the worker goes idle costs nothing under load
    (limiting the arenas instead cost 9 % of streaming throughput)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return lambda: None  # not glibc

    def release() -> None:
        trim(0)

    return release


class OpenRdvApp:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self.db: Database | None = None
        self.api: Api | None = None
        self.pool: ThreadPoolExecutor | None = None
        self.pages: Any = None
        self.in_flight = 0
        self._trim = _malloc_trim()
        self._trim_pending = False
        self._statistics_at: float | None = None  # monotonic time of the last refresh; None: never

    def startup(self) -> None:
        if self.api is not None:
            return
        # A response allocates thousands of short-lived dicts (a streamed collection: millions) that
        # reference counting frees; the cyclic collector running every 700 allocations only costs.
        gc.set_threshold(100_000, 50, 100)
        self.db = Database(self.settings.database_url, pool_size=self.settings.db_threads)
        self.api = Api(self.settings, self.db)
        from openrdv.web.openapi import openapi_bytes

        self.api.openapi_document = openapi_bytes
        self.pool = ThreadPoolExecutor(max_workers=self.settings.db_threads, thread_name_prefix="openrdv-db")
        from openrdv.web.pages import booking_pages

        self.pages = booking_pages(self.settings)

    def shutdown(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)
        if self.db is not None:
            self.db.close()
        self.api = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        if kind != "http":
            return
        if self.api is None:
            self.startup()
        started = time.perf_counter()
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        request_id = _request_id(headers)
        status_holder = [0]

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        path: str = scope.get("path", "")
        self.in_flight += 1
        try:
            if path.startswith(API_PREFIX) or path == API_PREFIX.rstrip("/"):
                await self._api(scope, receive, send_with_id, headers, request_id)
            else:
                await self.pages(scope, receive, send_with_id)
        finally:
            self.in_flight -= 1
            if self.in_flight == 0 and not self._trim_pending:
                self._trim_pending = True
                asyncio.get_running_loop().call_later(IDLE_TRIM_DELAY, self._trim_if_idle)
            if access_log.isEnabledFor(logging.INFO):
                query = scope.get("query_string", b"").decode("latin-1")
                target = f"{path}?{redact(query)}" if query else redact(path)
                elapsed = (time.perf_counter() - started) * 1000
                access_log.info(
                    "%s %s %s %.1fms rid=%s", scope.get("method", ""), target, status_holder[0], elapsed, request_id
                )

    def _trim_if_idle(self) -> None:
        self._trim_pending = False
        if self.in_flight == 0:
            self._trim()
            self._refresh_statistics_if_due()

    def _refresh_statistics_if_due(self) -> None:
        """Keep the SQLite planner's statistics in step with tables that grow after `db upgrade`:
        on a worker's first idle moment, then at most every `statistics_every` seconds."""
        every = self.settings.statistics_every
        now = time.monotonic()
        due = every > 0 and (self._statistics_at is None or now - self._statistics_at >= every)
        if not due or self.db is None or self.pool is None or self.db.dialect != "sqlite":
            return
        self._statistics_at = now
        future = self.pool.submit(self.db.refresh_statistics)
        future.add_done_callback(_log_failure)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    self.startup()
                except Exception as exc:  # a bad setting must stop the worker with a reason
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _read_body(self, receive: Receive, headers: dict[str, str]) -> bytes | None:
        declared = headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > MAX_BODY:
            return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _api(self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str], request_id: str) -> None:
        assert self.api is not None
        body = await self._read_body(receive, headers)
        if body is None:
            error = PayloadTooLarge(f"The request body is larger than {MAX_BODY // 1024} KiB.")
            await self._send(send, ApiResponse(413, render_document(error.body(), "json")), scope)
            return
        client = scope.get("client")
        request = ApiRequest(
            method=scope["method"],
            path=scope["path"][len(API_PREFIX) :] if scope["path"].startswith(API_PREFIX) else "",
            query_string=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            body=body,
            client=client[0] if client else "",
            request_id=request_id,
        )
        loop = asyncio.get_running_loop()
        response = await loop.run_in_executor(self.pool, self.api.handle, request)
        await self._send(send, response, scope)

    async def _send(self, send: Send, response: ApiResponse, scope: Scope) -> None:
        raw_headers = [(b"content-type", response.media_type.encode())]
        raw_headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
        head_only = scope.get("method") == "HEAD"
        if response.stream is None:
            raw_headers.append((b"content-length", str(len(response.body)).encode()))
            await send({"type": "http.response.start", "status": response.status, "headers": raw_headers})
            await send({"type": "http.response.body", "body": b"" if head_only else response.body})
            return
        await send({"type": "http.response.start", "status": response.status, "headers": raw_headers})
        loop = asyncio.get_running_loop()
        stream = response.stream
        try:
            while True:
                chunk = await loop.run_in_executor(self.pool, _next_chunk, stream)
                if chunk is _DONE:
                    break
                if not head_only:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
        finally:
            await loop.run_in_executor(self.pool, _close, stream)
        await send({"type": "http.response.body", "body": b""})


def _log_failure(future: Any) -> None:
    exc = future.exception()
    if exc is not None:  # a busy database: the next idle moment of the next period tries again
        logging.getLogger("openrdv").warning("refreshing the planner statistics failed: %s", exc)


def _next_chunk(stream: Iterator[bytes]) -> Any:
    return next(stream, _DONE)


def _close(stream: Iterator[bytes]) -> None:
    close = getattr(stream, "close", None)
    if close is not None:
        close()


def create_app(settings: Settings | None = None) -> OpenRdvApp:
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level)
    return OpenRdvApp(settings)


def app_factory() -> OpenRdvApp:
    """Entry point for ASGI servers (`granian --factory openrdv.web.app:app_factory`)."""
    return create_app()


__all__ = ["MEDIA_TYPES", "OpenRdvApp", "app_factory", "create_app"]
