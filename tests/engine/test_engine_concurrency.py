"""Cancel, closing a stream early, and one-generation-at-a-time queueing on the local engine."""

from __future__ import annotations

import threading
import time

from app.engine import Chunk, Done, GenerationRequest, SamplingParams, generate

PROMPT = "师父说剑意不在剑上，而在心里；他听了三年，才明白这句话。"
LONG = GenerationRequest(PROMPT, n=2, max_new_tokens=1900, sampling=SamplingParams(temperature=0.9), seed=1)


def test_cancel_ends_every_branch_within_half_a_second_keeping_the_text(engine):
    cancel = threading.Event()
    stream = engine.stream(LONG, cancel)
    events = [next(stream) for _ in range(10)]
    cancel.set()
    set_at = time.perf_counter()
    events += list(stream)
    elapsed = time.perf_counter() - set_at
    assert elapsed < 0.5
    dones = [e for e in events if isinstance(e, Done)]
    assert sorted(d.branch for d in dones) == [0, 1]
    assert all(d.finish_reason == "cancelled" for d in dones)
    assert all(0 < d.completion_tokens < 1900 for d in dones)
    assert any(isinstance(e, Chunk) for e in events)


def test_cancel_from_another_thread_while_consuming(engine):
    cancel = threading.Event()
    timer = threading.Timer(0.3, cancel.set)
    timer.start()
    results = generate(engine, LONG, cancel)
    timer.join()
    assert [r.finish_reason for r in results] == ["cancelled", "cancelled"]
    assert all(r.completion_tokens > 0 for r in results)


def test_closing_a_stream_early_releases_the_engine(engine):
    stream = engine.stream(LONG)
    next(stream)
    stream.close()  # GeneratorExit inside the engine
    finished = threading.Event()

    def second() -> None:
        generate(engine, GenerationRequest(PROMPT, max_new_tokens=3))
        finished.set()

    threading.Thread(target=second, daemon=True).start()
    assert finished.wait(timeout=30)


def test_second_request_waits_until_the_first_has_finished(engine):
    log: list[tuple[str, object]] = []
    log_lock = threading.Lock()
    first_started = threading.Event()

    def run(name: str, request: GenerationRequest, signal: threading.Event | None) -> None:
        for event in engine.stream(request):
            with log_lock:
                log.append((name, event))
            if signal is not None:
                signal.set()

    first = threading.Thread(target=run, args=("A", GenerationRequest(PROMPT, n=2, max_new_tokens=60), first_started))
    second = threading.Thread(target=run, args=("B", GenerationRequest(PROMPT, max_new_tokens=20), None))
    first.start()
    assert first_started.wait(timeout=30)
    second.start()
    first.join(timeout=60)
    second.join(timeout=60)
    names = [name for name, _ in log]
    assert names.count("B") >= 1 and names.count("A") >= 2
    assert names.index("B") > max(i for i, name in enumerate(names) if name == "A")  # B after all of A
    assert sum(isinstance(e, Done) for name, e in log if name == "B") == 1


def test_queued_request_can_be_cancelled_without_generating(engine):
    holder = engine.stream(LONG)
    next(holder)  # the first request holds the engine while its consumer pauses
    cancel = threading.Event()
    threading.Timer(0.2, cancel.set).start()
    started = time.perf_counter()
    queued = list(engine.stream(GenerationRequest(PROMPT, n=3, max_new_tokens=50), cancel))
    assert time.perf_counter() - started < 5
    assert [type(e) for e in queued] == [Done, Done, Done]
    assert all(e.finish_reason == "cancelled" and e.completion_tokens == 0 for e in queued)
    holder.close()
    assert generate(engine, GenerationRequest(PROMPT, max_new_tokens=2))[0].finish_reason in ("stop", "length")
