"""kill -9 while a draft streams, start again: the passage is kept, marked interrupted, and acceptable."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(data: Path, port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INKSTONE_")}
    env.update(INKSTONE_DATA_DIR=str(data), GRADIO_ANALYTICS_ENABLED="False", PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, str(ROOT / "launch.py"), "--demo", "--port", str(port),
                             "--backup-interval", "0"], cwd=data.parent, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"launch.py exited: {proc.stdout.read() if proc.stdout else ''}"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2):
                return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise AssertionError("launch.py did not answer within 180 s")


def _query(db: Path, sql: str, *args):
    with sqlite3.connect(db, timeout=30) as conn:
        return conn.execute(sql, args).fetchall()


def _wait_for(predicate, what: str, timeout_s: float = 120):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_kill_9_mid_stream_then_restart_leaves_an_acceptable_interrupted_passage(tmp_path: Path):
    from serving import studio_client

    data, port = tmp_path / "data", _free_port()
    data.mkdir()
    db = data / "inkstone.db"
    proc = _start(data, port)
    try:
        client = studio_client(f"http://127.0.0.1:{port}/")
        _wait_for(lambda: client.predict(api_name="/engine_state") != "loading", "the model loaded (it loads "
                  "in the background after the server is up)")
        project = client.predict("Harbor Lights", "en", "", "", "", api_name="/create_project")[0]["value"]
        client.predict(project, "Chapter 1", "", api_name="/add_chapter")
        (chapter_id,), = _query(db, "SELECT id FROM chapters WHERE project_id = ?", project)
        _query(db, "UPDATE projects SET settings = ? WHERE id = ?",
               json.dumps({"max_new_tokens": {"draft": 4000}}), project)  # a long draft, to kill it mid-way
        client.submit(chapter_id, "", 1, api_name="/draft")
        _wait_for(lambda: _query(db, "SELECT id FROM passages WHERE status = 'streaming' AND length(text) > 20"),
                  "streamed text in the store")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        client.close()
        (passage_id, status, kept), = _query(db, "SELECT id, status, text FROM passages WHERE task = 'draft'")
        assert status == "streaming" and kept  # what the dead process left behind

        proc = _start(data, port)
        (status, text, reason), = _query(db, "SELECT status, text, finish_reason FROM passages WHERE id = ?",
                                         passage_id)
        assert (status, reason) == ("interrupted", "interrupted") and text == kept
        client = studio_client(f"http://127.0.0.1:{port}/")
        client.predict(chapter_id, passage_id, "", api_name="/accept_passage")
        client.close()
        (chapter_text,), = _query(db, "SELECT text FROM chapters WHERE id = ?", chapter_id)
        assert kept.strip() in chapter_text
        (accepted,), = _query(db, "SELECT accepted FROM passages WHERE id = ?", passage_id)
        assert accepted == 1
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
        assert "marked interrupted" in output and "stopped cleanly" in output
    finally:
        if proc.poll() is None:
            proc.kill()
