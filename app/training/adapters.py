"""Adapters on disk: one folder per adapter under <root>/<project>/<name>/, written atomically.

A folder holds peft's adapter_config.json + adapter_model.safetensors and our meta.json (base
model, steps, perplexities). Invariant: a folder without meta.json is never listed, and a final
folder only ever appears by one rename of a complete temporary folder, so a cancelled or crashed
run leaves no half-written adapter (temporary folders start with "." and are ignored).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

META_NAME = "meta.json"
NAME_PATTERN = re.compile(r"^[\w\-. ]{1,64}$")


class AdapterError(ValueError):
    """A refused adapter operation; `code` is the message key, `values` fill it."""

    def __init__(self, code: str, **values: Any) -> None:
        super().__init__(f"{code}: {values}")
        self.code, self.values = code, values


@dataclass(frozen=True)
class AdapterInfo:
    project: str
    name: str
    path: Path
    base_model: str = ""
    steps: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    created: str = ""


def check_name(name: str) -> str:
    """A name usable as one folder: letters, digits, _-. and spaces, 1..64 chars, not dots only."""
    if not NAME_PATTERN.match(name) or name.strip(". ") == "" or name.startswith("."):
        raise AdapterError("adapter_name_invalid", name=name)
    return name


class AdapterStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def folder(self, project: str, name: str) -> Path:
        return self.root / check_name(project) / check_name(name)

    def exists(self, project: str, name: str) -> bool:
        return (self.folder(project, name) / META_NAME).is_file()

    def write(self, project: str, name: str, save: Any, meta: dict[str, Any]) -> AdapterInfo:
        """`save(tmp_dir)` writes the adapter files; then meta.json; then one rename into place."""
        final = self.folder(project, name)
        if final.exists():
            raise AdapterError("adapter_exists", project=project, name=name)
        tmp = final.parent / f".partial-{name}-{uuid.uuid4().hex}"
        tmp.mkdir(parents=True)
        try:
            save(tmp)
            (tmp / META_NAME).write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
            os.rename(tmp, final)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return self.get(project, name)

    def get(self, project: str, name: str) -> AdapterInfo:
        folder = self.folder(project, name)
        try:
            meta = json.loads((folder / META_NAME).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise AdapterError("adapter_not_found", project=project, name=name) from None
        return AdapterInfo(project, name, folder, str(meta.get("base_model", "")), int(meta.get("steps", 0)),
                           dict(meta.get("metrics", {})), str(meta.get("created", "")))

    def list(self, project: str) -> list[AdapterInfo]:
        folder = self.root / check_name(project)
        if not folder.is_dir():
            return []
        names = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
        return [self.get(project, n) for n in names if (folder / n / META_NAME).is_file()]

    def delete(self, project: str, name: str) -> None:
        folder = self.folder(project, name)
        if not (folder / META_NAME).is_file():
            raise AdapterError("adapter_not_found", project=project, name=name)
        trash = folder.parent / f".deleting-{name}-{uuid.uuid4().hex}"
        os.rename(folder, trash)
        shutil.rmtree(trash, ignore_errors=True)


def info_dict(info: AdapterInfo) -> dict[str, Any]:
    data = asdict(info)
    data["path"] = str(info.path)
    return data
