"""A real OpenAI-compatible completions server on 127.0.0.1 for tests (stdlib http.server, SSE, chunked).

Behaviour is chosen by markers in the prompt:
  "[refuse-n]"  400 when n > 1 (like servers without `n` support)
  "[500]"       HTTP 500
  "[drop]"      two pieces per branch, then the connection dies mid-chunk
  "[truncate]"  a clean end of stream ([DONE]) before any finish_reason
  "[slow]"      0.2 s between pieces
  "[stall]"     waits 3 s before answering (client timeouts)
  "[hold]"      waits 0.5 s before answering (a cancel while the client waits for headers)
A client that hangs up mid-stream is counted in `hangups` (the write to it failed).
Otherwise each branch i streams min(max_tokens, 5) pieces "w{k}.b{i}.s{seed} " and finishes with
"length" when max_tokens <= 5, else "stop". With `tokenize=True`, POST /tokenize answers
{"tokens": [...]} with one token per whitespace-separated word.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PIECES = 5


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def _json(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path == "/tokenize" and self.server.tokenize:
            self.server.tokenize_calls += 1
            self._json(200, {"tokens": list(range(len(str(body["prompt"]).split())))})
        elif self.path == "/v1/completions":
            self.server.requests.append(body)
            self._completions(body)
        else:
            self._json(404, {"error": {"message": "not found"}})

    def _completions(self, body: dict) -> None:
        prompt, n = str(body["prompt"]), int(body.get("n") or 1)
        if "[stall]" in prompt:
            time.sleep(3)
        if "[hold]" in prompt:
            time.sleep(0.5)
        if "[refuse-n]" in prompt and n > 1:
            return self._json(400, {"error": {"message": "n > 1 is not supported", "type": "invalid_request"}})
        if "[500]" in prompt:
            return self._json(500, {"error": {"message": "out of memory on the server", "type": "server_error"}})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            self._stream_pieces(body, prompt, n)
        except (BrokenPipeError, ConnectionResetError):
            self.server.hangups += 1
            self.close_connection = True

    def _stream_pieces(self, body: dict, prompt: str, n: int) -> None:
        max_tokens, seed = int(body.get("max_tokens") or 16), int(body.get("seed") or 0)
        pieces = min(max_tokens, PIECES)
        for k in range(pieces):
            if "[drop]" in prompt and k == 2:
                self.wfile.write(b"400\r\ndata: {\"partial")  # promises 1024 bytes, sends a few
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            if "[slow]" in prompt:
                time.sleep(0.2)
            for i in range(n):
                self._event({"choices": [{"index": i, "text": f"w{k}.b{i}.s{seed} ", "finish_reason": None}]})
        if "[truncate]" not in prompt:
            reason = "length" if max_tokens <= PIECES else "stop"
            for i in range(n):
                self._event({"choices": [{"index": i, "text": "", "finish_reason": reason}]})
        self._chunk(b"data: [DONE]\n\n")
        self._chunk(b"")

    def _event(self, payload: dict) -> None:
        payload = {"id": "cmpl-test", "object": "text_completion", "created": 0, "model": "test", **payload}
        self._chunk(f"data: {json.dumps(payload)}\n\n".encode())

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    tokenize = False
    tokenize_calls = 0
    hangups = 0
    requests: list


class CompletionsServer:
    """Context manager: a live server; `base_url` ends in /v1 like real OpenAI-compatible servers."""

    def __init__(self, *, tokenize: bool = False) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.tokenize = tokenize
        self._server.requests = []
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    @property
    def tokenize_calls(self) -> int:
        return self._server.tokenize_calls

    @property
    def hangups(self) -> int:
        return self._server.hangups

    @property
    def requests(self) -> list[dict]:
        return self._server.requests

    def __enter__(self) -> "CompletionsServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
