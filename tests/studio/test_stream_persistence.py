"""Streamed text reaches the store within the persist interval of arriving, even when the engine then
stalls (the save clock is its own, not the arrival of the next chunk); the final save comes last."""

from __future__ import annotations

import threading
import time

from app.engine import Chunk, Done, GenerationRequest
from app.studio.runs import GenerationRun
from app.studio.sinks import PassageSink


class StallingEngine:
    """An engine (the protocol GenerationRun uses: `stream`) that emits one chunk, then waits."""

    def __init__(self) -> None:
        self.resume = threading.Event()

    def stream(self, request: GenerationRequest, cancel: threading.Event):
        yield Chunk(0, "第一句。")
        self.resume.wait(timeout=30)
        yield Chunk(0, "第二句。")
        yield Done(0, "stop", 0, 2)


def _wait_for(condition, timeout_s: float):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_text_is_saved_while_the_engine_stalls_and_the_final_save_is_last(store):
    project = store.create_project("稿", language="zh")
    chapter = store.create_chapter(project.id, title="一")
    passage = store.create_passage(project.id, chapter_id=chapter.id, task="draft", status="streaming")
    engine = StallingEngine()
    run = GenerationRun(engine, GenerationRequest(prompt="p"), PassageSink(store, (passage.id,)),
                        persist_interval_s=0.25)
    run.start()
    # generous bound for a loaded box; before this change the chunk waited for the next one (30 s here)
    assert _wait_for(lambda: store.get_passage(passage.id).text == "第一句。", 5.0)
    assert store.get_passage(passage.id).status == "streaming"
    engine.resume.set()
    for _ in run.snapshots(0.05):  # to the end of the stream
        pass
    final = run.close()
    saved = store.get_passage(passage.id)
    assert final.texts == ("第一句。第二句。",) and (saved.text, saved.status) == ("第一句。第二句。", "done")
