"""A real `launch.py`: Gradio's copies of exports and uploads stay private inside the data dir and
are removed on exit; with --auth, repeated wrong passwords are slowed down per client."""

from __future__ import annotations

import json
import signal
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from email.message import Message
from pathlib import Path

import pytest

from test_launch import ROOT, _env, _free_port, _wait_for_http  # same folder (rootdir import)

MARKER = "Zephyrine-Quokka-7731"  # appears only in the book's own text


def _start(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen, int, dict[str, Path]]:
    port = _free_port()
    places = {"cwd": tmp_path / "cwd", "tmpdir": tmp_path / "system-tmp", "gradio": tmp_path / "gradio-env"}
    for place in places.values():
        place.mkdir()
    env = {**_env(tmp_path), "TMPDIR": str(places["tmpdir"]), "GRADIO_TEMP_DIR": str(places["gradio"])}
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "launch.py"), "--demo", "--port", str(port), "--backup-interval", "0", *extra],
        cwd=places["cwd"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc, port, places


def _stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    return output


def _files_with_marker(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and MARKER.encode() in p.read_bytes()]


@pytest.mark.slow
def test_exports_and_uploads_leave_no_readable_copy_outside_the_data_dir(tmp_path: Path) -> None:
    from gradio_client import handle_file
    from serving import studio_client

    proc, port, places = _start(tmp_path)
    data = tmp_path / "data"
    try:
        assert _wait_for_http(f"http://127.0.0.1:{port}/", proc, timeout_s=180) == 200
        client = studio_client(f"http://127.0.0.1:{port}/", download_files=str(tmp_path / "downloads"))
        project = client.predict(f"Book {MARKER}", "en", "", "", "", api_name="/create_project")[0]["value"]
        manuscript = tmp_path / "upload" / "manuscript.md"
        manuscript.parent.mkdir()
        manuscript.write_text(f"# Chapter 1\n\nThe {MARKER} walked home in the rain.\n", "utf-8")
        client.predict(project, handle_file(str(manuscript)), api_name="/import_manuscript")
        client.predict(project, None, "book", "md", True, True, api_name="/export_book")
        client.close()
        cached = _files_with_marker(data / "cache")
        assert cached, "Gradio keeps its copies in the data dir's cache while running"
        for path in [*data.rglob("*"), data]:
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, f"{path} is readable by others"
    finally:
        output = _stop(proc) if proc.poll() is None else proc.communicate()[0]
    for outside in ("cwd", "tmpdir", "gradio"):
        assert _files_with_marker(places[outside]) == [], f"a copy of the book in {outside}"
    assert _files_with_marker(data / "cache") == [], "Gradio's copies are removed on exit"
    assert _files_with_marker(data / "exports"), output  # the export the writer asked for stays


def _login(port: int, password: str) -> tuple[int, Message, dict]:
    """(status, headers (case-insensitive), JSON body) of one POST /login."""
    body = urllib.parse.urlencode({"username": "writer", "password": password}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/login", data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read() or b"{}")


@pytest.mark.slow
def test_repeated_wrong_passwords_slow_down(tmp_path: Path) -> None:
    proc, port, _ = _start(tmp_path, "--auth", "writer:correct-horse")
    try:
        assert _wait_for_http(f"http://127.0.0.1:{port}/", proc, timeout_s=180) == 200
        assert _login(port, "wrong")[0] == 400
        burst = [_login(port, "wrong") for _ in range(30)]
        statuses = [status for status, _, _ in burst]
        assert statuses.count(429) >= 29, statuses  # at most one more guess reached the password check
        status, headers, body = burst[-1]
        assert body["code"] == "login.throttled" and int(headers["Retry-After"]) == body["retry_after"] >= 1
        assert _login(port, "correct-horse")[0] == 429, "while throttled, even the right password waits"
        waits = []
        for _ in range(3):  # each failure after waiting makes the next wait longer
            status, headers, _ = _login(port, "wrong")
            while status == 429:
                time.sleep(int(headers["Retry-After"]))
                status, headers, _ = _login(port, "wrong")
            assert status == 400
            waits.append(int(_login(port, "wrong")[1]["Retry-After"]))
        assert waits == sorted(waits) and waits[-1] > waits[0], waits
        time.sleep(waits[-1])
        assert _login(port, "correct-horse")[0] == 200
    finally:
        if proc.poll() is None:
            _stop(proc)
