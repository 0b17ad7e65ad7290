"""A loopback TCP relay to PostgreSQL that a test can cut (a failover, a restart) or turn into a black hole (a
network path that drops everything: bytes are accepted and never delivered, no error is ever returned)."""

from __future__ import annotations

import socket
import threading


class TcpRelay:
    def __init__(self, target_port: int = 5432) -> None:
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.listener.listen(64)
        self.pairs: list[socket.socket] = []
        self.swallowed: list[socket.socket] = []  # connections accepted during a black hole, never forwarded
        self.open = True
        self.holed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, postgres_url: str) -> str:
        return postgres_url.replace("127.0.0.1:5432", f"127.0.0.1:{self.port}")

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.holed:
                self.swallowed.append(client)
                continue
            if not self.open:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            self.pairs += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                if not self.holed:  # in a black hole the bytes are taken and dropped: no error, no answer
                    b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        self.open = False
        self._shut(self.pairs)

    def black_hole(self) -> None:
        self.holed = True

    def restore(self) -> None:
        """The path works again. Sessions that lived through a black hole lost bytes: they end (as TCP would end
        them once its retransmissions ran out), and new connections are forwarded."""
        if self.holed:
            self._shut(self.pairs)
            self._shut(self.swallowed)
            self.holed = False
        self.open = True

    @staticmethod
    def _shut(sockets: list[socket.socket]) -> None:
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        sockets.clear()

    def close(self) -> None:
        self.holed = False
        self.cut()
        self._shut(self.swallowed)
        self.listener.close()
