"""A TCP relay on a free 127.0.0.1 port whose target can be changed: an endpoint that a connection
used to point at and that now answers for other state (another account, region or emulator)."""

from __future__ import annotations

import socket
import threading


class Relay:
    """``Relay(("127.0.0.1", port)).start()``: forwards each connection to the current target.

    ``retarget`` closes the connections in flight, so a client with keep-alive sockets reaches the
    new target on its next request, as it would a moved endpoint.
    """

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopped = False
        self.accepted = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Relay:
        threading.Thread(target=self._accept, daemon=True, name=f"relay-{self.port}").start()
        return self

    def retarget(self, target: tuple[str, int]) -> None:
        with self._lock:
            self.target = target
            for sock in list(self._open):
                _close(sock)
            self._open.clear()

    def stop(self) -> None:
        self._stopped = True
        _close(self._server)
        self.retarget(self.target)

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=10)
            except OSError:
                _close(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                self.accepted += 1
                self._open.update((client, upstream))
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(src, dst), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            _close(src)
            _close(dst)
            with self._lock:
                self._open.discard(src)
                self._open.discard(dst)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
