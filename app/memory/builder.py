"""Story memory → ContextPlan under an exact token budget (DESIGN §5).

Owns which memory goes into a prompt, in what order, and why. Pure: receives records and callables
(`count_tokens`, `search`), never the Store or the engine.

Layout, stable → volatile (consecutive calls share a long token prefix): the template's frame,
style guide, synopsis, lore before characters, characters, lore after characters, summaries of
earlier chapters, retrieved passages, the previous chapter's last sentences, then the recent text
with the author's note and at-depth lore inserted near its end. Within the lore sections constant
entries come first (they never change between calls), then the triggered ones by insertion order.

Budget: R = budget − frame − section headings. The recent text is promised up to half of R (rounded
up to eighths of R so memory does not shift with every added sentence); memory fills the rest in
priority order — style guide, synopsis, focus/POV/pinned characters, constant lore, budget-ignoring
lore, author's note, triggered lore, detected characters, the previous chapter's ending, summaries
(newest first, stopping at the first that does not fit: cost does not grow with the book), retrieved
passages — each kind under its share of R. The recent text then takes everything left. Finally the prompt is rendered and measured;
while it is over budget the recent text loses a block, then the lowest-priority item goes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from messages import Message, enum_message
from prompts import constant_list, render_item, render_with_stop, template_variables
from story_store.records import ChapterRecord, CharacterRecord, LoreEntryRecord, ProjectRecord, SearchHit

from .characters import choose_characters
from .lore import LoreSettings, ScanText, activate_lore
from .macros import fill_macros
from .plan import (INCLUDED, LEFT_OUT, TRIMMED, ContextBudgetError, ContextPlan, ContextTask, PlanItem,
                   PlanSection, TokenCache)
from .recent import LINE_END, SENTENCE_END, RecentCut, cut_recent, insert_at_depth, paragraphs

LIST_SECTIONS = ("lore_before", "characters", "lore_after", "summaries", "retrieved")
TEXT_SECTIONS = ("style_guide", "synopsis", "previous_ending")
SECTION_ORDER = ("frame", "style_guide", "synopsis", *LIST_SECTIONS, "previous_ending", "at_depth", "recent")
RECENT_SHARE = 0.5
SHARES = {"characters": 0.35, "lore": 0.25, "summaries": 0.2, "retrieved": 0.1, "previous_ending": 0.15}
ITEM_SLACK = 1  # joining items may cost a token more than the items alone
TASK_TEXT_KEYS = ("chapter_outline", "passage", "instruction", "notes", "premise", "topic", "character_notes")
RETRIEVAL_TERMS, HITS_PER_TERM = 4, 2


@dataclass
class Candidate:
    section: str
    label: str
    text: str
    tokens: int
    priority: int
    reason: str
    share: str | None = None  # which SHARES entry caps it
    order: tuple = ()  # render order inside its section
    depth: int = 0  # for at-depth inserts


@dataclass
class Build:
    """Working state of one build_context call."""

    task: ContextTask
    project: ProjectRecord
    count: TokenCache
    wanted: set[str]
    base: dict[str, Any]
    recent_source: str
    budget: int
    boundary: re.Pattern[str] = SENTENCE_END  # where the recent text may be cut (LINE_END for transcripts)
    kept: list[Candidate] = field(default_factory=list)
    notes: list[tuple[str, PlanItem]] = field(default_factory=list)  # (section, left-out item)
    used: int = 0
    share_used: dict[str, int] = field(default_factory=dict)


def build_context(
    task: ContextTask,
    *,
    project: ProjectRecord,
    characters: Sequence[CharacterRecord],
    lore_entries: Sequence[LoreEntryRecord],
    chapters: Sequence[ChapterRecord],
    current_chapter_id: int | None,
    budget_tokens: int,
    count_tokens: Callable[[str], int],
    search: Callable[[str], list[SearchHit]] | None = None,
    seed: int = 0,
) -> ContextPlan:
    """Build the prompt for `task` from the story's memory; its token count never exceeds the budget."""
    if isinstance(budget_tokens, bool) or not isinstance(budget_tokens, int) or budget_tokens < 1:
        raise ValueError(f"budget_tokens must be a positive whole number, got {budget_tokens!r}")
    chapters = _as_of(chapters, task.as_of_chapter)
    chapter = _current_chapter(chapters, current_chapter_id)
    build = _start(task, project, chapter, budget_tokens, TokenCache.wrap(count_tokens))
    frame_text, frame_tokens, headings = _frame(build)
    if frame_tokens > budget_tokens:
        raise ContextBudgetError("memory.frame_over_budget", task=enum_message("task", task.template),
                                 needed=frame_tokens, budget=budget_tokens)
    room = max(0, budget_tokens - frame_tokens - headings)
    recent_room = _recent_reserve(build, room)
    scan = _scan(build)
    _fill(build, _fixed_candidates(build, characters, lore_entries, chapter, scan, seed, room),
          room - recent_room, room)
    _fill(build, _previous_ending(build, chapters, chapter, room), room - recent_room, room)
    _fill_summaries(build, chapters, chapter, room - recent_room, room)
    if search is not None and "retrieved" in build.wanted:
        search = _search_as_of(search, chapters, task.as_of_chapter)
        _fill(build, _retrieved_candidates(build, search, chapter), room - recent_room, room)
    cut = cut_recent(build.recent_source, room - build.used, build.count, build.boundary)
    prompt, stop, used, cut = _fit(build, cut)
    sections = _sections(build, frame_text, frame_tokens, cut)
    return ContextPlan(task.template, project.language, sections, budget_tokens, used, stop, prompt)


def _as_of(chapters: Sequence[ChapterRecord], cutoff: int | None) -> Sequence[ChapterRecord]:
    return chapters if cutoff is None else [c for c in chapters if c.ordinal <= cutoff]


def _search_as_of(search: Callable[[str], list[SearchHit]], chapters: Sequence[ChapterRecord],
                  cutoff: int | None) -> Callable[[str], list[SearchHit]]:
    """With a cutoff, only hits inside the chapters kept (a hit outside any chapter is left out too)."""
    if cutoff is None:
        return search
    kept = {c.id for c in chapters}
    return lambda term: [h for h in search(term) if h.chapter_id in kept]


def _current_chapter(chapters: Sequence[ChapterRecord], chapter_id: int | None) -> ChapterRecord | None:
    if chapter_id is None:
        return None
    for chapter in chapters:
        if chapter.id == chapter_id:
            return chapter
    raise ValueError(f"chapter {chapter_id} is not among the project's chapters")


def _start(task, project, chapter, budget, count) -> Build:
    wanted = template_variables(project.language, task.template)
    if "chapter_number" in wanted and chapter is None:
        raise ValueError(f"the {task.template!r} task needs a current chapter")
    base: dict[str, Any] = {"title": project.title, "genre": project.genre, **{n: "" for n in TEXT_SECTIONS}}
    if chapter is not None:
        base.update(chapter_number=chapter.ordinal, chapter_title=chapter.title,
                    chapter_outline=chapter.outline)
    base.update(task.values)
    base.update({name: [] for name in LIST_SECTIONS}, recent="")
    if task.transcript or task.template == "roleplay":
        source = "".join(render_item(project.language, "chat_line", speaker=line.speaker, text=line.text)
                         for line in task.transcript)
    else:
        source = task.recent_text if task.recent_text is not None else (chapter.text if chapter else "")
    source = source if "recent" in wanted else ""
    boundary = LINE_END if task.transcript else SENTENCE_END
    return Build(task, project, count, wanted, base, source, budget, boundary)


def _frame(build: Build) -> tuple[str, int, int]:
    """The template with no memory, its tokens, and the tokens section headings may add."""
    frame = render_with_stop(build.project.language, build.task.template, **build.base)[0]
    frame_tokens = build.count(frame)
    headed = dict(build.base, **{n: " " for n in TEXT_SECTIONS}, **{n: [""] for n in LIST_SECTIONS})
    with_headings = build.count(render_with_stop(build.project.language, build.task.template, **headed)[0])
    return frame, frame_tokens, max(0, with_headings - frame_tokens)


def _recent_reserve(build: Build, room: int) -> int:
    """Tokens promised to the recent text, rounded up to eighths of the room (stable memory)."""
    if not build.recent_source:
        return 0
    need = cut_recent(build.recent_source, room, build.count, build.boundary).tokens
    step = max(1, room // 8)
    return min(math.ceil(need / step) * step, int(room * RECENT_SHARE), room)


def _scan(build: Build) -> ScanText:
    task_texts = tuple(str(build.base[k]) for k in TASK_TEXT_KEYS
                       if k in build.wanted and isinstance(build.base.get(k), str) and build.base[k])
    return ScanText(tuple(paragraphs(build.recent_source)), task_texts)


def _fixed_candidates(build, characters, lore_entries, chapter, scan, seed, room) -> list[Candidate]:
    lang, count, out = build.project.language, build.count, []
    for name, priority in (("style_guide", 1), ("synopsis", 2)):
        text = getattr(build.project, name)
        if name in build.wanted and text.strip():
            out.append(Candidate(name, Message(f"memory.label.{name}"), text, count(text), priority,
                                 Message(f"memory.reason.project_{name}")))
    if "characters" in build.wanted:
        out += _character_candidates(build, characters, chapter, scan)
    if "lore_before" in build.wanted:
        out += _lore_candidates(build, lore_entries, scan, seed, room)
    note = build.project.authors_note.strip()
    if note and "recent" in build.wanted:
        text = render_item(lang, "note", text=note)
        depth = int(build.project.settings.get("authors_note_depth", 4))
        out.append(Candidate("at_depth", Message("memory.label.authors_note"), text, count(text), 5,
                             Message("memory.reason.authors_note", depth=depth), depth=depth))
    return sorted(out, key=lambda c: c.priority)


def _character_candidates(build, characters, chapter, scan) -> list[Candidate]:
    depth = LoreSettings.from_project(build.project.settings).scan_depth
    pov = chapter.pov_character_id if chapter is not None else None
    out = []
    choices = choose_characters(characters, scan.window(depth), pov_character_id=pov,
                                focus_ids=build.task.focus_character_ids)
    for choice in choices:
        c = choice.character
        if not choice.included:
            build.notes.append(("characters", PlanItem(c.name, "", 0, LEFT_OUT, choice.reason)))
            continue
        fill = _macro_filler(build, c.name)
        text = render_item(build.project.language, "character", name=c.name, aliases=c.aliases,
                           description=fill(c.description), personality=fill(c.personality),
                           appearance=fill(c.appearance), background=fill(c.background),
                           speech_style=fill(c.speech_style), scenario=fill(c.scenario),
                           example_dialogue=fill(c.example_dialogue) if build.task.focus_character_ids else "")
        priority = 3 if choice.rank < 3 else 7
        out.append(Candidate("characters", c.name, text, build.count(text), priority, choice.reason,
                             "characters", (choice.rank, c.id)))
    return out


def _macro_filler(build, name: str):
    """Card macros in a sheet: {{char}} is the character itself, {{user}} the role-play persona (the
    template's own word for the writer when none is named)."""
    language = build.project.language
    user = build.task.values.get("user_name") or constant_list(language, "roleplay", "default_user_name")
    return lambda text: fill_macros(text, char=name, user=str(user))


def _lore_candidates(build, lore_entries, scan, seed, room) -> list[Candidate]:
    settings = LoreSettings.from_project(build.project.settings)
    if settings.budget_tokens is None:
        settings = LoreSettings(settings.scan_depth, int(room * SHARES["lore"]), settings.recursion_depth)
    out = []
    for d in activate_lore(lore_entries, scan, settings=settings, seed=seed, count_tokens=build.count):
        e = d.entry
        label = e.title or (e.keys[0] if e.keys else Message("memory.label.lore_number", id=e.id))
        section = {"after_char": "lore_after", "at_depth": "at_depth"}.get(e.position, "lore_before")
        if not d.active:
            build.notes.append((section, PlanItem(label, "", d.tokens, LEFT_OUT, d.reason)))
            continue
        if section == "at_depth" and "recent" not in build.wanted:
            section = "lore_after"
        text = render_item(build.project.language, "lore", title=e.title, content=e.content)
        priority = 4 if e.constant else (5 if e.ignore_budget else 6)
        out.append(Candidate(section, label, text, build.count(text), priority, d.reason,
                             None if e.ignore_budget else "lore", (not e.constant, e.insertion_order, e.id),
                             e.depth))
    return out


def _previous_ending(build: Build, chapters, chapter, room: int) -> list[Candidate]:
    """The last sentences of the chapter before this one (continuity of the prose itself)."""
    if "previous_ending" not in build.wanted or chapter is None:
        return []
    earlier = [c for c in chapters if c.deleted_at is None and c.ordinal < chapter.ordinal and c.text.strip()]
    if not earlier:
        return []
    previous = max(earlier, key=lambda c: c.ordinal)
    cut = cut_recent(previous.text, int(room * SHARES["previous_ending"]), build.count)
    if not cut.text:
        return []
    return [Candidate("previous_ending", Message("memory.label.chapter_end", number=previous.ordinal), cut.text,
                      cut.tokens, 8, Message("memory.reason.previous_ending", chars=len(cut.text)), "previous_ending")]


def _fill(build: Build, candidates: Sequence[Candidate], memory_room: int, room: int) -> None:
    for c in candidates:
        reason = _refusal(build, c, memory_room, room)
        if reason:
            build.notes.append((c.section, PlanItem(c.label, c.text, c.tokens, LEFT_OUT, reason)))
            continue
        build.kept.append(c)
        build.used += c.tokens + ITEM_SLACK
        if c.share:
            build.share_used[c.share] = build.share_used.get(c.share, 0) + c.tokens + ITEM_SLACK


def _refusal(build: Build, c: Candidate, memory_room: int, room: int) -> str:
    cost = c.tokens + ITEM_SLACK
    if build.used + cost > memory_room:
        return Message("memory.reason.no_room", cost=cost, left=max(0, memory_room - build.used))
    if c.share:
        cap = int(room * SHARES[c.share])
        if build.share_used.get(c.share, 0) + cost > cap:
            return Message("memory.reason.share_full", share=Message(f"memory.share.{c.share}"), cap=cap)
    return ""


def _fill_summaries(build, chapters, chapter, memory_room: int, room: int) -> None:
    """Newest earlier chapter first; stop at the first that does not fit (cost bounded by the room)."""
    if "summaries" not in build.wanted:
        return
    earlier = [c for c in chapters if c.deleted_at is None and (chapter is None or c.ordinal < chapter.ordinal)]
    for index in range(len(earlier) - 1, -1, -1):
        c = earlier[index]
        text, kind = (c.summary, "summary") if c.summary.strip() else (c.outline, "outline")
        if not text.strip():
            continue
        item = render_item(build.project.language, "summary", number=c.ordinal, title=c.title, text=text, kind=kind)
        candidate = Candidate("summaries", Message(f"memory.label.chapter_{kind}", number=c.ordinal), item,
                              build.count(item), 9, Message(f"memory.reason.earlier_{kind}"), "summaries",
                              (c.ordinal,))
        kept_before = len(build.kept)
        _fill(build, [candidate], memory_room, room)
        if len(build.kept) == kept_before:
            if index > 0:
                label = Message("memory.label.chapter_range", first=earlier[0].ordinal, last=earlier[index - 1].ordinal)
                build.notes.append(("summaries", PlanItem(label, "", 0, LEFT_OUT, Message("memory.reason.older_summaries"))))
            return


def _retrieved_candidates(build, search, chapter) -> list[Candidate]:
    names = [c.label for c in build.kept if c.section == "characters"]
    lore = [c.label for c in build.kept if c.section.startswith("lore") and c.priority == 6]
    seen: set[tuple[str, int]] = set()
    out: list[Candidate] = []
    for term in (names + lore)[:RETRIEVAL_TERMS]:
        hits = [h for h in search(term) if chapter is None or h.chapter_id != chapter.id]
        for hit in hits[:HITS_PER_TERM]:
            if (hit.kind, hit.id) in seen or not hit.snippet.strip():
                continue
            seen.add((hit.kind, hit.id))
            text = render_item(build.project.language, "retrieved", title=hit.title, snippet=hit.snippet)
            label = Message("memory.label.search_hit", kind=enum_message("hit", hit.kind), id=hit.id, title=hit.title)
            out.append(Candidate("retrieved", label, text, build.count(text), 10,
                                 Message("memory.reason.search", term=str(term)), "retrieved", (len(out),)))
    return out


def _render(build: Build, cut: RecentCut) -> tuple[str, tuple[str, ...]]:
    values = dict(build.base)
    for c in sorted(build.kept, key=lambda c: c.order):
        if c.section in LIST_SECTIONS:
            values[c.section] = [*values[c.section], c.text]
        elif c.section in TEXT_SECTIONS:
            values[c.section] = c.text
    # the author's note (empty order key) goes first, then at-depth lore in insertion order
    inserts = [(c.depth, c.text) for c in sorted(build.kept, key=lambda c: c.order) if c.section == "at_depth"]
    values["recent"] = insert_at_depth(cut.text, inserts)
    return render_with_stop(build.project.language, build.task.template, **values)


def _fit(build: Build, cut: RecentCut) -> tuple[str, tuple[str, ...], int, RecentCut]:
    """Render and measure; shrink until the prompt fits the budget."""
    while True:
        prompt, stop = _render(build, cut)
        used = build.count(prompt)
        if used <= build.budget:
            return prompt, stop, used, cut
        if cut.text:
            allowance = cut.tokens - max(1, used - build.budget)
            cut = cut_recent(build.recent_source, allowance, build.count, build.boundary)
            continue
        droppable = [c for c in build.kept if c.priority > 2] or build.kept
        if not droppable:
            raise ContextBudgetError("memory.prompt_over_budget", used=used, budget=build.budget)
        victim = droppable[-1]
        build.kept.remove(victim)
        build.notes.append((victim.section, PlanItem(victim.label, victim.text, victim.tokens, LEFT_OUT,
                                                     Message("memory.reason.over_budget"))))


def _sections(build: Build, frame_text: str, frame_tokens: int, cut: RecentCut) -> tuple[PlanSection, ...]:
    items: dict[str, list[PlanItem]] = {name: [] for name in SECTION_ORDER}
    items["frame"].append(PlanItem(enum_message("task", build.task.template), frame_text, frame_tokens, INCLUDED,
                                   Message("memory.reason.template")))
    if build.task.as_of_chapter is not None:
        cutoff = build.task.as_of_chapter
        items["frame"].append(PlanItem(Message("memory.label.as_of_chapter", chapter=cutoff), "", 0, INCLUDED,
                                       Message("memory.reason.knowledge_cutoff", chapter=cutoff)))
    for c in sorted(build.kept, key=lambda c: c.order):
        items[c.section].append(PlanItem(c.label, c.text, c.tokens, INCLUDED, c.reason))
    for section, item in build.notes:
        items[section].append(item)
    if build.recent_source:
        items["recent"].append(_recent_item(build.recent_source, cut))
    return tuple(PlanSection(name, tuple(items[name])) for name in SECTION_ORDER)


def _recent_item(source: str, cut: RecentCut) -> PlanItem:
    if cut.text == source:
        return PlanItem(Message("memory.label.recent"), cut.text, cut.tokens, INCLUDED, Message("memory.reason.recent_fits"))
    if not cut.text:
        return PlanItem(Message("memory.label.recent"), "", 0, LEFT_OUT, Message("memory.reason.recent_no_room"))
    code = "memory.reason.recent_cut_sentence" if cut.at_sentence else "memory.reason.recent_cut_inside"
    reason = Message(code, kept=len(cut.text), total=len(source))
    return PlanItem(Message("memory.label.recent"), cut.text, cut.tokens, TRIMMED, reason)
