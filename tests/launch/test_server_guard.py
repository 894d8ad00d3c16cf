"""The server answers only its own Host and Origin (DNS rebinding, other local pages), with CORS closed
and with --auth too: a real uvicorn server and raw HTTP requests."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import gradio as gr
import pytest

from app.server import HostPolicy, serve

ROOT = Path(__file__).resolve().parents[2]
SECRET = "Secret Manuscript Title"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(port: int, method: str, path: str, headers: dict[str, str], body: bytes | None = None):
    """One raw HTTP request to 127.0.0.1:port with exactly these headers (Host included)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode("utf-8", "replace")
    finally:
        conn.close()


def _blocks() -> gr.Blocks:
    with gr.Blocks() as demo:
        titles = gr.Dropdown(choices=[SECRET], value=SECRET, label="Projects")
        out = gr.Textbox()
        gr.Button("Go").click(lambda t: f"opened {t}", [titles], [out], api_name="open_title")
    return demo


@pytest.fixture(scope="module")
def served() -> Iterator[int]:
    port = _free_port()
    server = serve(_blocks(), "127.0.0.1", port, extra_hosts=["novel.example"])
    try:
        yield port
    finally:
        server.close()


def test_own_hosts_are_answered(served):
    for host in (f"127.0.0.1:{served}", f"localhost:{served}", "novel.example"):
        status, _, body = _request(served, "GET", "/config", {"Host": host})
        assert status == 200 and SECRET in body, host


@pytest.mark.parametrize("host", ["evil.example", f"evil.example:{0}", "127.0.0.1.evil.example", "",
                                  "localhost.attacker.test"])
def test_a_foreign_host_is_refused_and_learns_nothing(served, host):
    refused = (403,) if host else (400, 403)  # HTTP/1.1 without a Host is refused by the HTTP parser itself
    status, _, body = _request(served, "GET", "/config", {"Host": host} if host else {})
    assert status in refused and SECRET not in body
    status, _, body = _request(served, "GET", "/", {"Host": host} if host else {})
    assert status in refused and SECRET not in body


def _call(port: int, origin: str | None):
    headers = {"Host": f"127.0.0.1:{port}", "Content-Type": "application/json"}
    if origin is not None:
        headers["Origin"] = origin
    return _request(port, "POST", "/gradio_api/call/open_title", headers, json.dumps({"data": [SECRET]}).encode())


@pytest.mark.parametrize("origin", ["http://localhost:3000", "http://127.0.0.1:3000", "http://evil.example",
                                    "null", "file://", "http://novel.example.evil.test"])
def test_cross_origin_api_calls_are_refused(served, origin):
    status, headers, body = _call(served, origin)
    assert status == 403 and "event_id" not in body
    assert "access-control-allow-origin" not in {k.lower() for k in headers}


def test_same_origin_and_no_origin_calls_work(served):
    for origin in (None, f"http://127.0.0.1:{served}", f"http://localhost:{served}", "https://novel.example"):
        status, _, body = _call(served, origin)
        assert status == 200 and "event_id" in body, origin


def test_cors_preflight_from_another_local_page_is_not_allowed(served):
    status, headers, _ = _request(served, "OPTIONS", "/gradio_api/call/open_title", {
        "Host": f"127.0.0.1:{served}", "Origin": "http://localhost:3000",
        "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})
    assert status >= 400
    assert headers.get("access-control-allow-origin", headers.get("Access-Control-Allow-Origin")) is None


def test_policy_on_every_interface_accepts_ip_literals_but_not_names():
    policy = HostPolicy("0.0.0.0", 7860)
    assert policy.host_allowed("192.168.1.20:7860") and policy.host_allowed("[fe80::1]:7860")
    assert not policy.host_allowed("rebind.attacker.test:7860")
    assert policy.origin_allowed("http://192.168.1.20:7860") and not policy.origin_allowed("http://192.168.1.20:3000")


@pytest.mark.slow
def test_launch_with_auth_refuses_foreign_host_and_origin_before_login(tmp_path: Path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("INKSTONE_")}
    env.update(INKSTONE_DATA_DIR=str(tmp_path / "data"), GRADIO_ANALYTICS_ENABLED="False", PYTHONUNBUFFERED="1",
               INKSTONE_AUTH="writer:secret-pass")
    proc = subprocess.Popen([sys.executable, str(ROOT / "launch.py"), "--demo", "--port", str(port),
                             "--backup-interval", "0"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        own = {"Host": f"127.0.0.1:{port}"}
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                status, _, _ = _request(port, "GET", "/config", own)
                break
            except OSError:
                assert time.monotonic() < deadline, "launch.py did not answer"
                time.sleep(0.3)
        assert status in (200, 401)  # its own host reaches Gradio (the login gate)
        login = b"username=writer&password=secret-pass"
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        assert _request(port, "POST", "/login", {**own, **form}, login)[0] == 200
        assert _request(port, "POST", "/login", {"Host": "rebind.attacker.test", **form}, login)[0] == 403
        evil_origin = {**own, **form, "Origin": "http://localhost:3000"}
        assert _request(port, "POST", "/login", evil_origin, login)[0] == 403
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0 and "stopped cleanly" in output
    finally:
        if proc.poll() is None:
            proc.kill()


def test_allowed_hosts_setting_is_parsed_and_checked():
    from app.config import SettingsError, parse_settings

    settings = parse_settings(["--allowed-hosts", "novel.example, Studio.Lan"], env={})
    assert settings.allowed_hosts == ("novel.example", "studio.lan")
    assert parse_settings([], env={"INKSTONE_ALLOWED_HOSTS": "a.example"}).allowed_hosts == ("a.example",)
    assert parse_settings([], env={}).allowed_hosts == ()
    for bad in ("*", "http://x.example", "a.example/path"):
        with pytest.raises(SettingsError, match="allowed-hosts"):
            parse_settings(["--allowed-hosts", bad], env={})
