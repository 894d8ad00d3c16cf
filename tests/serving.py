"""Launching a built studio app in-process for a test (on 127.0.0.1, with launch.py's page options)."""

from __future__ import annotations

import inspect
import socket
from typing import Any


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch_for_test(app: Any, port: int | None = None) -> str:
    """Serve `app` on 127.0.0.1:`port` (a free one when None) without blocking; returns its URL.

    Gradio's `launch` then asks its own page for a HEAD within 3 s and raises (with a share=True hint)
    when that is late; building this large page on a loaded 2-core box can take longer, so that
    self-check is skipped where Gradio allows it. launch.py mounts the app on uvicorn and never runs it.
    """
    from app.ui import launch_options

    options = launch_options()
    if "_frontend" in inspect.signature(app.launch).parameters:
        options["_frontend"] = False
    port = free_port() if port is None else port
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **options)
    return f"http://127.0.0.1:{port}/"


CLIENT_TIMEOUT_S = 120  # httpx's default (5 s) is shorter than this page's API info takes on a loaded 2-core box


def studio_client(url: str, **kwargs: Any) -> Any:
    """A gradio_client Client of a running studio, with timeouts for a loaded box (streams send heartbeats)."""
    from gradio_client import Client

    return Client(url, verbose=False, httpx_kwargs={"timeout": CLIENT_TIMEOUT_S}, **kwargs)
