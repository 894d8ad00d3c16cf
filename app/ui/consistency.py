"""The Consistency tab: check the open chapter (or a pasted passage) against the book's facts, with each
finding's quote, offsets and evidence; edit the glossary and the stated facts; import them from the lore;
mark lore entries as later reveals. Findings arrive as codes plus values and are worded here.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from app.ui.common import Shell, choices, dropdown_update, guarded
from app.ui.inputs import as_id, as_whole, require_id
from app.ui.views import FINDING_KEYS, finding_headers, finding_rows


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _chapter_number(value: Any) -> int | None:
    number = as_whole(value, "chapter", 0, 2**31 - 1, default=0)  # NaN, 2.5, text: refused by name
    return number if number > 0 else None


def glossary_rows(shell: Shell, project_id: Any) -> list[list[Any]]:
    ident = as_id(project_id)
    terms = shell.studio.consistency.list_glossary(ident) if ident is not None else []
    return [[t.id, t.canonical, "、".join(t.variants) if shell.tr.language == "zh" else ", ".join(t.variants)]
            for t in terms]


def fact_rows(shell: Shell, project_id: Any) -> list[list[Any]]:
    ident = as_id(project_id)
    facts = shell.studio.consistency.list_facts(ident) if ident is not None else []
    return [[f.id, f.subject, f.attribute, f.value, f.since_chapter or ""] for f in facts]


def build(shell: Shell) -> None:
    tr = shell.tr
    with tr.tab("tab_consistency", id="consistency"):
        tr.markdown("consistency_check_heading")
        passage = tr.make(gr.Textbox, "consistency_passage", lines=4, elem_id="consistency-passage")
        with gr.Row():
            use_model = tr.make(gr.Checkbox, "consistency_use_model", value=False)
            check = tr.button("consistency_check", variant="primary", elem_id="consistency-check")
        status = tr.make(gr.Textbox, "consistency_status", show_label=False, interactive=False,
                         elem_id="consistency-status")
        findings = tr.make(gr.Dataframe, "consistency_findings", headers=finding_headers(shell), interactive=False,
                           elem_id="consistency-findings")
        tr.with_headers(findings, FINDING_KEYS)
        # An empty table shows the headers of its value, not its props: a load or a switch gives it an
        # empty value in the page's language (findings from before a switch are cleared; Check refills).
        shell.on_load.append((lambda: gr.update(value=[], headers=finding_headers(shell)), [findings]))
        _wire_check(shell, passage, use_model, check, status, findings)
        glossary = _build_glossary(shell, status)
        facts = _build_facts(shell, status)
        _build_import(shell, status, glossary, facts)
        _build_reveals(shell, status)


def _wire_check(shell: Shell, passage, use_model, check, status, findings) -> None:
    studio = shell.studio

    @guarded
    def check_consistency(project_id: Any, chapter_id: Any, text: str | None, model: bool):
        chapter = as_id(chapter_id)
        if text and text.strip():
            report = studio.consistency.check_passage(require_id(project_id, "project"), text, chapter, bool(model))
        else:
            report = studio.consistency.check_chapter(require_id(chapter_id, "chapter"), bool(model))
        message = tr_count(shell, len(report.findings))
        return message, gr.update(value=finding_rows(shell, report.findings), headers=finding_headers(shell))

    check.click(check_consistency, [shell.project, shell.chapter, passage, use_model], [status, findings],
                api_name="check_consistency")


def tr_count(shell: Shell, count: int) -> str:
    return shell.tr("consistency_none") if count == 0 else shell.tr("consistency_count", count=count)


def _build_glossary(shell: Shell, status) -> Any:
    tr, studio = shell.tr, shell.studio
    tr.markdown("glossary_heading")
    keys = ("col_id", "col_term", "col_variants")
    table = tr.with_headers(gr.Dataframe(headers=[tr(k) for k in keys], interactive=False, elem_id="glossary-table"),
                            keys)
    pick = tr.make(gr.Dropdown, "glossary_pick", choices=[], allow_custom_value=True, elem_id="glossary-pick")
    with gr.Row():
        term = tr.make(gr.Textbox, "glossary_term", elem_id="glossary-term")
        variants = tr.make(gr.Textbox, "glossary_variants", lines=3, elem_id="glossary-variants")
        note = tr.make(gr.Textbox, "glossary_note")
    with gr.Row():
        save, delete = tr.button("save_term", variant="primary"), tr.button("delete_term", variant="stop")

    def refreshed(project_id: Any, keep: Any = None) -> tuple[Any, Any]:
        ident = as_id(project_id)
        options = choices(studio.consistency.list_glossary(ident), lambda t: t.canonical) if ident else []
        return glossary_rows(shell, project_id), dropdown_update(options, keep) if keep else gr.update(choices=options)

    @guarded
    def save_glossary_term(project_id: Any, term_id: Any, canonical: str, wrong: str, text: str):
        saved = studio.consistency.save_glossary_term(require_id(project_id, "project"), canonical or "",
                                                      _lines(wrong), text or "", as_id(term_id))
        return (*refreshed(project_id, saved.id), tr("saved_item"))

    @guarded
    def delete_glossary_term(project_id: Any, term_id: Any):
        studio.consistency.delete_glossary_term(require_id(term_id, "glossary term"))
        return (*refreshed(project_id), tr("deleted_item"))

    outputs = [table, pick, status]
    save.click(save_glossary_term, [shell.project, pick, term, variants, note], outputs, api_name="save_glossary_term")
    delete.click(delete_glossary_term, [shell.project, pick], outputs, api_name="delete_glossary_term")
    shell.project.change(lambda p: refreshed(p), [shell.project], [table, pick], api_name="list_glossary")
    return table


def _build_facts(shell: Shell, status) -> Any:
    tr, studio = shell.tr, shell.studio
    tr.markdown("facts_heading")
    keys = ("col_id", "col_subject", "col_attribute", "col_value", "col_since")
    table = tr.with_headers(gr.Dataframe(headers=[tr(k) for k in keys], interactive=False, elem_id="facts-table"), keys)
    pick = tr.make(gr.Dropdown, "fact_pick", choices=[], allow_custom_value=True, elem_id="fact-pick")
    with gr.Row():
        fields = [tr.make(gr.Textbox, "fact_subject"), tr.make(gr.Textbox, "fact_attribute"),
                  tr.make(gr.Textbox, "fact_value"), tr.make(gr.Number, "fact_since", value=0, precision=None)]
    with gr.Row():
        save, delete = tr.button("save_fact", variant="primary"), tr.button("delete_fact", variant="stop")

    def refreshed(project_id: Any, keep: Any = None) -> tuple[Any, Any]:
        ident = as_id(project_id)
        label = lambda f: f"{f.subject} · {f.attribute} · {f.value}"  # noqa: E731
        options = choices(studio.consistency.list_facts(ident), label) if ident else []
        return fact_rows(shell, project_id), dropdown_update(options, keep) if keep else gr.update(choices=options)

    @guarded
    def save_fact(project_id: Any, fact_id: Any, subject: str, attribute: str, value: str, since: Any):
        saved = studio.consistency.save_fact(require_id(project_id, "project"), subject or "", attribute or "",
                                             value or "", _chapter_number(since), as_id(fact_id))
        return (*refreshed(project_id, saved.id), tr("saved_item"))

    @guarded
    def delete_fact(project_id: Any, fact_id: Any):
        studio.consistency.delete_fact(require_id(fact_id, "fact"))
        return (*refreshed(project_id), tr("deleted_item"))

    outputs = [table, pick, status]
    save.click(save_fact, [shell.project, pick, *fields], outputs, api_name="save_fact")
    delete.click(delete_fact, [shell.project, pick], outputs, api_name="delete_fact")
    shell.project.change(lambda p: refreshed(p), [shell.project], [table, pick], api_name="list_facts")
    return table


def _build_import(shell: Shell, status, glossary, facts) -> None:
    studio = shell.studio
    button = shell.tr.button("import_facts", elem_id="import-facts")

    @guarded
    def import_facts_from_lore(project_id: Any):
        result = studio.consistency.import_facts_from_lore(require_id(project_id, "project"))
        message = shell.tr("imported_facts", facts=result.facts, terms=result.glossary, problems=len(result.problems))
        return glossary_rows(shell, project_id), fact_rows(shell, project_id), message

    button.click(import_facts_from_lore, [shell.project], [glossary, facts, status], api_name="import_facts_from_lore")


def _build_reveals(shell: Shell, status) -> None:
    tr, studio = shell.tr, shell.studio
    tr.markdown("reveal_heading")
    with gr.Row():
        entry = tr.make(gr.Dropdown, "reveal_entry", choices=[], allow_custom_value=True)
        chapter = tr.make(gr.Number, "reveal_chapter", value=0, precision=None)
        button = tr.button("set_reveal")

    @guarded
    def set_lore_reveal(entry_id: Any, number: Any):
        studio.consistency.set_lore_reveal(require_id(entry_id, "lore entry"), _chapter_number(number))
        return tr("reveal_set")

    def entries(project_id: Any):
        ident = as_id(project_id)
        options = choices(studio.library.list_lore(ident), lambda e: e.title or f"#{e.id}") if ident else []
        return gr.update(choices=options)

    button.click(set_lore_reveal, [entry, chapter], [status], api_name="set_lore_reveal")
    shell.project.change(entries, [shell.project], [entry], api_visibility="private")
