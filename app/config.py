"""Settings: the one place that reads argv and the environment, once, into a frozen dataclass.

Precedence: command-line flag > INKSTONE_* environment variable > default. Invariant: a Settings
value is always valid — a host other than loopback comes with credentials, ports are in range,
quantization and language are known words — or `parse_settings` raises SettingsError.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import platformdirs

DEFAULT_MODEL = "xverse/XVERSE-Ent-A4.2B"
QUANTIZATIONS = ("nf4", "int8", "bf16", "fp16", "fp32")
UI_LANGUAGES = ("en", "zh")


class SettingsError(ValueError):
    """The command line or environment asks for something Inkstone will not do; says what and why."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    db_url: str
    model: str
    quantization: str
    context_length: int
    host: str
    port: int
    auth: tuple[str, str] | None
    demo: bool
    openai_base_url: str | None
    openai_model: str | None
    openai_api_key: str | None
    tokenizer_path: str | None
    gpu_memory_gib: float | None
    kv_cache_bits: int | None  # None: chosen by the engine from the memory estimate at the context
    ui_language: str
    backup_interval_min: float
    backup_keep: int
    allowed_hosts: tuple[str, ...] = ()  # more Host names the server answers (besides its own, localhost)

    @property
    def export_dir(self) -> Path:
        return self.data_dir / "exports"

    @property
    def backup_dir(self) -> Path:
        return self.data_dir / "backups"

    @property
    def demo_model_dir(self) -> Path:
        return self.data_dir / "demo-model"

    @property
    def cache_dir(self) -> Path:
        """Private (0700) home of Gradio's copies of uploads and exports; emptied on exit."""
        return self.data_dir / "cache"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="launch.py", description="Inkstone, a local studio for novelists.")
    p.add_argument("--data-dir", help="where the story database, exports and backups live")
    p.add_argument("--db-url", help="SQLAlchemy URL of the story store (default: SQLite in the data dir)")
    p.add_argument("--model", help=f"hub id or local path of the model (default {DEFAULT_MODEL})")
    p.add_argument("--quantization", choices=QUANTIZATIONS, help="weights format (default nf4)")
    p.add_argument("--context", type=int, dest="context_length", help="max context tokens (default 8192)")
    p.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port to listen on (default 7860)")
    p.add_argument("--auth", help="user:password, required when --host is not a loopback address "
                                  "(INKSTONE_AUTH keeps the password out of the process list)")
    p.add_argument("--demo", action="store_true", default=None, help="the small bundled demo model (trained on two public-domain novels); no GPU needed")
    p.add_argument("--openai-base-url", help="use an OpenAI-compatible server (e.g. SGLang) instead")
    p.add_argument("--openai-model", help="model name on that server")
    p.add_argument("--tokenizer", dest="tokenizer_path", help="local tokenizer for exact token counts")
    p.add_argument("--gpu-memory", type=float, dest="gpu_memory_gib",
                   help="GiB of GPU memory the model may use; routed experts (or layers) that do not fit stay in CPU RAM")
    p.add_argument("--kv-cache-bits", type=int, choices=(8, 16), help="KV cache precision (default: 16-bit when it fits the GPU budget at the context, else 8)")
    p.add_argument("--ui-language", choices=UI_LANGUAGES,
                   help="force the language of the interface (default: the writer's choice, else the browser's)")
    p.add_argument("--backup-interval", type=float, dest="backup_interval_min",
                   help="minutes between automatic backups, 0 to disable (default 30)")
    p.add_argument("--backup-keep", type=int, help="how many backups to keep (default 10)")
    p.add_argument("--allowed-hosts", help="comma-separated host names the studio also answers to (e.g. behind "
                                           "a proxy); others are refused (DNS-rebinding protection)")
    return p


def _pick(flag, env: Mapping[str, str], name: str, default, cast=str):
    if flag is not None:
        return flag
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return cast(raw)
    except ValueError as exc:
        raise SettingsError(f"{name}={raw!r} is not a valid value ({exc})") from None


def _truthy(raw: str) -> bool:
    return raw.strip().lower() in ("1", "true", "yes", "on")


def _parse_auth(raw: str | None) -> tuple[str, str] | None:
    if raw is None:
        return None
    user, sep, password = raw.partition(":")
    if not sep or not user or not password:
        raise SettingsError("--auth must look like user:password (both parts non-empty)")
    return (user, password)


def _parse_hosts(raw: str) -> tuple[str, ...]:
    hosts = tuple(h.strip().lower() for h in raw.split(",") if h.strip())
    for host in hosts:
        if any(ch in host for ch in "/@ ") or host in ("*", "."):
            raise SettingsError(f"--allowed-hosts: {host!r} is not a host name (no wildcards, schemes or paths)")
    return hosts


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_settings(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from argv and environment (the process's own when None)."""
    args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    env = os.environ if env is None else env
    data_dir = Path(_pick(args.data_dir, env, "INKSTONE_DATA_DIR",
                          platformdirs.user_data_dir("inkstone", appauthor=False))).expanduser()
    settings = Settings(
        data_dir=data_dir,
        db_url=_pick(args.db_url, env, "INKSTONE_DB_URL", f"sqlite:///{data_dir / 'inkstone.db'}"),
        model=_pick(args.model, env, "INKSTONE_MODEL", DEFAULT_MODEL),
        quantization=_pick(args.quantization, env, "INKSTONE_QUANTIZATION", "nf4"),
        context_length=_pick(args.context_length, env, "INKSTONE_CONTEXT", 8192, int),
        host=_pick(args.host, env, "INKSTONE_HOST", "127.0.0.1"),
        port=_pick(args.port, env, "INKSTONE_PORT", 7860, int),
        auth=_parse_auth(_pick(args.auth, env, "INKSTONE_AUTH", None)),
        demo=_pick(args.demo, env, "INKSTONE_DEMO", False, _truthy),
        openai_base_url=_pick(args.openai_base_url, env, "INKSTONE_OPENAI_BASE_URL", None),
        openai_model=_pick(args.openai_model, env, "INKSTONE_OPENAI_MODEL", None),
        openai_api_key=env.get("INKSTONE_OPENAI_API_KEY") or env.get("OPENAI_API_KEY"),
        tokenizer_path=_pick(args.tokenizer_path, env, "INKSTONE_TOKENIZER", None),
        gpu_memory_gib=_pick(args.gpu_memory_gib, env, "INKSTONE_GPU_MEMORY", None, float),
        kv_cache_bits=_pick(args.kv_cache_bits, env, "INKSTONE_KV_CACHE_BITS", None, int),
        ui_language=_pick(args.ui_language, env, "INKSTONE_UI_LANGUAGE", ""),  # "": not forced
        backup_interval_min=_pick(args.backup_interval_min, env, "INKSTONE_BACKUP_INTERVAL", 30.0, float),
        backup_keep=_pick(args.backup_keep, env, "INKSTONE_BACKUP_KEEP", 10, int),
        allowed_hosts=_parse_hosts(_pick(args.allowed_hosts, env, "INKSTONE_ALLOWED_HOSTS", "")),
    )
    _validate(settings)
    return settings


def _validate(s: Settings) -> None:
    if not is_loopback(s.host) and s.auth is None:
        raise SettingsError(
            f"Refusing to listen on {s.host}: that exposes your manuscripts beyond this computer. "
            "Add --auth user:password, or leave --host at 127.0.0.1."
        )
    if not 0 < s.port < 65536:
        raise SettingsError(f"--port {s.port} is out of range (1-65535)")
    if s.quantization not in QUANTIZATIONS:
        raise SettingsError(f"quantization {s.quantization!r} is not one of {', '.join(QUANTIZATIONS)}")
    if s.ui_language and s.ui_language not in UI_LANGUAGES:
        raise SettingsError(f"UI language {s.ui_language!r} is not one of {', '.join(UI_LANGUAGES)}")
    if not 256 <= s.context_length <= 131072:
        raise SettingsError(f"--context {s.context_length} must be between 256 and 131072 tokens")
    if s.kv_cache_bits not in (None, 8, 16):
        raise SettingsError("--kv-cache-bits must be 8 or 16")
    if s.gpu_memory_gib is not None and s.gpu_memory_gib <= 0:
        raise SettingsError("--gpu-memory must be a positive number of GiB")
    if s.backup_interval_min < 0 or s.backup_keep < 1:
        raise SettingsError("--backup-interval must be >= 0 and --backup-keep >= 1")
    if s.openai_base_url and not s.openai_base_url.startswith(("http://", "https://")):
        raise SettingsError("--openai-base-url must start with http:// or https://")
