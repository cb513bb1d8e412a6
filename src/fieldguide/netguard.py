"""Refuse (and record) any network connection to a non-loopback address.

The test suite installs this in its own process and, through ``tests/netguard/
sitecustomize.py``, in every Python subprocess it starts (snippets, the site build).
Violations are appended to the file named by FIELDGUIDE_NETGUARD_LOG.
"""

from __future__ import annotations

import ipaddress
import os
import socket

_installed = False


def _is_local(address) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = address[0] if isinstance(address, tuple) and address else address
    if isinstance(host, bytes):
        host = host.decode()
    if host in ("localhost", "", None):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False  # a host name other than localhost would need DNS: not local


def _record(address) -> None:
    log = os.environ.get("FIELDGUIDE_NETGUARD_LOG")
    if log:
        with open(log, "a") as handle:
            handle.write(f"pid {os.getpid()}: connection to {address!r} refused\n")


def install() -> None:
    global _installed
    if _installed:
        return
    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address):
            _record(address)
            raise ConnectionRefusedError(f"fieldguide network guard: no connections to {address!r}")
        return original_connect(self, address)

    def connect_ex(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address):
            _record(address)
            return 111  # ECONNREFUSED
        return original_connect_ex(self, address)

    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    _installed = True
