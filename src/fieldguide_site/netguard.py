"""Refuse (and record) any network connection to a non-loopback address, and any DNS lookup
of a name other than localhost.

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


def _is_address(host) -> bool:
    try:
        ipaddress.ip_address(str(host.decode() if isinstance(host, bytes) else host).split("%")[0])
        return True
    except ValueError:
        return False


def _record(what) -> None:
    log = os.environ.get("FIELDGUIDE_NETGUARD_LOG")
    if log:
        shown = what if isinstance(what, str) else f"connection to {what!r}"
        with open(log, "a") as handle:
            handle.write(f"pid {os.getpid()}: {shown} refused\n")


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

    original_getaddrinfo = socket.getaddrinfo
    original_gethostbyname = socket.gethostbyname
    original_gethostbyname_ex = socket.gethostbyname_ex

    def refuse_lookup(host):
        # An address literal needs no DNS; connect() judges it. Any other name but localhost would.
        if not _is_local((host,)) and not _is_address(host):
            _record(f"DNS lookup of {host!r}")
            raise socket.gaierror(socket.EAI_NONAME, f"fieldguide network guard: no DNS lookup of {host!r}")

    def getaddrinfo(host, *args, **kwargs):
        refuse_lookup(host)
        return original_getaddrinfo(host, *args, **kwargs)

    def gethostbyname(host):
        refuse_lookup(host)
        return original_gethostbyname(host)

    def gethostbyname_ex(host):
        refuse_lookup(host)
        return original_gethostbyname_ex(host)

    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    socket.getaddrinfo = getaddrinfo
    socket.gethostbyname = gethostbyname
    socket.gethostbyname_ex = gethostbyname_ex
    _installed = True
