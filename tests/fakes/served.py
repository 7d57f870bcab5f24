"""``served``: a ``FakeSIE`` (or any ``httpx.MockTransport`` handler) on a real socket on 127.0.0.1.

For code that builds its own connection in another process (LlamaIndex's ``IngestionPipeline(num_workers=2)``
pickles its transformations into worker processes, which cannot reach a MockTransport of the test process): the
workers send to ``base_url``, and the handler answers and records in the test process, as it does in memory.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

Handler = Callable[[httpx.Request], httpx.Response]

CLIENT_PORT = "x-test-client-port"
"""Added to each request the handler gets: the client's port, which tells its connection."""
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"}


def _request_handler(handler: Handler, base_url: str) -> type[BaseHTTPRequestHandler]:
    class Forward(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {**dict(self.headers), CLIENT_PORT: str(self.client_address[1])}
            request = httpx.Request(self.command, base_url + self.path, headers=headers, content=body)
            response = handler(request)
            content = response.read()
            self.send_response(response.status_code)
            for name, value in response.headers.items():
                if name.lower() not in _HOP_BY_HOP:
                    self.send_header(name, value)
            self.send_header("content-length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = _forward

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

    return Forward


@contextmanager
def served(handler: Handler) -> Iterator[str]:
    """The base URL (``http://127.0.0.1:<port>``) at which ``handler`` answers, until the block ends."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _request_handler(handler, ""))
    server.daemon_threads = True
    host, port = server.server_address[:2]
    url = f"http://{host!s}:{port}"
    server.RequestHandlerClass = _request_handler(handler, url)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
