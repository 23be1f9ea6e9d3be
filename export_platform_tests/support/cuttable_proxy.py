"""A TCP proxy on 127.0.0.1 that can take the server behind it away mid-stream and bring it back on
the same port: what a client sees when a server crashes and restarts."""

from __future__ import annotations

import contextlib
import socket
import threading

from export_platform_tests.support.ports import free_port


class CuttableProxy:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.upstream_bytes = 0
        self.cuts = 0
        self._cut_at: int | None = None
        self._drop_after: int | None = None
        self.drops_left = 0
        self._lock = threading.Lock()
        self._connections: list[socket.socket] = []
        self._listener: socket.socket | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def up(self) -> None:
        """Accept connections (again) on the proxy's port."""
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        """Cut every open connection and refuse new ones, as a crashed server would."""
        with self._lock:
            listener, self._listener = self._listener, None
            connections, self._connections = self._connections, []
            self._cut_at = None
            self.cuts += 1
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def go_down_after(self, upstream_bytes: int) -> None:
        """Go down once this many more bytes went from clients to the server."""
        with self._lock:
            self._cut_at = self.upstream_bytes + upstream_bytes

    def drop_connections_after(self, downstream_bytes: int, count: int) -> None:
        """Cut the next ``count`` connections to which the server sends this many bytes; stay up for
        the others."""
        with self._lock:
            self._drop_after, self.drops_left = downstream_bytes, count

    def _drop(self, *connection: socket.socket) -> None:
        for conn in connection:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    server.close()
                    return
                self._connections += [client, server]
            threading.Thread(target=self._pipe, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, False), daemon=True).start()

    def _dropping(self, sent: int) -> bool:
        """Whether a connection the server has sent ``sent`` bytes is one to cut now."""
        with self._lock:
            if self._drop_after is None or sent < self._drop_after or self.drops_left <= 0:
                return False
            self.drops_left -= 1
            return True

    def _pipe(self, source: socket.socket, sink: socket.socket, upstream: bool) -> None:
        sent = 0
        try:
            while chunk := source.recv(65536):
                sent += len(chunk)
                if not upstream and self._dropping(sent):
                    self._drop(source, sink)
                    return
                if upstream:
                    with self._lock:
                        self.upstream_bytes += len(chunk)
                        cut = self._cut_at is not None and self.upstream_bytes >= self._cut_at
                    if cut:
                        self.down()
                        return
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)
