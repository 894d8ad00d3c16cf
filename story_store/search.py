"""Full-text search over chapter titles/text and passage text.

SQLite uses the FTS5 trigram indexes made by migration 0002 (substring matching that works for
Chinese and English alike); a query whose words are all at least 3 characters long goes to FTS5,
shorter words (and every other dialect) fall back to case-insensitive LIKE. User text is always
quoted as FTS5 phrases, so no query can be an FTS syntax error. Trashed chapters, and passages of
trashed chapters, are never returned.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import and_, func, or_, select, text
from sqlalchemy.orm import Session, aliased

from story_store.base import StoreBase
from story_store.fields import check_int, check_text
from story_store.models import Chapter, Passage
from story_store.records import SearchHit

MAX_QUERY_CHARS = 1_000
MIN_FTS_CHARS = 3  # the trigram tokenizer cannot match anything shorter
SNIPPET_CONTEXT = 40  # characters kept on each side of the first hit

CHAPTERS_FTS = text(
    "SELECT c.id, c.title, c.text FROM chapters_fts JOIN chapters AS c ON c.id = chapters_fts.rowid "
    "WHERE chapters_fts MATCH :match AND c.project_id = :project_id AND c.deleted_at IS NULL "
    "ORDER BY chapters_fts.rank LIMIT :limit"
)
PASSAGES_FTS = text(
    "SELECT p.id, p.chapter_id, coalesce(c.title, ''), p.text FROM passages_fts "
    "JOIN passages AS p ON p.id = passages_fts.rowid LEFT JOIN chapters AS c ON c.id = p.chapter_id "
    "WHERE passages_fts MATCH :match AND p.project_id = :project_id AND c.deleted_at IS NULL "
    "ORDER BY passages_fts.rank LIMIT :limit"
)


def insert_passages_indexed_once(session: Session, insert_rows: Callable[[], None]) -> None:
    """Run `insert_rows` with per-row indexing paused, then index the new passages in one go.

    Needs the write lock (the Store's write transactions hold it): new rows get ids above the
    current maximum, and nobody else inserts meanwhile. See migration 0002_search.
    """
    last_id = session.scalar(select(func.max(Passage.id))) or 0
    session.execute(text("INSERT INTO passages_fts_paused (id) VALUES (1)"))
    insert_rows()
    session.execute(text("INSERT INTO passages_fts (rowid, text) "
                         "SELECT id, text FROM passages WHERE id > :last_id"), {"last_id": last_id})
    session.execute(text("DELETE FROM passages_fts_paused"))


def fts_match_expression(terms: list[str]) -> str:
    """Each term as a quoted FTS5 phrase ("" escapes a quote); phrases side by side mean AND."""
    return " ".join('"' + term.replace('"', '""') + '"' for term in terms)


def snippet(body: str, terms: list[str]) -> str:
    """About 2×SNIPPET_CONTEXT characters around the earliest hit of any term, on one line."""
    lowered = body.lower()
    hits = [i for i in (lowered.find(term.lower()) for term in terms) if i >= 0]
    start = max(min(hits, default=0) - SNIPPET_CONTEXT, 0)
    end = min(start + 2 * SNIPPET_CONTEXT + max(map(len, terms)), len(body))
    piece = " ".join(body[start:end].split())
    return ("…" if start > 0 else "") + piece + ("…" if end < len(body) else "")


class SearchMixin(StoreBase):
    def search(self, project_id: int, query: str, limit: int = 20) -> list[SearchHit]:
        """Chapters (best first), then passages, that contain every word of `query`."""
        terms = check_text("search query", query, MAX_QUERY_CHARS).split()
        check_int("search limit", limit, 1, 100_000)
        if not terms:
            return []
        with self._read() as session:
            self._project(session, project_id)
            use_fts = self.has_fts and all(len(term) >= MIN_FTS_CHARS for term in terms)
            finder = self._fts_rows if use_fts else self._like_rows
            chapters, passages = finder(session, project_id, terms, limit)
        hits = [SearchHit("chapter", cid, project_id, cid, title, snippet(body or title, terms))
                for cid, title, body in chapters]
        hits += [SearchHit("passage", pid, project_id, chapter_id, title, snippet(body, terms))
                 for pid, chapter_id, title, body in passages]
        return hits[:limit]

    @staticmethod
    def _fts_rows(session: Session, project_id: int, terms: list[str], limit: int
                  ) -> tuple[Sequence[Any], Sequence[Any]]:
        params = {"match": fts_match_expression(terms), "project_id": project_id, "limit": limit}
        chapters = session.execute(CHAPTERS_FTS, params).all()
        passages = session.execute(PASSAGES_FTS, params).all()
        return chapters, passages

    @staticmethod
    def _like_rows(session: Session, project_id: int, terms: list[str], limit: int
                   ) -> tuple[Sequence[Any], Sequence[Any]]:
        chapter_match = and_(*(or_(Chapter.title.icontains(t, autoescape=True),
                                   Chapter.text.icontains(t, autoescape=True)) for t in terms))
        chapters = session.execute(
            select(Chapter.id, Chapter.title, Chapter.text)
            .where(Chapter.project_id == project_id, Chapter.deleted_at.is_(None), chapter_match)
            .order_by(Chapter.ordinal, Chapter.id).limit(limit)).all()
        owner = aliased(Chapter)
        passages = session.execute(
            select(Passage.id, Passage.chapter_id, owner.title, Passage.text)
            .outerjoin(owner, owner.id == Passage.chapter_id)
            .where(Passage.project_id == project_id, owner.deleted_at.is_(None),
                   *(Passage.text.icontains(t, autoescape=True) for t in terms))
            .order_by(Passage.id).limit(limit)).all()
        return chapters, [(pid, cid, title or "", body) for pid, cid, title, body in passages]
