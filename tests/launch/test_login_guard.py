"""LoginThrottle as an ASGI app in front of a real password check, on a controlled clock."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from app.login_guard import LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _password_check(scope: dict, receive: Any, send: Any) -> None:
    """Gradio's /login in miniature: 200 for the right password, 400 otherwise."""
    body = (await receive())["body"]
    status = 200 if body == b"password=right" else 400
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


def _attempt(throttle: LoginThrottle, password: str, client: str = "10.0.0.1",
             path: str = "/login") -> tuple[int, dict]:
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": f"password={password}".encode(), "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "client": (client, 5555), "root_path": ""}
    asyncio.run(throttle(scope, receive, send))
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], json.loads(body or b"{}")


def test_delays_grow_per_client_and_a_success_clears_them() -> None:
    clock = Clock()
    throttle = LoginThrottle(_password_check, message=lambda s: f"wait {s}", first_delay_s=1, max_delay_s=8,
                             clock=clock)
    waits = []
    for _ in range(5):
        assert _attempt(throttle, "wrong")[0] == 400
        status, body = _attempt(throttle, "right")  # refused unchecked while the delay runs
        assert status == 429 and body["code"] == "login.throttled" and body["detail"] == f"wait {body['retry_after']}"
        waits.append(body["retry_after"])
        clock.now += body["retry_after"]
    assert waits == [1, 2, 4, 8, 8]
    assert _attempt(throttle, "wrong", client="10.0.0.2")[0] == 400  # another client is not slowed
    assert _attempt(throttle, "right")[0] == 200
    assert _attempt(throttle, "wrong")[0] == 400
    assert _attempt(throttle, "wrong")[1]["retry_after"] == 1  # the count started again


def test_other_routes_pass_untouched() -> None:
    clock = Clock()
    throttle = LoginThrottle(_password_check, clock=clock)
    _attempt(throttle, "wrong")
    assert _attempt(throttle, "wrong", path="/gradio_api/info")[0] == 400  # reached the app, not throttled
