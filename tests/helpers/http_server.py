"""A static HTTP server on 127.0.0.1 with fault injection (cut transfers, server errors, slow answers)."""

from __future__ import annotations

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


class Server:
    """A ThreadingHTTPServer on 127.0.0.1 serving a folder; records every request path."""

    def __init__(self, root: Path):
        handler = lambda *a, **k: _Handler(*a, directory=str(root), **k)  # noqa: E731
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.requests, self.httpd.cut_once, self.httpd.fail_times = [], {}, {}
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

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
