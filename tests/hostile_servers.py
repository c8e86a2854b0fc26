"""Raw TCP servers on 127.0.0.1 that answer HTTP the way no polite server would.

Each connection's request head is read, then a script writes whatever it
likes to the socket: a response dripped a byte at a time, an endless body, a
gzip bomb. Scripts stream what they send, so a test's memory measurements see
only what the client kept.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import zlib
from collections.abc import Callable

Script = Callable[[socket.socket], None]


class RawServer:
    """Runs ``script`` on every connection, after reading the request head."""

    def __init__(self, script: Script) -> None:
        self._script = script
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)  # so the accept loop notices it should stop
        self.port = int(self._listener.getsockname()[1])
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        # The client hanging up mid-answer is what these tests provoke.
        with conn, contextlib.suppress(OSError):
            conn.settimeout(10)
            head = b""
            while b"\r\n\r\n" not in head:
                data = conn.recv(4096)
                if not data:
                    return
                head += data
            self._script(conn)

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._thread.join()
        self._listener.close()


def drip(head: bytes, body: bytes, interval: float) -> Script:
    """Send ``head`` at once, then ``body`` one byte every ``interval`` seconds."""

    def script(conn: socket.socket) -> None:
        conn.sendall(head)
        for byte in body:
            conn.sendall(bytes([byte]))
            time.sleep(interval)

    return script


def endless_zeros(size: int) -> Script:
    """Announce and send a ``size``-byte body of zeros, 64 KiB at a time."""
    chunk = bytes(64 * 1024)

    def script(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                     b"Content-Length: %d\r\n\r\n" % size)
        for _ in range(size // len(chunk)):
            conn.sendall(chunk)

    return script


def gzip_bomb(inflated_size: int) -> Script:
    """Send ``inflated_size`` zero bytes gzip-compressed, about 1000:1, compressing as it goes.

    Output is sent 64 MiB (inflated) at a time, some 64 KiB on the wire: one
    network read's worth that a naive decoder would inflate in one go.
    """
    chunk = bytes(1024 * 1024)

    def script(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                     b"Content-Encoding: gzip\r\nConnection: close\r\n\r\n")
        compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        for _ in range(inflated_size // (64 * len(chunk))):
            conn.sendall(b"".join(compressor.compress(chunk) for _ in range(64)))
        conn.sendall(compressor.flush())

    return script
