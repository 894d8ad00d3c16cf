"""OpenAIEngine against a real OpenAI-compatible SSE server on 127.0.0.1 (tests/engine/openai_server.py)."""

from __future__ import annotations

import threading
import time

import pytest

from app.engine import Chunk, Done, Engine, GenerationRequest, SamplingParams, generate
from app.engine.openai_engine import OpenAIEngine
from app.engine.token_estimate import estimate_tokens

from .openai_server import CompletionsServer


@pytest.fixture()
def server():
    with CompletionsServer() as live:
        yield live


def request(prompt: str, n: int = 3, **kw) -> GenerationRequest:
    return GenerationRequest(prompt, n=n, max_new_tokens=kw.pop("max_new_tokens", 16), seed=kw.pop("seed", 7), **kw)


def test_n_branches_stream_from_one_request_each_with_one_done_last(server):
    engine = OpenAIEngine(server.base_url, "served-model")
    assert isinstance(engine, Engine)
    events = list(engine.stream(request("Once upon a time", stop=("END",), sampling=SamplingParams(top_k=40))))
    assert len(server.requests) == 1
    sent = server.requests[0]
    assert (sent["n"], sent["seed"], sent["stream"], sent["stop"], sent["top_k"]) == (3, 7, True, ["END"], 40)
    for branch in range(3):
        mine = [e for e in events if e.branch == branch]
        assert isinstance(mine[-1], Done) and [type(e) for e in mine].count(Done) == 1
        assert "".join(e.text for e in mine[:-1]) == "".join(f"w{k}.b{branch}.s7 " for k in range(5))
        assert mine[-1].finish_reason == "stop" and mine[-1].completion_tokens == 5


def test_length_finish_is_reported(server):
    results = generate(OpenAIEngine(server.base_url, "m"), request("x", n=1, max_new_tokens=3))
    assert (results[0].finish_reason, results[0].text) == ("length", "w0.b0.s7 w1.b0.s7 w2.b0.s7 ")


def test_server_refusing_n_gets_parallel_requests_with_consecutive_seeds(server):
    results = generate(OpenAIEngine(server.base_url, "m"), request("[refuse-n] story", n=3))
    assert [r.finish_reason for r in results] == ["stop"] * 3
    assert [r.text.split()[0] for r in results] == ["w0.b0.s7", "w0.b0.s8", "w0.b0.s9"]
    assert sorted((r["n"], r["seed"]) for r in server.requests) == [(1, 7), (1, 8), (1, 9), (3, 7)]


def test_server_error_ends_every_branch_with_a_clear_error(server):
    results = generate(OpenAIEngine(server.base_url, "m"), request("[500] story"))
    assert all(r.finish_reason == "error" and "500" in r.error and "out of memory" in r.error for r in results)


def test_dropped_connection_mid_stream_keeps_the_streamed_text(server):
    results = generate(OpenAIEngine(server.base_url, "m"), request("[drop] story"))
    for branch, result in enumerate(results):
        assert result.finish_reason == "error" and "dropped mid-stream" in result.error
        assert result.text == f"w0.b{branch}.s7 w1.b{branch}.s7 "


def test_stream_ending_before_a_finish_reason_is_an_error(server):
    results = generate(OpenAIEngine(server.base_url, "m"), request("[truncate] story", n=2))
    assert all(r.finish_reason == "error" and "before this branch finished" in r.error for r in results)
    assert all(r.text.count("w") == 5 for r in results)


def test_timeout_becomes_an_error_not_a_hang(server):
    started = time.perf_counter()
    results = generate(OpenAIEngine(server.base_url, "m", timeout_s=0.5), request("[stall] story", n=2))
    assert time.perf_counter() - started < 2.5
    assert all(r.finish_reason == "error" and "did not answer within 0.5 s" in r.error for r in results)


def test_unreachable_server_is_a_clear_error():
    with CompletionsServer() as gone:
        url = gone.base_url
    results = generate(OpenAIEngine(url, "m", timeout_s=2), request("story", n=2))
    assert all(r.finish_reason == "error" and "Could not reach the model server" in r.error for r in results)


def test_cancel_while_the_server_is_slow(server):
    engine = OpenAIEngine(server.base_url, "m")
    cancel = threading.Event()
    stream = engine.stream(request("[slow] story", n=2), cancel)
    first = next(stream)
    assert isinstance(first, Chunk)
    cancel.set()
    set_at = time.perf_counter()
    rest = list(stream)
    assert time.perf_counter() - set_at < 0.5
    assert sorted(e.branch for e in rest if isinstance(e, Done)) == [0, 1]
    assert all(e.finish_reason == "cancelled" for e in rest if isinstance(e, Done))


def test_cancel_while_waiting_for_the_server_hangs_up_once_the_stream_opens(server):
    engine = OpenAIEngine(server.base_url, "m")
    cancel = threading.Event()
    stream = engine.stream(request("[hold] [slow] story", n=2), cancel)  # headers come after 0.5 s
    threading.Timer(0.2, cancel.set).start()  # the worker is still inside completions.create
    events = list(stream)
    assert [e.finish_reason for e in events if isinstance(e, Done)] == ["cancelled", "cancelled"]
    deadline = time.monotonic() + 3
    while server.hangups == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.hangups == 1  # the client closed the stream instead of leaving it open
    assert len(server.requests) == 1


def test_token_counts_from_the_tokenize_endpoint():
    with CompletionsServer(tokenize=True) as live:
        engine = OpenAIEngine(live.base_url, "m")
        assert engine.count_tokens("one two three four") == 4
        assert engine.info().token_counts_exact
        assert generate(engine, request("a b c", n=1))[0].prompt_tokens == 3
        asked = live.tokenize_calls
        assert engine.count_tokens("one two three four") == 4
        assert live.tokenize_calls == asked  # the same text is counted once


def test_token_counts_are_an_estimate_marked_as_such_without_endpoint(server):
    engine = OpenAIEngine(server.base_url, "m")
    assert engine.count_tokens("夜色渐深 over the harbour") == estimate_tokens("夜色渐深 over the harbour")
    info = engine.info()
    assert not info.token_counts_exact and "estimate" in info.notes


def test_token_counts_from_a_local_tokenizer(server, tiny_model_dir, tiny_parts):
    _, tokenizer = tiny_parts
    engine = OpenAIEngine(server.base_url, "m", tokenizer_path=str(tiny_model_dir))
    text = "夜色渐深，山门外 the lantern"
    assert engine.count_tokens(text) == len(tokenizer.encode(text, add_special_tokens=False))
    assert engine.info().token_counts_exact
