"""The scale-out engine: any OpenAI-compatible completions server (SGLang, vLLM, llama.cpp, Ollama).

One streaming `completions.create(n=N)` request carries all branches (`choices[i].index` is the
branch); a server that refuses `n > 1` gets N parallel requests with seeds seed+i instead. Each
request is read by a worker thread that forwards pieces to a queue, so a cancel is honoured
within one queue poll even while the server is silent. Every failure (unreachable, timeout, HTTP
error, connection dropped mid-stream) ends each unfinished branch with Done("error") and a
message; text already streamed stays with the caller.

Token counts: the local tokenizer when a path is given (exact), else the server's `/tokenize`
endpoint (SGLang/vLLM style) when it answers (exact), else `token_estimate` (marked inexact).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import openai

from app.engine.openai_tokens import ServerTokenCounter
from app.engine.types import Chunk, Done, EngineInfo, Event, FinishReason, GenerationRequest
from messages import Message

QUEUE_POLL_S = 0.05  # cancel latency bound while waiting on the server


@dataclass
class _Job:
    """One HTTP request serving `count` branches starting at `first_branch`."""

    first_branch: int
    count: int
    seed: int
    stream: Any = None
    closed: threading.Event = field(default_factory=threading.Event)


class OpenAIEngine:
    def __init__(self, base_url: str, model: str, api_key: str = "none", *, tokenizer_path: str | None = None,
                 timeout_s: float = 60, context_length: int = 8192) -> None:
        self._base_url, self._model, self._timeout_s = base_url.rstrip("/"), model, timeout_s
        self._context_length = context_length
        self._client = openai.OpenAI(base_url=self._base_url, api_key=api_key or "none", timeout=timeout_s,
                                     max_retries=0)
        self._tokens = ServerTokenCounter(self._base_url, model, tokenizer_path=tokenizer_path,
                                          timeout_s=min(timeout_s, 5))

    def info(self) -> EngineInfo:
        exact = self._tokens.exact()
        notes = "" if exact else "token counts are estimates (no tokenizer path and no /tokenize endpoint)"
        return EngineInfo(kind="openai", model_id=self._model, context_length=self._context_length,
                          device=self._base_url, notes=notes, token_counts_exact=exact)

    def count_tokens(self, text: str) -> int:
        return self._tokens.count(text)

    def stream(self, request: GenerationRequest, cancel: threading.Event | None = None) -> Iterator[Event]:
        return _StreamRun(self, request, cancel or threading.Event()).events()

    def _request(self, request: GenerationRequest, job: _Job) -> Any:
        sampling = request.sampling
        extra: dict[str, Any] = {}
        if sampling.top_k > 0:
            extra["top_k"] = sampling.top_k
        if sampling.min_p > 0:
            extra["min_p"] = sampling.min_p
        if sampling.repetition_penalty != 1.0:
            extra["repetition_penalty"] = sampling.repetition_penalty
        optional: dict[str, Any] = {"stop": list(request.stop)} if request.stop else {}
        return self._client.completions.create(
            model=self._model, prompt=request.prompt, n=job.count, stream=True, seed=job.seed,
            max_tokens=request.max_new_tokens, temperature=sampling.temperature, top_p=sampling.top_p,
            extra_body=extra or None, **optional,
        )

    def _describe(self, exc: BaseException, streamed: bool) -> Message:
        """What went wrong with the server, as a Message (the page renders it in the writer's language)."""
        if isinstance(exc, openai.APITimeoutError):
            return Message("engine.server_timeout", url=self._base_url, seconds=f"{self._timeout_s:g}")
        if isinstance(exc, openai.APIConnectionError) and not streamed:
            return Message("engine.server_unreachable", url=self._base_url, detail=str(exc.__cause__ or exc))
        if isinstance(exc, openai.APIStatusError):
            return Message("engine.server_http_error", status=exc.status_code, detail=_server_message(exc))
        cause = exc.__cause__ or exc
        return Message("engine.server_dropped", detail=f"{type(cause).__name__}: {cause}")


def _server_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
    return str(exc.message)


def _is_n_refusal(exc: BaseException) -> bool:
    return isinstance(exc, (openai.BadRequestError, openai.UnprocessableEntityError))


class _StreamRun:
    """One stream() call: workers read the server, this generator turns their messages into events."""

    def __init__(self, engine: OpenAIEngine, request: GenerationRequest, cancel: threading.Event) -> None:
        self._engine, self._request, self._cancel = engine, request, cancel
        self._queue: queue.Queue[tuple[str, _Job, Any]] = queue.Queue()
        self._jobs: list[_Job] = []
        self._texts: dict[int, list[str]] = {i: [] for i in range(request.n)}
        self._finished: set[int] = set()
        self._prompt_tokens = 0

    def events(self) -> Iterator[Event]:
        self._prompt_tokens = self._engine.count_tokens(self._request.prompt)
        self._start(_Job(0, self._request.n, self._request.seed))
        try:
            while len(self._finished) < self._request.n:
                if self._cancel.is_set():
                    yield from self._finish_rest("cancelled")
                    return
                try:
                    kind, job, payload = self._queue.get(timeout=QUEUE_POLL_S)
                except queue.Empty:
                    continue
                yield from self._handle(kind, job, payload)
        finally:
            self._close_all()

    def _start(self, job: _Job) -> None:
        self._jobs.append(job)
        threading.Thread(target=self._read, args=(job,), daemon=True, name="openai-stream").start()

    def _read(self, job: _Job) -> None:
        """Worker thread: forward ("text"|"finish", job, (branch, value)) then ("end"|"error", job, ...)."""
        streamed = False
        try:
            job.stream = self._engine._request(self._request, job)
            for chunk in job.stream:
                if job.closed.is_set():
                    return
                for choice in chunk.choices:
                    branch = job.first_branch + choice.index
                    if choice.text:
                        streamed = True
                        self._queue.put(("text", job, (branch, choice.text)))
                    if choice.finish_reason:
                        self._queue.put(("finish", job, (branch, choice.finish_reason)))
            self._queue.put(("end", job, None))
        except Exception as exc:  # noqa: BLE001 - every failure is reported to the consumer as data
            if not job.closed.is_set():
                refused_n = job.count > 1 and not streamed and _is_n_refusal(exc)
                self._queue.put(("refused_n" if refused_n else "error", job, exc))
        finally:
            if job.closed.is_set():  # a cancel that came while create() was still waiting on the server
                _close_quietly(job.stream)

    def _handle(self, kind: str, job: _Job, payload: Any) -> Iterator[Event]:
        if kind == "text":
            branch, text = payload
            if branch not in self._finished and branch in self._texts:
                self._texts[branch].append(text)
                yield Chunk(branch, text)
        elif kind == "finish":
            branch, reason = payload
            if branch not in self._finished and branch in self._texts:
                yield self._done(branch, _finish_reason(reason))
        elif kind == "refused_n":
            for branch in range(job.count):  # the server refused n > 1: one request per branch
                self._start(_Job(branch, 1, self._request.seed + branch))
        else:
            message = (self._engine._describe(payload, streamed=self._job_streamed(job)) if kind == "error"
                       else "The server ended the stream before this branch finished.")
            for branch in range(job.first_branch, job.first_branch + job.count):
                if branch not in self._finished:
                    yield self._done(branch, "error", message)

    def _job_streamed(self, job: _Job) -> bool:
        return any(self._texts[b] for b in range(job.first_branch, job.first_branch + job.count))

    def _done(self, branch: int, reason: FinishReason, error: str | None = None) -> Done:
        self._finished.add(branch)
        text = "".join(self._texts[branch])
        completion = self._engine._tokens.count_completion(text, pieces=len(self._texts[branch]))
        return Done(branch, reason, self._prompt_tokens, completion, error)

    def _finish_rest(self, reason: FinishReason) -> Iterator[Event]:
        self._close_all()
        for branch in range(self._request.n):
            if branch not in self._finished:
                yield self._done(branch, reason)

    def _close_all(self) -> None:
        for job in self._jobs:
            job.closed.set()
            _close_quietly(job.stream)


def _close_quietly(stream: Any) -> None:
    """Close a response stream (hanging up on the server); None or an already closed one is fine."""
    if stream is None:
        return
    try:
        stream.close()
    except (httpx.HTTPError, RuntimeError, OSError):
        pass  # already closed or torn down by the other thread


def _finish_reason(server_reason: str) -> FinishReason:
    return "length" if server_reason == "length" else "stop"
