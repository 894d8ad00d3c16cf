"""Search the book from the desk: a query box, the hits with the matching words highlighted, and a list that
opens the chapter at the hit (the hit is selected in the editor).

Invariant: snippets are the writer's text, so they are HTML-escaped before the query's words are
wrapped in <mark>; nothing from the book reaches the page as markup.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

import gradio as gr

from app.ui.common import Shell, guarded
from app.ui.inputs import require_id

# Wait until the opened chapter is in the editor, then select the hit (offset:length) and scroll to it.
OPEN_AT_JS = """
(where) => {
  const [at, size] = String(where || '').split(':').map(Number);
  if (!(size > 0)) { return []; }
  let tries = 0;
  const mark = () => {
    const area = document.querySelector('#editor textarea');
    if (area && area.value.length >= at + size) {
      area.focus();
      area.setSelectionRange(at, at + size);
      area.scrollTop = (at / Math.max(1, area.value.length)) * area.scrollHeight - area.clientHeight / 3;
    } else if (tries++ < 50) { setTimeout(mark, 100); }
  };
  setTimeout(mark, 300);
  return [];
}
"""


@dataclass
class Finder:
    query: Any
    run: Any
    results: Any  # gr.HTML: snippets with <mark>
    hits: Any  # gr.Radio: open the chapter at a hit
    where: Any  # hidden Textbox "offset:length"


def build(shell: Shell) -> Finder:
    tr = shell.tr
    with tr.make(gr.Accordion, "desk_search", open=True, elem_id="desk-search-box"):
        with gr.Row():
            query = tr.make(gr.Textbox, "desk_search_query", show_label=False, elem_id="desk-search", scale=3,
                            placeholder=tr("desk_search_query"))
            tr.register(query, "desk_search_query", "placeholder")
            run = tr.button("desk_search_run", size="sm", elem_id="desk-search-run", scale=1, min_width=60)
        results = gr.HTML(elem_id="desk-search-results")
        hits = tr.make(gr.Radio, "desk_search_open", choices=[], elem_id="desk-search-hits")
    return Finder(query, run, results, hits, gr.Textbox(visible=False, elem_id="desk-search-where"))


def highlighted(snippet: str, terms: tuple[str, ...]) -> str:
    """The snippet escaped, with every occurrence of each term wrapped in <mark> (case-insensitive)."""
    if not terms:
        return html.escape(snippet)
    pattern = re.compile("|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)), re.IGNORECASE)
    out, last = [], 0
    for found in pattern.finditer(snippet):
        out += [html.escape(snippet[last:found.start()]), f"<mark>{html.escape(found.group(0))}</mark>"]
        last = found.end()
    return "".join(out) + html.escape(snippet[last:])


def wire(shell: Shell, finder: Finder) -> None:
    studio, tr = shell.studio, shell.tr

    @guarded
    def desk_search(project_id: Any, query: str):
        found = studio.search.search_book(require_id(project_id, "project"), query or "")
        if not found:
            return f"<p>{html.escape(tr('desk_search_none'))}</p>", gr.update(choices=[], value=None)
        rows = [f"<li><b>{html.escape(h.title or '—')}</b> · {highlighted(h.snippet, h.terms)}</li>" for h in found]
        size = len(found[0].terms[0])
        options = [(f"{i + 1}. {h.title or '—'}", f"{h.chapter_id}:{h.offset if h.offset is not None else -1}:{size}")
                   for i, h in enumerate(found) if h.chapter_id is not None]
        said = tr("desk_search_found", count=len(found))
        return (f"<p>{html.escape(said)}</p><ol class='desk-hits'>{''.join(rows)}</ol>",
                gr.update(choices=options, value=None))

    def desk_open_hit(choice: Any):
        if not choice:
            return gr.skip(), ""
        chapter_id, offset, size = (int(part) for part in str(choice).split(":"))
        return chapter_id, (f"{offset}:{size}" if offset >= 0 else "")

    shown = [finder.results, finder.hits]
    finder.run.click(desk_search, [shell.project, finder.query], shown, api_name="search_book")
    finder.query.submit(desk_search, [shell.project, finder.query], shown, api_visibility="private")
    finder.hits.input(desk_open_hit, [finder.hits], [shell.chapter, finder.where],
                      api_visibility="private").then(None, [finder.where], None, js=OPEN_AT_JS)
