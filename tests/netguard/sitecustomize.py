"""Network guard for the test session: refuse every connection that is not to loopback.

Loaded in the pytest process by ``tests/conftest.py`` and in every subprocess the tests start
(this directory is put first on ``PYTHONPATH``, so Python imports it as ``sitecustomize`` at
start-up). A refused attempt raises ``ConnectionRefusedError`` and is appended to the file named
by ``GANZOO_NET_GUARD_LOG``; the session fails if that file is not empty at the end.
"""

from __future__ import annotations

import ipaddress
import os
import socket

LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def _is_loopback(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    if not isinstance(host, str):
        return False
    if host.lower() in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _refuse(what: str, host: object) -> None:
    message = f"test network guard: {what} {host!r} refused; tests may only use 127.0.0.1"
    log = os.environ.get("GANZOO_NET_GUARD_LOG")
    if log:
        with open(log, "a") as handle:
            handle.write(f"pid {os.getpid()}: {message}\n")
    raise ConnectionRefusedError(111, message)


def install() -> None:
    """Patch the socket module (idempotent)."""
    if getattr(socket, "_ganzoo_net_guard", False):
        return
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def getaddrinfo(host, *args, **kwargs):
        if host is not None and not _is_loopback(host):
            _refuse("name lookup of", host)
        return real_getaddrinfo(host, *args, **kwargs)

    def _check(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
            _refuse("connection to", address[0])

    def connect(self, address):
        _check(self, address)
        return real_connect(self, address)

    def connect_ex(self, address):
        _check(self, address)
        return real_connect_ex(self, address)

    socket.getaddrinfo = getaddrinfo
    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    socket._ganzoo_net_guard = True


if os.environ.get("GANZOO_NET_GUARD") == "1":
    install()
