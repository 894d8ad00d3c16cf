"""Story-store benchmark: prints JSON lines with ratios measured within one run (CPU, SQLite).

- bulk insert of N passages: Core executemany (Store.bulk_insert_passages) vs ORM add_all;
- search: FTS5 trigram MATCH vs a LIKE scan returning the same ids (a common and a rare word),
  plus the end-to-end Store.search time;
- streaming updates: Store.update_passage calls per second on a growing text.

Usage: python benchmarks/store_bench.py [--passages 10000]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from story_store import Store  # noqa: E402
from story_store.models import Passage  # noqa: E402
from story_store.search import fts_match_expression  # noqa: E402


def passage_text(i: int) -> str:
    extra = "青云门的弟子在山门前列队。" if i % 10 == 0 else ""
    return f"第{i}段。风从山谷吹来，松涛阵阵。{extra}A quiet line of English text {i}."


def timed(action) -> tuple[float, object]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def bench_insert(folder: Path, count: int) -> dict:
    rows = [{"text": passage_text(i)} for i in range(count)]
    with Store(f"sqlite:///{folder / 'core.db'}") as store:
        project = store.create_project("bench")
        core_s, _ = timed(lambda: store.bulk_insert_passages(project.id, rows))
    with Store(f"sqlite:///{folder / 'orm.db'}") as store:
        project_id = store.create_project("bench").id
    engine = create_engine(f"sqlite:///{folder / 'orm.db'}")

    def orm_insert() -> None:
        with Session(engine) as session, session.begin():
            session.add_all([Passage(project_id=project_id, **row) for row in rows])

    orm_s, _ = timed(orm_insert)
    engine.dispose()
    return {"bench": "bulk_insert_passages", "rows": count, "core_s": round(core_s, 4),
            "orm_add_all_s": round(orm_s, 4), "speedup": round(orm_s / core_s, 2)}


FTS_IDS = text("SELECT rowid FROM passages_fts WHERE passages_fts MATCH :match ORDER BY rowid")
LIKE_IDS = text("SELECT id FROM passages WHERE text LIKE :pattern ORDER BY id")


def bench_search(folder: Path, count: int, repeats: int = 20) -> list[dict]:
    """FTS5 trigram vs a LIKE scan returning the same passage ids, for a common and a rare word."""
    url = f"sqlite:///{folder / 'core.db'}"
    results = []
    with Store(url) as store:
        project_id = store.list_projects()[0].id
        engine = create_engine(url)
        with engine.connect() as connection:
            for word in ("青云门", f"第{count // 2 + 1}段"):
                params = {"match": fts_match_expression([word])}
                fts_s, fts_ids = timed(lambda: [connection.execute(FTS_IDS, params).scalars().all()
                                                for _ in range(repeats)][-1])
                like = {"pattern": f"%{word}%"}
                like_s, like_ids = timed(lambda: [connection.execute(LIKE_IDS, like).scalars().all()
                                                  for _ in range(repeats)][-1])
                assert fts_ids == like_ids, (word, len(fts_ids), len(like_ids))
                search_s, hits = timed(lambda: store.search(project_id, word, limit=count))
                results.append({
                    "bench": "search", "rows": count, "query": word, "hits": len(fts_ids),
                    "fts_ms": round(1000 * fts_s / repeats, 3),
                    "like_ms": round(1000 * like_s / repeats, 3),
                    "like_over_fts": round(like_s / fts_s, 2),
                    "store_search_ms": round(1000 * search_s, 2), "store_hits": len(hits)})
        engine.dispose()
    return results


def bench_streaming(folder: Path, updates: int = 300) -> dict:
    with Store(f"sqlite:///{folder / 'stream.db'}") as store:
        project = store.create_project("bench")
        passage = store.create_passage(project.id, status="streaming")
        text = ""

        def stream() -> None:
            nonlocal text
            for i in range(updates):
                text += f"第{i}句，风吹过。"
                store.update_passage(passage.id, text=text)

        seconds, _ = timed(stream)
    return {"bench": "update_passage_stream", "updates": updates, "final_chars": len(text),
            "updates_per_s": round(updates / seconds, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        results = [bench_insert(folder, args.passages), *bench_search(folder, args.passages),
                   bench_streaming(folder)]
        for result in results:
            print(json.dumps(result, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
