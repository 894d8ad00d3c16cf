"""Settings parsing: precedence, defaults, and the refusals that protect a writer's manuscripts."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import DEFAULT_MODEL, SettingsError, is_loopback, parse_settings


def test_defaults_listen_on_loopback_with_the_chinese_model_in_nf4(tmp_path: Path):
    s = parse_settings([], env={"INKSTONE_DATA_DIR": str(tmp_path)})
    assert s.host == "127.0.0.1" and s.port == 7860 and s.auth is None
    assert s.model == DEFAULT_MODEL and s.quantization == "nf4" and s.context_length == 8192
    assert s.db_url == f"sqlite:///{tmp_path / 'inkstone.db'}"
    assert s.demo is False and s.export_dir == tmp_path / "exports"


def test_flag_beats_environment_beats_default(tmp_path: Path):
    env = {"INKSTONE_DATA_DIR": str(tmp_path), "INKSTONE_PORT": "8001", "INKSTONE_MODEL": "env/model"}
    assert parse_settings([], env=env).port == 8001
    s = parse_settings(["--port", "8002", "--model", "xverse/XVERSE-Ent-A5.7B"], env=env)
    assert s.port == 8002 and s.model == "xverse/XVERSE-Ent-A5.7B"


def test_public_host_without_auth_is_refused_with_a_reason(tmp_path: Path):
    with pytest.raises(SettingsError, match="--auth"):
        parse_settings(["--host", "0.0.0.0"], env={"INKSTONE_DATA_DIR": str(tmp_path)})


def test_public_host_with_auth_is_accepted(tmp_path: Path):
    s = parse_settings(["--host", "0.0.0.0", "--auth", "ann:s3cret:x"], env={"INKSTONE_DATA_DIR": str(tmp_path)})
    assert s.auth == ("ann", "s3cret:x")


@pytest.mark.parametrize("bad", ["nocolon", ":pw", "user:"])
def test_malformed_auth_is_refused(bad: str, tmp_path: Path):
    with pytest.raises(SettingsError, match="user:password"):
        parse_settings(["--auth", bad], env={"INKSTONE_DATA_DIR": str(tmp_path)})


@pytest.mark.parametrize(
    "argv,needle",
    [(["--port", "70000"], "port"), (["--context", "10"], "context"), (["--gpu-memory", "-1"], "gpu-memory"),
     (["--openai-base-url", "ftp://x"], "http")],
)
def test_out_of_range_values_are_refused(argv, needle, tmp_path: Path):
    with pytest.raises(SettingsError, match=needle):
        parse_settings(argv, env={"INKSTONE_DATA_DIR": str(tmp_path)})


def test_bad_environment_value_names_the_variable(tmp_path: Path):
    with pytest.raises(SettingsError, match="INKSTONE_PORT"):
        parse_settings([], env={"INKSTONE_DATA_DIR": str(tmp_path), "INKSTONE_PORT": "eighty"})


@pytest.mark.parametrize("host,expected", [("127.0.0.1", True), ("localhost", True), ("::1", True),
                                           ("127.3.4.5", True), ("0.0.0.0", False), ("192.168.1.2", False),
                                           ("example.com", False)])
def test_loopback_detection(host: str, expected: bool):
    assert is_loopback(host) is expected
