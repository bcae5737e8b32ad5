"""A local HTTP receiver for the notifications' tests: it records each request and answers what it is told."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """``url``; ``requests`` received; ``answers``: the status codes of the next answers (then 200)."""

    url: str
    requests: list[Received] = field(default_factory=list)
    answers: deque[int] = field(default_factory=deque)

    def wait_for(self, count: int, seconds: float = 20.0) -> list[Received]:
        deadline = time.monotonic() + seconds
        while len(self.requests) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.requests)} requests within {seconds} s, expected {count}")
            time.sleep(0.05)
        return self.requests


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """An http.server thread on 127.0.0.1 (loopback: NOTIFICATIONS_ALLOW_LOOPBACK is true by default)."""
    state: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            found = state["receiver"]
            found.requests.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            status = found.answers.popleft() if found.answers else 200
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok" if status < 400 else b"receiver says no")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["receiver"] = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state["receiver"]
    finally:
        server.shutdown()
        server.server_close()
