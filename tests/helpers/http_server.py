"""A static HTTP server on 127.0.0.1 with fault injection (cut transfers, server errors, slow answers, trickled
bodies, compressed bodies, other content in place of a file)."""

from __future__ import annotations

import gzip
import http.server
import threading
import time
from pathlib import Path


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Static files plus fault injection: cut a transfer short, or answer 500, a given number of times."""

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        server = self.server
        rel = self.path.lstrip("/")
        with server.lock:
            server.requests.append(rel)
            cut = server.cut_once.pop(rel, None)
            fail = server.fail_times.get(rel, 0)
            if fail:
                server.fail_times[rel] = fail - 1
        time.sleep(server.delay)
        if fail:
            self.send_error(500, "injected failure")
            return
        if rel in server.replace or server.trickle or server.encoding:
            self._send_special(rel)
            return
        if cut is not None:
            data = (Path(self.directory) / rel).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()

    def _send_special(self, rel: str) -> None:
        server = self.server
        path = Path(self.directory) / rel
        if rel not in server.replace and not path.is_file():
            self.send_error(404)
            return
        data = server.replace.get(rel) or path.read_bytes()
        if server.encoding == "gzip":
            data = gzip.compress(data, mtime=0)
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        if server.encoding:
            self.send_header("Content-Encoding", server.encoding)
        self.end_headers()
        if not server.trickle:
            self.wfile.write(data)
            return
        for i in range(len(data)):  # one byte at a time, for as long as the client listens
            try:
                self.wfile.write(data[i : i + 1])
                self.wfile.flush()
            except OSError:
                return
            time.sleep(server.trickle)


class Server:
    """A ThreadingHTTPServer on 127.0.0.1 serving a folder; records every request path."""

    def __init__(self, root: Path):
        handler = lambda *a, **k: _Handler(*a, directory=str(root), **k)  # noqa: E731
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.requests, self.httpd.cut_once, self.httpd.fail_times = [], {}, {}
        self.httpd.replace: dict[str, bytes] = {}  # path -> body served instead of the file
        self.httpd.trickle = 0.0  # seconds between bytes of every body (0: all at once)
        self.httpd.encoding = ""  # Content-Encoding of every body: "gzip" compresses, anything else is a label
        self.httpd.lock = threading.Lock()
        self.httpd.delay = 0.0  # seconds before each answer (to make a transfer slow enough to interrupt)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    @property
    def requests(self) -> list[str]:
        return self.httpd.requests

    def cut_once(self, rel: str) -> None:
        self.httpd.cut_once[rel] = True

    def slow_down(self, seconds: float) -> None:
        self.httpd.delay = seconds

    def fail(self, rel: str, times: int) -> None:
        self.httpd.fail_times[rel] = times

    def serve_instead(self, rel: str, body: bytes) -> None:
        self.httpd.replace[rel] = body

    def trickle(self, seconds_per_byte: float) -> None:
        self.httpd.trickle = seconds_per_byte

    def encode(self, encoding: str) -> None:
        self.httpd.encoding = encoding

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
