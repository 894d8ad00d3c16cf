"""Consistency: check a passage, chapter or branch against the book's facts; rank branches; edit the
glossary and stated facts; import facts from lore.

Invariants: findings are codes plus values (`app.continuity.Finding`), rendered by the UI; ranking
returns every branch of the group (never hides or drops one), best first; the model-scored layer and
the log-likelihood run only when the engine can score (`score` method) and a model is loaded.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.continuity import (Finding, StoryFacts, branch_score, check_passage, facts_for_project, import_from_lore,
                            model_findings, model_verdicts, rank_branches)
from app.continuity.names import established_spellings
from app.studio.core import StudioCore
from app.studio.errors import InvalidInput
from app.studio.store_seam import translates_store_errors
from app.studio.story import STORY_TASKS
from story_store.records import GlossaryTermRecord, PassageRecord, ProjectRecord, StoryFactRecord

ESTABLISHED_MIN_COUNT = 3  # a spelling the earlier chapters use this often is the book's own
ESTABLISHED_CACHE = 8


@dataclass(frozen=True)
class ConsistencyReport:
    findings: tuple[Finding, ...]
    chapter: int | None  # the chapter ordinal the passage was checked as
    model_checked: bool  # whether the model-scored layer ran


@dataclass(frozen=True)
class RankedBranch:
    passage_id: int
    branch_index: int
    total: float  # consistency + mean log-likelihood (higher is better)
    consistency: float  # −Σ severity weights
    mean_logprob: float | None
    reasons: tuple[str, ...]  # finding kind codes, most severe first
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class LoreImport:
    facts: int
    glossary: int
    problems: tuple[tuple[str, str], ...]  # (code, line)


@translates_store_errors
class ConsistencyService:
    def __init__(self, core: StudioCore) -> None:
        self._core = core
        # (project, earlier chapters' (id, version), known names) -> established spellings; scanning a long
        # book costs seconds, so it is done once per state of the earlier chapters
        self._established: OrderedDict[tuple[Any, ...], frozenset[str]] = OrderedDict()
        self._established_lock = threading.Lock()

    # ---- checks ------------------------------------------------------------------------------

    def check_passage(self, project_id: int, text: str, chapter_id: int | None = None,
                      use_model: bool = False) -> ConsistencyReport:
        """Check `text` as if written in `chapter_id` (None: after every fact)."""
        if not isinstance(text, str):
            raise InvalidInput("consistency.passage_not_text")
        project = self._core.store.get_project(project_id)
        ordinal = self._ordinal(project.id, chapter_id)
        facts = self._story_facts(project, ordinal)
        findings = check_passage(text, facts, ordinal)
        model = use_model and self._can_score()
        if model:
            findings += self._model_findings(project, text, facts, ordinal)
        return ConsistencyReport(tuple(findings), ordinal, model)

    def check_chapter(self, chapter_id: int, use_model: bool = False) -> ConsistencyReport:
        chapter = self._core.store.get_chapter(chapter_id)
        return self.check_passage(chapter.project_id, chapter.text, chapter.id, use_model)

    def check_branch(self, passage_id: int, use_model: bool = False) -> ConsistencyReport:
        passage = self._core.store.get_passage(passage_id)
        return self.check_passage(passage.project_id, passage.text, passage.chapter_id, use_model)

    def rank_branch_group(self, passage_id: int, use_model: bool = False) -> list[RankedBranch]:
        """Every sibling of `passage_id` (its branch group), best first."""
        passage = self._core.store.get_passage(passage_id)
        if passage.chapter_id is None or passage.task not in STORY_TASKS:
            raise InvalidInput("consistency.not_rankable")
        siblings = [p for p in self._core.store.list_passages(passage.project_id, passage.chapter_id)
                    if p.task in STORY_TASKS and p.parent_id == passage.parent_id
                    and (p.task == "draft") == (passage.task == "draft")]
        return self._rank(passage.project_id, passage.chapter_id, sorted(siblings, key=lambda p: p.id), use_model)

    def rank_latest_branches(self, chapter_id: int, use_model: bool = False) -> list[RankedBranch]:
        """The chapter's newest branch group, ranked (empty when it has none)."""
        chapter = self._core.store.get_chapter(chapter_id)
        story = [p for p in self._core.store.list_passages(chapter.project_id, chapter.id) if p.task in STORY_TASKS]
        return self.rank_branch_group(max(story, key=lambda p: p.id).id, use_model) if story else []

    def _rank(self, project_id: int, chapter_id: int, passages: Sequence[PassageRecord],
              use_model: bool) -> list[RankedBranch]:
        project = self._core.store.get_project(project_id)
        ordinal = self._ordinal(project_id, chapter_id)
        facts = self._story_facts(project, ordinal)
        scores = []
        for i, p in enumerate(passages):
            findings = check_passage(p.text, facts, ordinal)
            if use_model and self._can_score():
                findings += self._model_findings(project, p.text, facts, ordinal)
            scores.append(branch_score(i, findings, self._mean_logprob(p)))
        return [RankedBranch(passages[s.index].id, passages[s.index].branch_index, s.total, s.consistency,
                             s.mean_logprob, s.reasons, s.findings) for s in rank_branches(scores)]

    # ---- facts -------------------------------------------------------------------------------

    def story_facts(self, project_id: int, as_of_chapter: int | None = None) -> StoryFacts:
        return self._story_facts(self._core.store.get_project(project_id), as_of_chapter)

    def _story_facts(self, project: ProjectRecord, ordinal: int | None) -> StoryFacts:
        store = self._core.store
        facts = facts_for_project(project.language, characters=store.list_characters(project.id),
                                  lore_entries=store.list_lore_entries(project.id),
                                  glossary=store.list_glossary_terms(project.id),
                                  facts=store.list_story_facts(project.id))
        allowed = self._established_spellings(project, ordinal, facts)
        return StoryFacts(facts.language, facts.names, facts.glossary, facts.facts, facts.rank_scales, allowed)

    def _established_spellings(self, project: ProjectRecord, ordinal: int | None, facts: StoryFacts) -> frozenset[str]:
        earlier = [c for c in self._core.store.list_chapters(project.id) if ordinal is None or c.ordinal < ordinal]
        key = (project.id, tuple((c.id, c.version) for c in earlier), facts.names)
        with self._established_lock:
            known = self._established.get(key)
        if known is None:
            known = established_spellings("\n".join(c.text for c in earlier), facts, ESTABLISHED_MIN_COUNT)
            with self._established_lock:
                self._established[key] = known
                while len(self._established) > ESTABLISHED_CACHE:
                    self._established.popitem(last=False)
        return known

    def _ordinal(self, project_id: int, chapter_id: int | None) -> int | None:
        if chapter_id is None:
            return None
        chapter = self._core.store.get_chapter(chapter_id)
        if chapter.project_id != project_id:
            raise InvalidInput("consistency.other_project")
        return chapter.ordinal

    # ---- the model ---------------------------------------------------------------------------

    def _can_score(self) -> bool:
        return callable(getattr(self._core.engine, "score", None)) and self._core.engine.info().kind != "none"

    def _score(self, prompt: str, answers: Sequence[str]) -> list[float]:
        return [s.logprob for s in self._core.engine.score(prompt, list(answers))]  # type: ignore[attr-defined]

    def _model_findings(self, project: ProjectRecord, text: str, facts: StoryFacts,
                        ordinal: int | None) -> list[Finding]:
        verdicts = model_verdicts(text, facts, chapter=ordinal, title=project.title, score=self._score)
        return model_findings(verdicts)

    def _mean_logprob(self, passage: PassageRecord) -> float | None:
        """Mean log-likelihood of the branch given its prompt (None: prompt forgotten or no scorer)."""
        prompt = self._core.prompt_text(passage.prompt_hash)
        if not self._can_score() or not passage.text or not prompt or prompt.startswith("sha256:"):
            return None
        (score,) = self._core.engine.score(prompt, [passage.text])  # type: ignore[attr-defined]
        return score.mean

    # ---- glossary and facts editor -------------------------------------------------------------

    def list_glossary(self, project_id: int) -> list[GlossaryTermRecord]:
        return self._core.store.list_glossary_terms(project_id)

    def save_glossary_term(self, project_id: int, canonical: str, variants: Sequence[str], note: str = "",
                           term_id: int | None = None) -> GlossaryTermRecord:
        if term_id is None:
            return self._core.store.create_glossary_term(project_id, canonical, variants=list(variants), note=note)
        return self._core.store.update_glossary_term(term_id, canonical=canonical, variants=list(variants), note=note)

    def delete_glossary_term(self, term_id: int) -> None:
        self._core.store.delete_glossary_term(term_id)

    def list_facts(self, project_id: int) -> list[StoryFactRecord]:
        return self._core.store.list_story_facts(project_id)

    def save_fact(self, project_id: int, subject: str, attribute: str, value: str, since_chapter: int | None = None,
                  fact_id: int | None = None) -> StoryFactRecord:
        fields: dict[str, Any] = dict(subject=subject, attribute=attribute, value=value, since_chapter=since_chapter)
        if fact_id is None:
            return self._core.store.create_story_fact(project_id, **fields)
        return self._core.store.update_story_fact(fact_id, **fields)

    def delete_fact(self, fact_id: int) -> None:
        self._core.store.delete_story_fact(fact_id)

    def import_facts_from_lore(self, project_id: int) -> LoreImport:
        """Copy the fact and glossary lines written in lore entries into the editor's tables (once each)."""
        store = self._core.store
        found = import_from_lore(store.list_lore_entries(project_id))
        have = {(f.subject, f.attribute, f.value, f.since_chapter) for f in store.list_story_facts(project_id)}
        terms = {t.canonical for t in store.list_glossary_terms(project_id)}
        new_facts = [f for f in found.facts if (f.subject, f.attribute, f.value, f.since_chapter) not in have]
        for f in new_facts:
            store.create_story_fact(project_id, f.subject, f.attribute, f.value, since_chapter=f.since_chapter)
        new_terms = [t for t in found.glossary if t.canonical not in terms]
        for t in new_terms:
            store.create_glossary_term(project_id, t.canonical, variants=list(t.variants))
        return LoreImport(len(new_facts), len(new_terms), tuple((p.code, p.line) for p in found.problems))

    # ---- lore reveals (role-play before the reveal chapter does not know the entry) ------------------

    def set_lore_reveal(self, entry_id: int, chapter: int | None) -> None:
        self._core.store.set_lore_reveal(entry_id, chapter)

    def lore_reveals(self, project_id: int) -> dict[int, int]:
        return self._core.store.list_lore_reveals(project_id)
