"""Search the book: chapters, passages and notes of a project containing every word of a query (the store's
FTS5 trigram index, which matches Chinese and English substrings), each hit with where to open it.

Invariant: `BookHit.offset` is the position of the query's first word in the chapter's current text
(case-insensitive), or None when the chapter no longer contains it (a passage that was not accepted).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.studio.errors import InvalidInput
from app.studio.store_seam import StoryStore, translates_store_errors

MAX_HITS = 30


@dataclass(frozen=True)
class BookHit:
    kind: str  # "chapter" | "passage"
    chapter_id: int | None
    title: str
    snippet: str  # one line around the hit (the store's)
    terms: tuple[str, ...]  # the query's words, to highlight in the snippet
    offset: int | None  # where the first word sits in the chapter text


@translates_store_errors
class SearchService:
    def __init__(self, store: StoryStore) -> None:
        self._store = store

    def search_book(self, project_id: int, query: str) -> list[BookHit]:
        terms = tuple((query or "").split())
        if not terms:
            raise InvalidInput("search.empty_query")
        found: list[BookHit] = []
        texts: dict[int, str] = {}
        for hit in self._store.search(project_id, query, limit=MAX_HITS):
            offset = None
            if hit.chapter_id is not None:
                if hit.chapter_id not in texts:
                    texts[hit.chapter_id] = self._store.get_chapter(hit.chapter_id).text
                at = texts[hit.chapter_id].lower().find(terms[0].lower())
                offset = at if at >= 0 else None
            found.append(BookHit(hit.kind, hit.chapter_id, hit.title, hit.snippet, terms, offset))
        return found
