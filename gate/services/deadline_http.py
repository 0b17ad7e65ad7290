"""HTTP under one overall deadline, to an address already checked: the transport of callbacks.

A per-read timeout does not bound a request: a server that sends one byte every few seconds resets it forever. Here
every wait on the socket (connect, TLS handshake, send, each receive of the status line and headers) gets only what
is left of one deadline, and running out raises ``DeliveryTooSlow``. The connection goes to the checked address
(gate.services.fetch: no second DNS answer), while TLS still verifies, and SNI still names, the host.
"""

from __future__ import annotations

import http.client
import io
import socket
import ssl
import time
from typing import TYPE_CHECKING, Any

from gate.services.fetch import Target

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer


class DeliveryTooSlow(TimeoutError):
    """The store did not answer within the delivery's overall deadline."""

    def __init__(self) -> None:
        super().__init__("the store did not answer within the delivery deadline")


class _DeadlineSocket:
    """A connected socket whose every send and receive gets only what is left of one overall deadline: a store
    that trickles its answer a byte at a time never resets a per-read timeout."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock, self._deadline = sock, deadline

    def _arm(self) -> None:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise DeliveryTooSlow()
        self._sock.settimeout(left)

    def sendall(self, data: bytes) -> None:
        self._arm()
        try:
            self._sock.sendall(data)
        except TimeoutError:  # the socket's timeout was what is left of the deadline
            raise DeliveryTooSlow() from None

    def recv_into(self, buffer: WriteableBuffer, nbytes: int = 0) -> int:
        self._arm()
        try:
            return self._sock.recv_into(buffer, nbytes)
        except TimeoutError:
            raise DeliveryTooSlow() from None

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self))

    def close(self) -> None:
        self._sock.close()


class _DeadlineReader(io.RawIOBase):
    def __init__(self, sock: _DeadlineSocket) -> None:
        self._sock = sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        return self._sock.recv_into(buffer)


class PinnedConnection(http.client.HTTPConnection):
    """An HTTP(S) connection to the checked address under one deadline (TLS still verifies the host name)."""

    def __init__(self, target: Target, deadline: float) -> None:
        super().__init__(str(target.address), target.port)
        self._target, self._deadline = target, deadline

    def connect(self) -> None:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise DeliveryTooSlow()
        try:
            sock = socket.create_connection((str(self._target.address), self._target.port), timeout=left)
            if self._target.scheme == "https":  # the handshake runs under the same (shrinking) timeout
                sock.settimeout(max(self._deadline - time.monotonic(), 0.001))
                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self._target.host)
        except TimeoutError:
            raise DeliveryTooSlow() from None
        self.sock = _DeadlineSocket(sock, self._deadline)
