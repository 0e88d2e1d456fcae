"""The browser tests' live server: a browser that drops a download half-way leaks nothing."""

from __future__ import annotations

import gc
import socket
import struct

from tests.fixtures.live import LiveServer


def test_a_connection_dropped_in_the_middle_of_a_static_file_leaves_no_file_open(
        live_server: LiveServer) -> None:
    # Chromium cancels a page's script downloads when it navigates away. werkzeug's development server then
    # skipped closing the response, and the static file it held open surfaced later, in whichever test was
    # running, as an "unclosed file" warning (which this suite turns into a failure).
    host, port = live_server.url.removeprefix("http://").split(":")
    for _ in range(20):
        client = socket.socket()
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        client.connect((host, int(port)))
        client.sendall(b"GET /static/vendor/htmx.min.js HTTP/1.1\r\nHost: x\r\n\r\n")
        client.recv(64)
        # Close with a reset (linger 0), as a cancelled download does, while the server is still writing.
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()
    with socket.create_connection((host, int(port))) as check:  # the server still answers
        check.sendall(b"GET /static/app.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert check.recv(64).startswith(b"HTTP/1.1 200")
    gc.collect()
