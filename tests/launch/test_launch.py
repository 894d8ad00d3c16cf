"""`python launch.py` as a writer runs it: a real process, a real port, a real signal."""

from __future__ import annotations

import os
import signal
import socket
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


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INKSTONE_")}
    env.update(INKSTONE_DATA_DIR=str(tmp_path / "data"), GRADIO_ANALYTICS_ENABLED="False", PYTHONUNBUFFERED="1")
    return env


def _wait_for_http(url: str, proc: subprocess.Popen, timeout_s: float) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"launch.py exited early with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"no HTTP answer from {url} within {timeout_s}s")


@pytest.mark.slow
def test_demo_serves_exports_from_the_data_dir_and_stops_cleanly_on_sigterm(tmp_path: Path):
    """The data dir lies outside Gradio's temp dir and the working dir, as ~/.local/share does for a writer."""
    from serving import studio_client

    port, cwd, gradio_tmp = _free_port(), tmp_path / "cwd", tmp_path / "gradio-tmp"
    cwd.mkdir()
    gradio_tmp.mkdir()
    env = {**_env(tmp_path), "TMPDIR": str(gradio_tmp), "GRADIO_TEMP_DIR": str(gradio_tmp)}
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "launch.py"), "--demo", "--port", str(port), "--backup-interval", "0"],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        assert _wait_for_http(f"http://127.0.0.1:{port}/", proc, timeout_s=180) == 200
        client = studio_client(f"http://127.0.0.1:{port}/", download_files=str(tmp_path / "downloads"))
        project = client.predict("Harbor Lights", "en", "", "", "", api_name="/create_project")[0]["value"]
        client.predict(project, "Chapter 1: The Lamp", "", api_name="/add_chapter")
        downloaded = Path(client.predict(project, None, "book", "md", True, True, api_name="/export_book"))
        assert "# Harbor Lights" in downloaded.read_text("utf-8")
        deadline = time.monotonic() + 180  # the model loads in the background, after the server is up
        while client.predict(api_name="/engine_state") == "loading":
            assert time.monotonic() < deadline, "the demo model did not finish loading"
            time.sleep(0.3)
        assert client.predict(api_name="/engine_state") == "transformers"
        client.close()
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert "stopped cleanly" in output
    loading, listening = output.index("in the background"), output.index("in your browser")
    assert loading < listening and "tiny-xverse-demo (transformers" in output  # said, then ready
    assert (tmp_path / "data" / "inkstone.db").is_file()
    assert list((tmp_path / "data" / "exports").glob("*.md"))


def test_public_host_without_auth_refuses_to_start(tmp_path: Path):
    proc = subprocess.run(
        [sys.executable, "launch.py", "--host", "0.0.0.0", "--port", str(_free_port())],
        cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2
    assert "--auth" in proc.stderr and "0.0.0.0" in proc.stderr
    assert not (tmp_path / "data").exists(), "a refused start must not create anything"
