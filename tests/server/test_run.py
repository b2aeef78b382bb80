"""Starting a server instance (app/server/run.py) on a host name with more than one address."""

from __future__ import annotations

import socket
import threading
import urllib.request

import pytest
from archive_kit import make_archive

from app.server.run import ServerInstance


def _v6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _v6_loopback(), reason="no IPv6 loopback here")
def test_a_host_name_with_two_addresses_is_served_on_both(tmp_path, monkeypatch):
    # Where /etc/hosts says "localhost" is 127.0.0.1 and ::1, waitress opens a socket on each and
    # returns a MultiSocketServer, which has no effective_port: start() failed with AttributeError.
    real = socket.getaddrinfo

    def both_loopbacks(host, port, *args, **kwargs):
        if host == "localhost":
            return real("127.0.0.1", port, *args, **kwargs) + real("::1", port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", both_loopbacks)
    ctx, _admin = make_archive(tmp_path / "data", messages=5)
    instance = ServerInstance(ctx, host="localhost", port=0, threads=2, workers=False)
    try:
        address = instance.start()
        assert address.startswith("http://localhost:")
        port = int(address.rsplit(":", 1)[1])
        serving = threading.Thread(target=instance.serve_forever, daemon=True)
        serving.start()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10) as answer:
            assert answer.status == 200
    finally:
        instance.stop()
        instance.join()
        ctx.close()
