"""A loopback TCP proxy in front of a storage endpoint, to cut storage off and bring it back.

`TcpProxy(target_port).start()` listens on its own port and forwards every connection to the
target. `cut()` ends every open connection with a reset and resets new ones (a storage account out
of reach); `freeze()` accepts connections and never answers (a storage process that hangs);
`restore()` forwards again. Used by the storage-outage tests and the soak (tools/soak.py).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from typing import Literal

Mode = Literal["forward", "cut", "freeze"]
_CHUNK = 64 * 1024


def _reset(connection: socket.socket) -> None:
    """Close with RST (SO_LINGER 0), as a dead peer or a firewall would."""
    with contextlib.suppress(OSError):
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        connection.close()


class TcpProxy:
    """Forward 127.0.0.1:`port` to 127.0.0.1:`target_port`, or cut or freeze it on demand."""

    def __init__(self, target_port: int, port: int = 0) -> None:
        self.target_port = target_port
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", port))
        self._listener.listen(256)
        self.port = int(self._listener.getsockname()[1])
        self.mode: Mode = "forward"
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._held: list[socket.socket] = []
        self._stopped = False
        self._thread = threading.Thread(target=self._accept_loop, name="tcp-proxy", daemon=True)

    def start(self) -> TcpProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped = True
        with contextlib.suppress(OSError):
            self._listener.close()
        self._drop_all()

    def cut(self) -> None:
        """Reset every open connection and every new one until `restore()`."""
        with self._lock:
            self.mode = "cut"
        self._drop_all()

    def freeze(self) -> None:
        """Hold every new connection open without an answer (and drop the open ones) until `restore()`."""
        with self._lock:
            self.mode = "freeze"
        self._drop_all()

    def restore(self) -> None:
        """Forward again (held connections are reset: their callers time out or retry)."""
        with self._lock:
            self.mode = "forward"
            held, self._held = self._held, []
        for connection in held:
            _reset(connection)

    def retarget(self, target_port: int) -> None:
        """Forward new connections to another port (a storage process restarted elsewhere)."""
        with self._lock:
            self.target_port = target_port

    # -- internals ------------------------------------------------------------------------------

    def _drop_all(self) -> None:
        with self._lock:
            connections, self._open = self._open, set()
        for connection in connections:
            _reset(connection)

    def _accept_loop(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                mode, target_port = self.mode, self.target_port
                if mode == "freeze":
                    self._held.append(client)
                    continue
            if mode == "cut":
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", target_port), timeout=5)
                upstream.settimeout(None)
            except OSError:
                _reset(client)
                continue
            with self._lock:
                self._open.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(_CHUNK)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                dropped = source in self._open
                self._open.discard(source)
                self._open.discard(sink)
            if dropped:
                with contextlib.suppress(OSError):
                    sink.shutdown(socket.SHUT_WR)
            with contextlib.suppress(OSError):
                source.close()
