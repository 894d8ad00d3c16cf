"""The "my style" use cases: training datasets from the writer's choices, LoRA fine-tunes of the
local model on the project's chapters (background, with progress, cancel and resume), the
project's adapters with their held-out perplexities, and the adapter used for generation.

Files live under StudioOptions.adapters_dir (adapters, checkpoints) and export_dir (JSONL); the UI
sees only records and the paths it offers for download. One fine-tune runs at a time per studio.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from app.studio.core import StudioCore
from app.studio.errors import InvalidInput, NotFound
from app.studio.feedback import record_edited, record_polish_rejected
from app.studio.store_seam import translates_store_errors
from app.training.adapters import AdapterError, AdapterStore
from app.training.exports import ExportResult, SftExample, chapter_examples, dpo_rows, export, sft_rows
from app.training.finetune import FineTuneJob, FineTuneRequest, JobState

DEFAULT_STEPS = 60
MAX_STEPS = 5000


@dataclass(frozen=True)
class DatasetExport:
    kind: str  # "sft" | "dpo"
    layout: str  # "trl" | "swift" | "card"
    path: Path
    rows: int
    loaded_rows: int  # rows the `datasets` library read back


@dataclass(frozen=True)
class FineTuneStatus:
    name: str
    status: str  # queued | running | finished | cancelled | failed
    step: int
    total_steps: int
    loss: float | None
    eta_s: float | None
    resumed_from: int
    error: str | None


@dataclass(frozen=True)
class AdapterView:
    name: str
    steps: int
    heldout_ppl_base: float | None
    heldout_ppl_adapter: float | None
    created: str
    active: bool
    dpo_accuracy: float | None = None  # share of the writer's choices the adapter now prefers (DPO runs)


def _status(name: str, state: JobState) -> FineTuneStatus:
    return FineTuneStatus(name, state.status, state.step, state.total_steps, state.loss, state.eta_s,
                          state.resumed_from, state.error)


@translates_store_errors
class StyleService:
    def __init__(self, core: StudioCore) -> None:
        self._core = core
        self._jobs: dict[int, tuple[str, FineTuneJob]] = {}
        self._lock = threading.Lock()

    # --- datasets -------------------------------------------------------------------------------
    def preference_count(self, project_id: int) -> int:
        return len(self._core.store.preference_pairs(project_id))

    def export_datasets(self, project_id: int, layout: str = "trl") -> list[DatasetExport]:
        """SFT rows (chapters + accepted passages) and DPO rows (every preference) as JSONL."""
        if layout not in ("trl", "swift", "card"):
            raise InvalidInput("style.bad_layout", layout=layout)
        store = self._core.store
        folder = self._core.options.export_dir / f"project-{project_id}"
        examples = chapter_examples([(c.title, c.outline, c.text) for c in store.list_chapters(project_id)])
        examples += [SftExample(self._core.prompt_text(p.prompt_hash), p.text)
                     for p in store.list_passages(project_id) if p.accepted and p.text.strip()]
        pairs = store.preference_pairs(project_id)
        results: list[tuple[str, ExportResult]] = [
            ("sft", export(sft_rows(examples, layout), folder / f"sft-{layout}.jsonl")),
            ("dpo", export(dpo_rows(pairs, layout), folder / f"dpo-{layout}.jsonl")),
        ]
        return [DatasetExport(kind, layout, r.path, r.rows, r.loaded_rows) for kind, r in results]

    # --- preferences the other desks do not record themselves ----------------------------------
    def reject_polish(self, passage_id: int, original: str) -> int:
        """The writer discarded a polish: the original is preferred to the model's text. A polish that
        did not finish normally records nothing (its truncated text is not a fair rejected example)."""
        passage = self._core.store.get_passage(passage_id)
        if passage.task != "polish":
            raise InvalidInput("style.not_a_polish")
        if passage.finish_reason != "stop":
            return 0
        return record_polish_rejected(self._core.store, passage, original)

    def record_edit(self, passage_id: int, edited: str) -> int:
        """An accepted passage the writer then edited: the edit is preferred to the model's text."""
        return record_edited(self._core.store, self._core.store.get_passage(passage_id), edited)

    # --- fine-tunes -----------------------------------------------------------------------------
    def start_finetune(self, project_id: int, name: str, steps: int = DEFAULT_STEPS,
                       dpo_steps: int = 0) -> FineTuneStatus:
        """Start (or resume, when a cancelled run of the same name left a checkpoint) a LoRA fine-tune:
        `steps` on the project's chapters, then `dpo_steps` of DPO on its recorded preferences."""
        adapters, base = self._paths()
        if not 1 <= steps <= MAX_STEPS or not 0 <= dpo_steps <= MAX_STEPS:
            raise InvalidInput("style.bad_steps", max=MAX_STEPS)
        train, heldout = self._texts(project_id)
        pairs = self._preference_texts(project_id) if dpo_steps else ()
        with self._lock:
            running = [n for n, job in self._jobs.values() if job.state.status in ("queued", "running")]
            if running:
                raise InvalidInput("style.finetune_running", name=running[0])
            try:
                if adapters.exists(_project_key(project_id), name):
                    raise InvalidInput("style.adapter_exists", name=name)
                request = FineTuneRequest(_project_key(project_id), name, train, heldout, steps=steps,
                                          seq_len=256, batch_size=4, learning_rate=2e-3, quantization="auto",
                                          preference_pairs=pairs, dpo_steps=dpo_steps)
                job = FineTuneJob(base, self._core.engine.info().model_id, adapters,
                                  adapters.root / ".training", request)
            except AdapterError as error:
                raise InvalidInput("style.bad_adapter_name", name=name) from error
            self._jobs[project_id] = (name, job.start())
        return _status(name, job.state)

    def finetune_status(self, project_id: int) -> FineTuneStatus | None:
        entry = self._jobs.get(project_id)
        return _status(entry[0], entry[1].state) if entry else None

    def cancel_finetune(self, project_id: int) -> FineTuneStatus | None:
        """Stop the running fine-tune after its current step; its checkpoint stays for a resume."""
        entry = self._jobs.get(project_id)
        if entry is None:
            return None
        entry[1].cancel()
        return _status(entry[0], entry[1].wait(timeout=120))

    # --- adapters -------------------------------------------------------------------------------
    def list_adapters(self, project_id: int) -> list[AdapterView]:
        self._core.store.get_project(project_id)
        if self._core.options.adapters_dir is None:
            return []
        active = getattr(self._core.engine, "active_adapter", None)
        return [AdapterView(info.name, info.steps, info.metrics.get("heldout_ppl_base"),
                            info.metrics.get("heldout_ppl_adapter"), info.created, info.name == active,
                            info.metrics.get("dpo_accuracy"))
                for info in AdapterStore(self._core.options.adapters_dir).list(_project_key(project_id))]

    def use_adapter(self, project_id: int, name: str | None) -> str | None:
        """Generate with the project's adapter `name`, or with the base model (None or "")."""
        switch = getattr(self._core.engine, "use_adapter", None)
        if switch is None:
            raise InvalidInput("style.no_adapters")
        if not name:
            switch(None)
            return None
        adapters, _ = self._paths()
        try:
            info = adapters.get(_project_key(project_id), name)
        except AdapterError as error:
            raise NotFound("style.no_such_adapter", name=name) from error
        switch(name, info.path)
        return name

    # --- helpers --------------------------------------------------------------------------------
    def _paths(self) -> tuple[AdapterStore, Path]:
        options = self._core.options
        if options.adapters_dir is None or options.base_model_path is None:
            raise InvalidInput("style.needs_local_model")
        return AdapterStore(options.adapters_dir), options.base_model_path

    def _preference_texts(self, project_id: int) -> tuple[tuple[str, str, str], ...]:
        """(prompt, chosen, rejected) of every recorded preference; DPO needs at least one."""
        pairs = tuple((p.prompt, p.chosen, p.rejected) for p in self._core.store.preference_pairs(project_id)
                      if p.chosen.strip() and p.rejected.strip())
        if not pairs:
            raise InvalidInput("style.no_preferences")
        return pairs

    def _texts(self, project_id: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Training and held-out texts: the last chapter is held out (one chapter: its last fifth)."""
        chapters = [c.text for c in self._core.store.list_chapters(project_id) if c.text.strip()]
        if not chapters:
            raise InvalidInput("style.no_chapter_text")
        if len(chapters) >= 2:
            return tuple(chapters[:-1]), (chapters[-1],)
        paragraphs = [p for p in chapters[0].split("\n\n") if p.strip()]
        cut = max(1, len(paragraphs) * 4 // 5)
        if cut >= len(paragraphs):
            return (chapters[0],), ()
        return ("\n\n".join(paragraphs[:cut]),), ("\n\n".join(paragraphs[cut:]),)


def _project_key(project_id: int) -> str:
    return f"project-{project_id}"
