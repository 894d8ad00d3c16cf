"""How records appear in more than one tab: dropdown choices and the editor's outputs after a save.

Invariant: tabs share code only through this module, `common` and `strings`; no tab imports another.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from app.studio import count_text
from app.ui.common import Shell, choices
from app.ui.inputs import as_id


def chapter_choices(shell: Shell, project_id: Any) -> list[tuple[str, int]]:
    ident = as_id(project_id)
    if ident is None:
        return []
    return choices(shell.studio.chapters.list_chapters(ident), lambda c: f"{c.ordinal}. {c.title or '—'}")


def revision_choices(shell: Shell, chapter_id: int) -> list[tuple[str, int]]:
    chapters, tr = shell.studio.chapters, shell.tr
    revisions = chapters.list_revisions(chapter_id)
    language = shell.studio.library.get_project(chapters.get_chapter(chapter_id).project_id).language
    return [(f"{tr('version_short', version=r.version)} · {tr.enum('source', r.source)} · "
             f"{r.created_at:%Y-%m-%d %H:%M:%S} · {length_label(tr, r.text, language)}", r.id)
            for r in reversed(revisions)]


def length_label(tr: Any, text: str, language: str) -> str:
    """How long a text is, as its writer counts and as the editor's live count says (app.studio.counting:
    CJK characters + Latin words): 字 for Chinese, words for English."""
    return tr("count_chars" if language == "zh" else "count_words", count=count_text(text).total)


def character_choices(shell: Shell, project_id: Any) -> list[tuple[str, int]]:
    ident = as_id(project_id)
    if ident is None:
        return []
    return choices(shell.studio.library.list_characters(ident), lambda c: ("★ " if c.pinned else "") + c.name)


def saved_outputs(shell: Shell, chapter: Any, message_key: str) -> tuple[Any, ...]:
    """(editor, version, status, revisions) after the chapter text changed."""
    return (chapter.text, chapter.version, shell.tr(message_key, version=chapter.version),
            gr.update(choices=revision_choices(shell, chapter.id), value=None))


def project_choices(shell: Shell) -> list[tuple[str, int]]:
    return choices(shell.studio.library.list_projects(), lambda p: f"{p.title} ({p.language})")


# ---- continuity findings and branch scores (shown in the Consistency and Branches tabs) ----------------

def finding_text(shell: Shell, finding: Any) -> str:
    """A finding's code and values in the writer's language."""
    return shell.tr(f"finding_{finding.kind}", **{"since": "?", **finding.values, "fact": finding.fact})


def evidence_text(shell: Shell, evidence: Any) -> str:
    since = shell.tr("evidence_since", chapter=evidence.chapter) if evidence.chapter else ""
    return shell.tr(f"evidence_{evidence.source}", label=evidence.label) + since


def finding_rows(shell: Shell, findings: Any) -> list[list[Any]]:
    """Table rows: severity, finding, quote, character offsets, evidence."""
    return [[shell.tr(f"severity_{f.severity}"), finding_text(shell, f), f.span.quote,
             f"{f.span.start}–{f.span.end}", evidence_text(shell, f.evidence)] for f in findings]


FINDING_KEYS = ("col_severity", "col_finding", "col_quote", "col_offsets", "col_evidence")


def finding_headers(shell: Shell) -> list[str]:
    return [shell.tr(k) for k in FINDING_KEYS]


def reasons_text(shell: Shell, ranked: Any) -> str:
    if not ranked.findings:
        return shell.tr("branch_score_clean")
    return "; ".join(finding_text(shell, f) for f in sorted(ranked.findings, key=lambda f: -f.weight))


def ranking_rows(shell: Shell, ranking: Any) -> list[list[Any]]:
    """Every branch, best first: rank, branch number, passage id, score, consistency, mean log-likelihood,
    reasons (the reason codes' texts)."""
    return [[i + 1, r.branch_index + 1, r.passage_id, round(r.total, 3), round(r.consistency, 1),
             None if r.mean_logprob is None else round(r.mean_logprob, 3), reasons_text(shell, r)]
            for i, r in enumerate(ranking)]


RANKING_KEYS = ("col_rank", "col_branch", "col_passage", "col_score", "col_consistency", "col_loglik", "col_reasons")


def ranking_headers(shell: Shell) -> list[str]:
    return [shell.tr(k) for k in RANKING_KEYS]


def editor_selection(evt: gr.SelectData) -> tuple[int, str] | None:
    """(start offset, selected text) of a select event on the editor, or None when nothing is selected."""
    index = evt.index if isinstance(evt.index, (list, tuple)) else None
    if not index or len(index) != 2 or index[1] <= index[0] or not evt.value:
        return None
    return int(index[0]), str(evt.value)
