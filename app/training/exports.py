"""Training datasets from the writer's own work, as JSONL in the layouts people train with.

Pure functions over plain texts: SFT rows from chapters and accepted passages, DPO rows from
preference pairs. Layouts:
- "trl":    SFT {"prompt", "completion"}; DPO {"prompt", "chosen", "rejected"} (TRL's
            prompt-completion and preference formats);
- "swift":  SFT {"messages": [user, assistant]}; DPO the same plus "rejected_response" (ms-swift);
- "card":   {"input", "output"} as the XVERSE-Ent cards fine-tune with (DPO: output = chosen).
`write_jsonl` writes a file atomically (temporary name, then rename); `check_with_datasets`
loads it with the `datasets` library and returns the row count it read.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

LAYOUTS = ("trl", "swift", "card")
Row = dict[str, Any]


class Pair(Protocol):
    @property
    def prompt(self) -> str: ...
    @property
    def chosen(self) -> str: ...
    @property
    def rejected(self) -> str: ...


@dataclass(frozen=True)
class SftExample:
    prompt: str  # what came before (a chapter's heading/outline, or the generation prompt)
    output: str  # the writer's text


@dataclass(frozen=True)
class ExportResult:
    path: Path
    rows: int
    loaded_rows: int  # rows the `datasets` library read back


def _check_layout(layout: str) -> None:
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; expected one of {LAYOUTS}")


def sft_rows(examples: Iterable[SftExample], layout: str) -> list[Row]:
    _check_layout(layout)
    rows: list[Row] = []
    for example in examples:
        if not example.output.strip():
            continue
        if layout == "trl":
            rows.append({"prompt": example.prompt, "completion": example.output})
        elif layout == "swift":
            rows.append({"messages": _messages(example.prompt, example.output)})
        else:
            rows.append({"input": example.prompt, "output": example.output})
    return rows


def dpo_rows(pairs: Iterable[Pair], layout: str) -> list[Row]:
    _check_layout(layout)
    rows: list[Row] = []
    for pair in pairs:
        if layout == "trl":
            rows.append({"prompt": pair.prompt, "chosen": pair.chosen, "rejected": pair.rejected})
        elif layout == "swift":
            rows.append({"messages": _messages(pair.prompt, pair.chosen), "rejected_response": pair.rejected})
        else:
            rows.append({"input": pair.prompt, "output": pair.chosen})
    return rows


def _messages(prompt: str, answer: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]


def chapter_examples(chapters: Sequence[tuple[str, str, str]]) -> list[SftExample]:
    """(title, outline, text) per chapter -> examples: heading (+ outline) as prompt, text as output."""
    return [SftExample("\n\n".join(part for part in (title, outline) if part.strip()), text)
            for title, outline, text in chapters if text.strip()]


def write_jsonl(rows: Sequence[Row], path: Path) -> Path:
    """One JSON object per line (UTF-8, not ASCII-escaped), written atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            for row in rows:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
        os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
    return path


def check_with_datasets(path: Path) -> int:
    """Rows `datasets` reads from the JSONL file (0 for an empty file); its cache lives in a temp dir."""
    if Path(path).stat().st_size == 0:
        return 0
    from datasets import load_dataset

    with tempfile.TemporaryDirectory() as cache:
        dataset = load_dataset("json", data_files=str(path), split="train", cache_dir=cache, keep_in_memory=True)
        return len(dataset)


def export(rows: Sequence[Row], path: Path) -> ExportResult:
    written = write_jsonl(rows, path)
    return ExportResult(written, len(rows), check_with_datasets(written))
