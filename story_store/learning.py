"""Learning data in the store: prompt texts by hash and the writer's preferences as training pairs.

Invariants: a prompt text is stored once per sha256 hash (saving it again is a no-op); a
preference pair names its prompt by hash, so its prompt text survives restarts. `preference_pairs`
joins branch preferences (chosen/rejected passages) and text preferences into one list, oldest
first, each with the prompt text resolved from the prompts table where the row holds only a hash.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from story_store.base import StoreBase
from story_store.errors import ValidationError
from story_store.fields import MAX_INT64, check_int, check_text, not_found, other_project
from story_store.models import Passage, Preference, PromptText, TextPreference

TEXT_PREFERENCE_KINDS = frozenset({"polish_accept", "polish_reject", "edited"})
HASH_PREFIX = "sha256:"  # how a branch preference names a prompt whose text was not at hand


def prompt_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class PreferencePair:
    """One (prompt, chosen, rejected) training pair; kind is "branch" or a TEXT_PREFERENCE_KINDS."""

    id: str  # "branch:<id>" or "text:<id>", stable across exports
    project_id: int
    kind: str
    prompt: str
    chosen: str
    rejected: str
    created_at: datetime


class LearningMixin(StoreBase):
    def save_prompt(self, text: str) -> str:
        """Store `text` under its sha256 hash once; returns the hash."""
        check_text("prompt", text)
        digest = prompt_hash(text)
        dialect = self._engine.dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(PromptText).values(hash=digest, text=text, created_at=_now())
        with self._write() as session:
            if dialect in ("sqlite", "postgresql"):
                session.execute(statement.on_conflict_do_nothing(index_elements=["hash"]))
            elif session.scalar(select(PromptText.id).where(PromptText.hash == digest)) is None:
                session.add(PromptText(hash=digest, text=text))
        return digest

    def prompt_text(self, digest: str) -> str | None:
        with self._read() as session:
            return session.scalar(select(PromptText.text).where(PromptText.hash == digest))

    def count_prompts(self) -> int:
        with self._read() as session:
            return len(session.scalars(select(PromptText.id)).all())

    def record_text_preference(self, project_id: int, kind: str, chosen: str, rejected: str, *,
                               prompt_hash: str = "", passage_id: int | None = None) -> PreferencePair:
        if kind not in TEXT_PREFERENCE_KINDS:
            raise ValidationError(f"preference kind must be one of {sorted(TEXT_PREFERENCE_KINDS)}, got {kind!r}")
        check_text("chosen text", chosen), check_text("rejected text", rejected)
        check_text("prompt hash", prompt_hash, 64)
        if chosen == rejected:
            raise ValidationError("the chosen and the rejected text must differ")
        with self._write() as session:
            self._project(session, project_id)
            if passage_id is not None:
                check_int("passage id", passage_id, 1, MAX_INT64)
                owner = session.scalar(select(Passage.project_id).where(Passage.id == passage_id))
                if owner is None:
                    raise not_found("passages", passage_id)
                if owner != project_id:
                    raise other_project("passages", passage_id)
            row = TextPreference(project_id=project_id, kind=kind, prompt_hash=prompt_hash, chosen=chosen,
                                 rejected=rejected, passage_id=passage_id)
            session.add(row)
            session.flush()
            prompt = session.scalar(select(PromptText.text).where(PromptText.hash == prompt_hash)) or ""
            return PreferencePair(f"text:{row.id}", project_id, kind, prompt, chosen, rejected, row.created_at)

    def preference_pairs(self, project_id: int) -> list[PreferencePair]:
        """Every recorded preference of the project as texts, oldest first."""
        with self._read() as session:
            self._project(session, project_id)
            prompts = dict(session.execute(select(PromptText.hash, PromptText.text)).tuples().all())
            pairs = [_branch_pair(session, row, prompts) for row in session.scalars(
                select(Preference).where(Preference.project_id == project_id).order_by(Preference.id))]
            pairs += [PreferencePair(f"text:{row.id}", project_id, row.kind, prompts.get(row.prompt_hash, ""),
                                     row.chosen, row.rejected, row.created_at)
                      for row in session.scalars(select(TextPreference).where(
                          TextPreference.project_id == project_id).order_by(TextPreference.id))]
        return sorted(pairs, key=lambda pair: (pair.created_at, pair.id))


def _branch_pair(session: object, row: Preference, prompts: dict[str, str]) -> PreferencePair:
    texts = dict(session.execute(  # type: ignore[attr-defined]
        select(Passage.id, Passage.text).where(Passage.id.in_([row.chosen_passage_id, row.rejected_passage_id]))
    ).tuples().all())
    prompt = row.prompt
    if prompt.startswith(HASH_PREFIX):
        prompt = prompts.get(prompt[len(HASH_PREFIX):], prompt)
    return PreferencePair(f"branch:{row.id}", row.project_id, "branch", prompt,
                          texts.get(row.chosen_passage_id, ""), texts.get(row.rejected_passage_id, ""),
                          row.created_at)


def _now() -> datetime:
    from story_store.models import utc_now

    return utc_now()
