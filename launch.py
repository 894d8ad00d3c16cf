"""Start Inkstone: Settings -> Store -> Engine -> Studio -> Gradio app, until Ctrl-C or SIGTERM.

`python launch.py` serves the studio on http://127.0.0.1:7860. `python launch.py --demo` uses the small
bundled demo model (no GPU). `python launch.py --help` lists every option.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
from pathlib import Path

# Set before gradio is imported: no usage reporting from a writer's machine.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from app.config import Settings, SettingsError, parse_settings  # noqa: E402

MAX_UPLOAD = "25mb"  # above every importer's own limit (cards, lorebooks 20 MB; manuscripts 20 MB)


def _engine_spec(settings: Settings):
    from app.engine.factory import EngineSpec

    return EngineSpec(
        model=settings.model,
        quantization=settings.quantization,
        context_length=settings.context_length,
        demo=settings.demo,
        demo_dir=settings.demo_model_dir,
        openai_base_url=settings.openai_base_url,
        openai_model=settings.openai_model,
        openai_api_key=settings.openai_api_key,
        tokenizer_path=settings.tokenizer_path,
        gpu_memory_gib=settings.gpu_memory_gib,
        kv_cache_bits=settings.kv_cache_bits,
    )


def _start_backups(store, settings: Settings):
    from story_store.backup import BackupScheduler

    if settings.backup_interval_min <= 0 or not settings.db_url.startswith("sqlite"):
        return None
    scheduler = BackupScheduler(store, settings.backup_dir, settings.backup_interval_min * 60,
                                settings.backup_keep)
    scheduler.start()
    return scheduler


def _build_studio(settings: Settings):
    from app.engine.background import BackgroundEngine
    from app.engine.factory import build_engine
    from app.studio import Studio, StudioOptions
    from story_store import Store

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(settings.db_url)
    print(f"Inkstone: story store at {settings.db_url}", flush=True)
    recovered = store.mark_interrupted()  # left `streaming` by a process that died mid-stream
    if recovered.passages or recovered.messages:
        print(f"Inkstone: {recovered.passages} passage(s) and {recovered.messages} chat message(s) were being "
              "written when Inkstone last stopped; they are kept, marked interrupted", flush=True)
    spec = _engine_spec(settings)
    # The server comes up first; the page shows the model loading (app/ui/model_state.py).
    engine = BackgroundEngine(lambda: build_engine(spec), model_id=_model_name(settings),
                              context_length=settings.context_length, on_loaded=_announce).start()
    print(f"Inkstone: loading the model {_model_name(settings)} in the background", flush=True)
    options = StudioOptions(export_dir=settings.export_dir, demo=settings.demo,
                            ui_language=settings.ui_language,
                            backup_dir=settings.backup_dir if settings.db_url.startswith("sqlite") else None,
                            **_learning_options(settings))
    return store, Studio(store, engine, options)


def _private_cache(settings: Settings) -> Path:
    """Make Gradio keep its copies of uploads and exports in a 0700 folder of the data dir.

    Must run before gradio is imported (it reads GRADIO_TEMP_DIR at import). The folder is per
    process; folders left by earlier runs that are no longer alive are removed. The umask makes
    every file this process writes private to the writer (0600 files, 0700 folders)."""
    os.umask(0o077)
    root = settings.cache_dir
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o700)
    for stale in root.glob("gradio-*"):
        if not _pid_alive(stale.name.removeprefix("gradio-")):
            shutil.rmtree(stale, ignore_errors=True)
    mine = root / f"gradio-{os.getpid()}"
    mine.mkdir(mode=0o700, exist_ok=True)
    os.environ["GRADIO_TEMP_DIR"] = str(mine)
    return mine


def _pid_alive(text: str) -> bool:
    if not text.isdigit():
        return False
    try:
        os.kill(int(text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _app_kwargs(settings: Settings) -> dict:
    """With --auth, failed logins are throttled per client (app/login_guard.py)."""
    if settings.auth is None:
        return {}
    from starlette.middleware import Middleware

    from app.login_guard import LoginThrottle
    from app.ui.strings import t

    def message(seconds: int) -> str:
        return t(settings.ui_language, "login_throttled", seconds=seconds)

    return {"middleware": [Middleware(LoginThrottle, message=message)]}


def _model_name(settings: Settings) -> str:
    if settings.demo:
        return "tiny-xverse-demo"
    return (settings.openai_model or settings.model) if settings.openai_base_url else settings.model


def _announce(engine) -> None:
    """Printed from the loading thread when the load ends."""
    info = engine.info()
    if info.kind == "none":
        print(f"Inkstone: no model loaded. {info.notes}", flush=True)
    else:
        print(f"Inkstone: model {info.model_id} ({info.kind}, {info.quantization or 'native'}) ready", flush=True)


def _learning_options(settings: Settings) -> dict:
    """Where "my style" adapters live and which local model a fine-tune starts from (local engines only:
    not with --openai-base-url)."""
    if settings.openai_base_url:
        return {}
    base = settings.demo_model_dir if settings.demo else Path(settings.model)
    return {"adapters_dir": settings.data_dir / "adapters", "base_model_path": base}


def main(argv: list[str] | None = None) -> int:
    try:
        settings = parse_settings(argv)
    except SettingsError as exc:
        print(f"Inkstone: {exc}", file=sys.stderr)
        return 2
    cache = _private_cache(settings)
    from app.server import serve
    from app.ui import build_app, launch_options

    store, studio = _build_studio(settings)
    scheduler = _start_backups(store, settings)
    app = build_app(studio)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    # Exports live in the data dir, which Gradio would refuse to serve unless named here; uploads
    # (cards, lorebooks, manuscripts) are capped before they reach the studio. The server answers only
    # its own Host and Origin (app.server); with --auth, failed logins are throttled (app_kwargs).
    server = serve(app, settings.host, settings.port, settings.allowed_hosts, auth=settings.auth,
                   allowed_paths=[str(settings.export_dir)], max_file_size=MAX_UPLOAD,
                   app_kwargs=_app_kwargs(settings), **launch_options())
    print(f"Inkstone: open http://{settings.host}:{settings.port} in your browser", flush=True)
    try:
        while not stop.wait(0.5):  # a timed wait lets the signal handlers run promptly
            pass
    finally:
        studio.cancel_all()
        server.close()
        if scheduler is not None:
            scheduler.stop()
        store.close()
        shutil.rmtree(cache, ignore_errors=True)  # Gradio's copies of the writer's files
        print("Inkstone: stopped cleanly", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
