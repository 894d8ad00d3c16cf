"""The demo checkpoint: the small XVERSE-MoE trained on public-domain novels, shipped in
app/engine/demo_model/ (official on-disk format), copied once into the data folder's demo dir.

When the bundled weights are missing (a stripped install), the tiny random checkpoint of
app.engine.tiny is built there instead, as before. A marker file names the bundled model's
version, so a demo dir holding an older (random) demo model is replaced once.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

BUNDLED_DIR = Path(__file__).resolve().parent / "demo_model"
MARKER = "inkstone_demo.json"
HELDOUT_DIR = "eval"  # held-out texts of the bundled model: eval/heldout_zh.txt, eval/heldout_en.txt


def bundled_demo_available() -> bool:
    return (BUNDLED_DIR / "config.json").is_file() and (BUNDLED_DIR / MARKER).is_file()


def bundled_version() -> str:
    return str(json.loads((BUNDLED_DIR / MARKER).read_text(encoding="utf-8")).get("version", ""))


def prepare_demo_dir(demo_dir: Path) -> Path:
    """A loadable demo checkpoint in `demo_dir` (copied or built only when missing or outdated)."""
    demo_dir = Path(demo_dir)
    if not bundled_demo_available():
        if not (demo_dir / "config.json").is_file():
            from app.engine.tiny import build_tiny_checkpoint

            build_tiny_checkpoint(demo_dir)
        return demo_dir
    marker = demo_dir / MARKER
    if marker.is_file() and json.loads(marker.read_text(encoding="utf-8")).get("version") == bundled_version():
        return demo_dir
    staging = demo_dir.with_name(demo_dir.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    # copyfile: the copies get this process's umask, not the package files' (world-readable) modes;
    # copytree still copies each folder's mode, so folders are made private to the writer afterwards.
    shutil.copytree(BUNDLED_DIR, staging, copy_function=shutil.copyfile)
    for folder in (staging, *(p for p in staging.rglob("*") if p.is_dir())):
        folder.chmod(0o700)
    shutil.rmtree(demo_dir, ignore_errors=True)
    staging.rename(demo_dir)
    return demo_dir
