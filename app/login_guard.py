"""Login throttling for `--auth`: an ASGI middleware in front of Gradio's POST /login.

Gradio's auth check gets only (username, password), not the client, so the throttle sits in front
of the route instead. Invariants, per client address:
- one login attempt at a time; an attempt while another is in flight is refused (HTTP 429);
- after the n-th failure in a row the next attempt is accepted only `delay(n)` seconds later
  (`first_delay_s * 2**(n-1)`, capped at `max_delay_s`); an earlier one is refused with 429 and a
  Retry-After header without the password being checked, so guessing grows exponentially slower;
- a successful login clears the client's count; counts of clients idle for `forget_after_s` are
  dropped, so the table stays small.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
LOGIN_PATHS = ("/login", "/login/")


@dataclass
class _Client:
    failures: int = 0
    next_allowed: float = 0.0  # monotonic seconds
    in_flight: bool = False
    last_seen: float = 0.0


class LoginThrottle:
    """Refuses early login attempts of clients that failed before; see the module docstring.

    `message(seconds)` is the text shown to the writer (from the UI string tables)."""

    def __init__(self, app: ASGIApp, message: Callable[[int], str] | None = None, first_delay_s: float = 1.0,
                 max_delay_s: float = 60.0, forget_after_s: float = 3600.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.app = app
        self.message = message or (lambda seconds: f"login.throttled {seconds}")
        self.first_delay_s, self.max_delay_s, self.forget_after_s = first_delay_s, max_delay_s, forget_after_s
        self.clock = clock
        self._clients: dict[str, _Client] = {}
        self._lock = threading.Lock()

    def delay(self, failures: int) -> float:
        """Seconds a client must wait after its `failures`-th failure in a row."""
        if failures <= 0:
            return 0.0
        return min(self.first_delay_s * 2 ** min(failures - 1, 30), self.max_delay_s)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_login(scope):
            await self.app(scope, receive, send)
            return
        key = _client_key(scope)
        wait = self._admit(key)
        if wait > 0:
            await self._refuse(send, wait)
            return
        status: list[int] = []

        async def watching_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(int(message["status"]))
            await send(message)

        try:
            await self.app(scope, receive, watching_send)
        finally:
            self._settle(key, status[0] if status else 500)

    def _admit(self, key: str) -> float:
        """0 when the attempt may go on (and is marked in flight), else the seconds to wait."""
        now = self.clock()
        with self._lock:
            self._forget_idle(now)
            client = self._clients.setdefault(key, _Client())
            client.last_seen = now
            if client.in_flight:
                return max(self.first_delay_s, client.next_allowed - now)
            if now < client.next_allowed:
                return client.next_allowed - now
            client.in_flight = True
            return 0.0

    def _settle(self, key: str, status: int) -> None:
        now = self.clock()
        with self._lock:
            client = self._clients.setdefault(key, _Client())
            client.in_flight = False
            if 200 <= status < 300:
                client.failures, client.next_allowed = 0, 0.0
            elif 400 <= status < 500:
                client.failures += 1
                client.next_allowed = now + self.delay(client.failures)

    def _forget_idle(self, now: float) -> None:
        idle = [k for k, c in self._clients.items() if not c.in_flight and now - c.last_seen > self.forget_after_s]
        for key in idle:
            del self._clients[key]

    async def _refuse(self, send: Send, wait: float) -> None:
        seconds = max(1, math.ceil(wait))
        body = json.dumps({"detail": self.message(seconds), "code": "login.throttled",
                           "retry_after": seconds}, ensure_ascii=False).encode("utf-8")
        await send({"type": "http.response.start", "status": 429, "headers": [
            (b"content-type", b"application/json; charset=utf-8"), (b"retry-after", str(seconds).encode()),
            (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def _is_login(scope: Scope) -> bool:
    if scope.get("type") != "http" or scope.get("method") != "POST":
        return False
    path = str(scope.get("path", ""))
    root = str(scope.get("root_path", ""))
    if root and path.startswith(root):
        path = path[len(root):]
    return path in LOGIN_PATHS


def _client_key(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"
