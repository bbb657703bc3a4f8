"""Running the ASGI app: Uvicorn (httptools + uvloop) with a lenient request line.

Real ClicRDV clients put raw `<`, `>` and spaces in query strings (`conditions[0][op]=>=`,
`value=2010-02-01 00:00:00`). Granian refuses all of those; httptools accepts `<`, `>` and `"` but
not a space, which splits the request line in more than three parts. The protocol below re-joins
such a request line (spaces inside the target become %20) before the parser sees it.
"""

from __future__ import annotations

from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_REQUEST_LINE = 16 * 1024


def repair_request_line(line: bytes) -> bytes:
    """b'GET /a?x=1 2 HTTP/1.1' → b'GET /a?x=1%202 HTTP/1.1'; a well-formed line is returned as is."""
    parts = line.split(b" ")
    if len(parts) <= 3 or not parts[-1].startswith(b"HTTP/"):
        return line
    return b" ".join((parts[0], b"%20".join(parts[1:-1]), parts[-1]))


class LenientHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._awaiting_request_line = True
        self._line_buffer = b""

    def data_received(self, data: bytes) -> None:
        if self._awaiting_request_line:
            data = self._line_buffer + data
            end = data.find(b"\r\n")
            if end < 0 and len(data) < MAX_REQUEST_LINE:
                self._line_buffer = data  # wait for the whole request line
                return
            self._line_buffer = b""
            self._awaiting_request_line = False
            if end >= 0:
                data = repair_request_line(data[:end]) + data[end:]
        super().data_received(data)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._awaiting_request_line = True


def run(host: str, port: int, workers: int, log_level: str = "info") -> None:
    uvicorn.run(
        "openrdv.web.app:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers if workers > 1 else None,
        http=LenientHttpToolsProtocol,  # type: ignore[arg-type]
        loop="uvloop",
        lifespan="on",
        access_log=False,
        log_config=None,
        log_level=log_level.lower(),
        backlog=2048,
        timeout_keep_alive=30,
        server_header=False,
        proxy_headers=False,  # X-Forwarded-For is not trusted unless a proxy is configured in front
    )
