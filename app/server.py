"""Serving the studio over HTTP: the Gradio app mounted in a FastAPI app that answers only its own
host and origin (DESIGN §6), run by uvicorn on a background thread.

Invariants:
- a request whose `Host` is not one of the allowed names is refused (403) before any route runs, so
  a DNS-rebinding page (Host: evil.example) can read nothing. Allowed: the listen address,
  `localhost`, `127.0.0.1`, `::1`, and the hosts the writer lists; when listening on every interface
  (0.0.0.0 / ::), any IP literal too (rebinding needs a name, not an address);
- a request carrying an `Origin` is refused (403) unless that origin is the studio itself: an allowed
  host on the studio's own port (any port for a host the writer listed, e.g. behind a proxy); "null"
  is refused. So another local page (a dev server on :3000) cannot call the API;
- CORS is closed: the parent app configures Starlette's CORSMiddleware with no allowed origin, which
  also switches off Gradio's own permissive localhost CORS (documented in `gr.mount_gradio_app`);
- both checks hold with `--auth` too (they run before Gradio's login).
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import gradio as gr
import uvicorn
from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
WILDCARD_HOSTS = ("0.0.0.0", "::", "")
START_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class HostPolicy:
    """Which Host and Origin headers the studio answers (see the module docstring)."""

    listen_host: str
    port: int
    extra_hosts: frozenset[str] = frozenset()

    @property
    def names(self) -> frozenset[str]:
        return frozenset({_normal(self.listen_host), *LOOPBACK_NAMES, *map(_normal, self.extra_hosts)})

    def host_allowed(self, host_header: str | None) -> bool:
        if not host_header:
            return False
        name = _normal(_hostname(host_header))
        if name in self.names:
            return True
        return _normal(self.listen_host) in WILDCARD_HOSTS and _is_ip(name)

    def origin_allowed(self, origin: str) -> bool:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return False
        name = _normal(parts.hostname)
        if name in map(_normal, self.extra_hosts):
            return True
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return False
        return port == self.port and self.host_allowed(parts.netloc)


def _hostname(host_header: str) -> str:
    host = host_header.strip()
    if host.startswith("["):  # [::1]:7860
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _normal(name: str) -> str:
    return name.strip().strip("[]").rstrip(".").lower()


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class HostOriginGuard:
    """ASGI middleware refusing foreign Host and Origin headers with 403 (HTTP) or a closed socket."""

    def __init__(self, app: ASGIApp, policy: HostPolicy):
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        problem = self._problem(headers.get("host"), headers.get("origin"))
        if problem is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
        else:
            await PlainTextResponse(problem, status_code=403)(scope, receive, send)

    def _problem(self, host: str | None, origin: str | None) -> str | None:
        if not self.policy.host_allowed(host):
            return (f"Inkstone answers only its own address, not Host {host!r} (protection against DNS "
                    "rebinding). To reach it under another name, start it with --allowed-hosts NAME.")
        if origin is not None and not self.policy.origin_allowed(origin):
            return f"Inkstone refuses requests from other web pages (Origin {origin!r})."
        return None


def guarded_app(blocks: gr.Blocks, policy: HostPolicy, **mount_options: Any) -> FastAPI:
    """A FastAPI app serving `blocks` at "/" behind the Host/Origin guard, CORS closed."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(CORSMiddleware, allow_origins=[])  # also turns Gradio's own CORS off
    app.add_middleware(HostOriginGuard, policy=policy)  # added last: outermost, runs first
    return gr.mount_gradio_app(app, blocks, path="/", server_name=policy.listen_host, server_port=policy.port,
                               **mount_options)


class _ThreadServer(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the launcher owns SIGINT/SIGTERM
        pass


class RunningServer:
    """A started server; `close()` stops it and the Gradio app's queue."""

    def __init__(self, blocks: gr.Blocks, server: _ThreadServer, thread: threading.Thread):
        self.blocks = blocks
        self._server = server
        self._thread = thread

    def close(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self.blocks.close()


def serve(blocks: gr.Blocks, host: str, port: int, extra_hosts: Iterable[str] = (),
          **mount_options: Any) -> RunningServer:
    """Start serving `blocks` on host:port (returns once the socket listens); mount_options go to
    `gr.mount_gradio_app` (auth, css, allowed_paths, max_file_size, ...)."""
    policy = HostPolicy(host, port, frozenset(extra_hosts))
    config = uvicorn.Config(guarded_app(blocks, policy, **mount_options), host=host, port=port,
                            log_level="warning", ws="none", lifespan="on")
    server = _ThreadServer(config)
    thread = threading.Thread(target=server.run, name="inkstone-http", daemon=True)
    thread.start()
    started = time.monotonic()
    while not server.started:
        if not thread.is_alive() or time.monotonic() - started > START_TIMEOUT_S:
            raise OSError(f"the web server could not start on {host}:{port} (is the port in use?)")
        time.sleep(0.01)
    return RunningServer(blocks, server, thread)
