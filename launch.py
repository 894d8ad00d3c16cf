"""Start Inkstone: Settings -> Store -> Engine -> Studio -> Gradio app, until Ctrl-C or SIGTERM.

`python launch.py` serves the studio on http://127.0.0.1:7860. `python launch.py --demo` uses a tiny
random model (no GPU). `python launch.py --help` lists every option.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

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
    from app.engine.factory import build_engine
    from app.studio import Studio, StudioOptions
    from story_store import Store

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(settings.db_url)
    print(f"Inkstone: story store at {settings.db_url}", flush=True)
    engine = build_engine(_engine_spec(settings))
    info = engine.info()
    if info.kind == "none":
        print(f"Inkstone: no model loaded. {info.notes}", flush=True)
    else:
        print(f"Inkstone: model {info.model_id} ({info.kind}, {info.quantization or 'native'}) ready",
              flush=True)
    options = StudioOptions(export_dir=settings.export_dir, demo=settings.demo,
                            ui_language=settings.ui_language)
    return store, Studio(store, engine, options)


def main(argv: list[str] | None = None) -> int:
    try:
        settings = parse_settings(argv)
    except SettingsError as exc:
        print(f"Inkstone: {exc}", file=sys.stderr)
        return 2
    from app.ui import CSS, build_app

    store, studio = _build_studio(settings)
    scheduler = _start_backups(store, settings)
    app = build_app(studio)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    # Exports live in the data dir, which Gradio would refuse to serve unless named here; uploads
    # (cards, lorebooks, manuscripts) are capped before they reach the studio.
    app.launch(server_name=settings.host, server_port=settings.port, auth=settings.auth,
               prevent_thread_lock=True, inbrowser=False, share=False, css=CSS,
               allowed_paths=[str(settings.export_dir)], max_file_size=MAX_UPLOAD,
               footer_links=[], quiet=True)  # no developer chrome or "share=True" hint for a writer
    print(f"Inkstone: open http://{settings.host}:{settings.port} in your browser", flush=True)
    try:
        while not stop.wait(0.5):  # a timed wait lets the signal handlers run promptly
            pass
    finally:
        studio.cancel_all()
        app.close()
        if scheduler is not None:
            scheduler.stop()
        store.close()
        print("Inkstone: stopped cleanly", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
