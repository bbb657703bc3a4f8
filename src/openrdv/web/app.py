"""The ASGI application: the API under /api/v1/, the booking page, request ids and the access log.

The API is served by a plain ASGI function rather than framework routing: each request makes one
hop to a small database thread pool where everything (auth, query, rendering) runs synchronously.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import ipaddress
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from openrdv.db.engine import Database
from openrdv.errors import PayloadTooLarge
from openrdv.logs import configure_logging, redact_query
from openrdv.settings import Settings
from openrdv.web.api import Api
from openrdv.web.formats import MEDIA_TYPES
from openrdv.web.http import (
    MAX_BODY,
    NO_STORE,
    NOSNIFF,
    ApiRequest,
    ApiResponse,
    RawHeaders,
    cors_headers,
    is_preflight,
    with_headers,
)
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


IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _ip(text: str) -> IpAddress | None:
    """An address as proxies write it (bare, `[v6]`, `v4:port`, `[v6]:port`, quoted), IPv4-mapped
    IPv6 as IPv4; None for anything else (`unknown`, an obfuscated `_hidden`, garbage)."""
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def forwarded_hops(raw_headers: Iterable[tuple[bytes, bytes]]) -> list[str] | None:
    """The hops a proxy reports, from the first client (left) to the last hop (right): every
    X-Forwarded-For line joined, else every `for=` of Forwarded (RFC 7239); None when neither is
    there. X-Forwarded-For wins because nearly every proxy sets it: one that sets only Forwarded
    must drop an incoming X-Forwarded-For."""
    lines: dict[bytes, list[str]] = {b"x-forwarded-for": [], b"forwarded": []}
    for name, value in raw_headers:
        found = lines.get(name.lower())
        if found is not None:
            found.append(value.decode("latin-1"))
    if lines[b"x-forwarded-for"]:
        return [hop for line in lines[b"x-forwarded-for"] for hop in line.split(",")]
    if not lines[b"forwarded"]:
        return None
    hops: list[str] = []
    for element in (e for line in lines[b"forwarded"] for e in line.split(",")):
        pairs = (pair.strip().partition("=") for pair in element.split(";"))
        hops.append(next((value for key, _, value in pairs if key.strip().lower() == "for"), ""))
    return hops


class ClientAddress:
    """The client's address: the TCP peer, unless the peer is a trusted proxy (OPENRDV_TRUSTED_PROXIES);
    then the right-most forwarded address that is not itself a trusted proxy. Addresses left of it
    are whatever the client chose to send and are never believed."""

    def __init__(self, trusted: Sequence[str]) -> None:
        self.networks = [ipaddress.ip_network(network, strict=False) for network in trusted]

    def trusts(self, ip: IpAddress) -> bool:
        return any(ip in network for network in self.networks)

    def __call__(self, peer: str, raw_headers: Iterable[tuple[bytes, bytes]]) -> str:
        if not self.networks:
            return peer
        peer_ip = _ip(peer)
        if peer_ip is None or not self.trusts(peer_ip):
            return peer
        client = peer_ip
        for hop in reversed(forwarded_hops(raw_headers) or []):
            ip = _ip(hop)
            if ip is None:  # a trusted proxy could not name its client: it is as far as we can see
                break
            client = ip
            if not self.trusts(ip):
                break
        return str(client)


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
        self.client_address = ClientAddress(self.settings.trusted_proxies)
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
        self.db = Database(
            self.settings.database_url,
            pool_size=self.settings.db_threads,
            statement_timeout=self.settings.statement_timeout_ms / 1000,
        )
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
        peer = scope.get("client")
        client = self.client_address(peer[0] if peer else "", scope.get("headers", []))
        status_holder = [0]

        path: str = scope.get("path", "")
        is_api = path.startswith(API_PREFIX) or path == API_PREFIX.rstrip("/")
        preflight = is_preflight(scope.get("method", ""), headers, self.settings.cors_origins)
        added = self._added_headers(headers, request_id, is_api=is_api, preflight=preflight)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
                message["headers"] = with_headers(list(message.get("headers", [])), added)
            await send(message)

        self.in_flight += 1
        try:
            if preflight:
                await send_with_id({"type": "http.response.start", "status": 204, "headers": []})
                await send_with_id({"type": "http.response.body", "body": b""})
            elif is_api:
                await self._api(scope, receive, send_with_id, headers, request_id, client)
            else:
                await self.pages(scope, receive, send_with_id)
        finally:
            self.in_flight -= 1
            if self.in_flight == 0 and not self._trim_pending:
                self._trim_pending = True
                asyncio.get_running_loop().call_later(IDLE_TRIM_DELAY, self._trim_if_idle)
            if access_log.isEnabledFor(logging.INFO):
                query = scope.get("query_string", b"").decode("latin-1")
                # secrets by decoded parameter name; the log handler then escapes control characters
                logged_path = path.replace(" ", "%20")  # one field for whoever splits the line on spaces
                target = f"{logged_path}?{redact_query(query)}" if query else logged_path
                elapsed = (time.perf_counter() - started) * 1000
                access_log.info(
                    "%s %s %s %s %.1fms rid=%s",
                    client or "-",
                    scope.get("method", ""),
                    target,
                    status_holder[0],
                    elapsed,
                    request_id,
                )

    def _added_headers(self, headers: dict[str, str], request_id: str, *, is_api: bool, preflight: bool) -> RawHeaders:
        """What every response gets, whoever made it (the API, a page, an error, a stream, a
        preflight): its request id, nosniff, CORS for a listed origin, and no-store for the API."""
        added = [(b"x-request-id", request_id.encode()), NOSNIFF]
        if is_api:
            # answers depend on credentials a cache key may not hold (a cookie, a body's apikey) and
            # availability changes with every booking: nothing of the API is stored by a cache
            added.append(NO_STORE)
        return added + cors_headers(headers, self.settings.cors_origins, preflight=preflight)

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

    async def _api(
        self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str], request_id: str, client: str
    ) -> None:
        assert self.api is not None
        body = await self._read_body(receive, headers)
        if body is None:
            error = PayloadTooLarge(f"The request body is larger than {MAX_BODY // 1024} KiB.")
            await self._send(send, ApiResponse(413, render_document(error.body(), "json")), scope)
            return
        request = ApiRequest(
            method=scope["method"],
            path=scope["path"][len(API_PREFIX) :] if scope["path"].startswith(API_PREFIX) else "",
            query_string=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            body=body,
            client=client,
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
