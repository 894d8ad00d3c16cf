"""Token counting for the OpenAI-compatible engine, from the best source available.

Order: a local tokenizer (`tokenizer_path`, exact) → the server's tokenize endpoint (exact; SGLang
and vLLM serve `POST /tokenize {"model", "prompt"}` at the server root and answer
`{"tokens": [...]}` and/or `{"count": n}`) → `estimate_tokens` (inexact, reported as such). The
endpoint is probed once; a server without it (404/405/501, or any non-JSON answer) is not asked
again, while a transient network failure falls back to the estimate for that call only.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import httpx

from app.engine.token_estimate import estimate_tokens

_MISSING_ENDPOINT = {404, 405, 501}
REMEMBERED_COUNTS = 4096  # prompt planners count the same sections again and again: one request each is enough


class ServerTokenCounter:
    def __init__(self, base_url: str, model: str, *, tokenizer_path: str | None, timeout_s: float) -> None:
        self._model, self._timeout_s = model, timeout_s
        self._tokenizer = _load_tokenizer(tokenizer_path) if tokenizer_path else None
        root = base_url[: -len("/v1")] if base_url.endswith("/v1") else base_url
        self._candidates = list(dict.fromkeys([f"{root}/tokenize", f"{base_url}/tokenize"]))
        self._endpoint: str | None = None
        self._probed = False
        self._lock = threading.Lock()
        self._remembered: OrderedDict[str, int] = OrderedDict()

    def exact(self) -> bool:
        """True when counts come from the model's own tokenizer (local or the server's)."""
        if self._tokenizer is not None:
            return True
        self._probe()
        return self._endpoint is not None

    def count(self, text: str) -> int:
        if self._tokenizer is not None:
            return len(self._tokenizer.encode(text, add_special_tokens=False))
        self._probe()
        if self._endpoint is None:
            return estimate_tokens(text)
        with self._lock:
            if text in self._remembered:
                self._remembered.move_to_end(text)
                return self._remembered[text]
        try:
            count = _parse_count(self._post(self._endpoint, text))
        except (httpx.HTTPError, ValueError):
            return estimate_tokens(text)  # transient: estimate this one, ask again next time
        with self._lock:
            self._remembered[text] = count
            while len(self._remembered) > REMEMBERED_COUNTS:
                self._remembered.popitem(last=False)
        return count

    def count_completion(self, text: str, *, pieces: int) -> int:
        """Tokens in a streamed completion: exact with a local tokenizer, else the streamed pieces
        (servers send one piece per token), never a network call (the server may be the failure)."""
        if self._tokenizer is not None:
            return len(self._tokenizer.encode(text, add_special_tokens=False))
        return pieces

    def _probe(self) -> None:
        with self._lock:
            if self._probed:
                return
            for url in self._candidates:
                try:
                    _parse_count(self._post(url, "probe"))
                except httpx.HTTPStatusError as exc:
                    if exc.response.status_code in _MISSING_ENDPOINT:
                        continue
                    return  # some other server error: ask again next time
                except httpx.HTTPError:
                    return  # unreachable right now: ask again next time
                except ValueError:
                    continue  # answered, but not a tokenize endpoint
                self._endpoint = url
                break
            self._probed = True

    def _post(self, url: str, text: str) -> Any:
        response = httpx.post(url, json={"model": self._model, "prompt": text}, timeout=self._timeout_s)
        response.raise_for_status()
        return response.json()


def _parse_count(payload: Any) -> int:
    if isinstance(payload, dict):
        if isinstance(payload.get("count"), int):
            return payload["count"]
        if isinstance(payload.get("tokens"), list):
            return len(payload["tokens"])
    raise ValueError("not a tokenize answer")


def _load_tokenizer(path: str) -> Any:
    from transformers import AutoTokenizer

    # Local files only, never remote code: a tokenizer path is a directory the user gave us.
    return AutoTokenizer.from_pretrained(path, local_files_only=True, trust_remote_code=False)
