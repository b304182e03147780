"""A real Radicale (CardDAV/CalDAV) server for the dav tests, and a 'phone' that edits it.

The server runs as its own process (`python -m radicale`) on a free port with a
plain htpasswd file, storage in the test's folder, so each test starts empty.
The phone is a plain httpx client doing what a phone's sync does: PUT, GET and
DELETE of single cards and calendar objects.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

USER = "rep"
PASSWORD = "s3cret"


@dataclass
class Radicale:
    """A running server: its URL and the account the tests use."""

    url: str
    user: str
    password: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def radicale(folder: Path) -> Iterator[Radicale]:
    """Start Radicale in `folder`, wait until it answers, stop it at the end."""
    folder.mkdir(parents=True, exist_ok=True)
    users = folder / "users"
    users.write_text(f"{USER}:{PASSWORD}\n")
    port = _free_port()
    config = folder / "config"
    config.write_text(
        f"[server]\nhosts = 127.0.0.1:{port}\n"
        f"[auth]\ntype = htpasswd\nhtpasswd_filename = {users}\nhtpasswd_encryption = plain\n"
        f"[storage]\nfilesystem_folder = {folder / 'collections'}\n"
        "[rights]\ntype = owner_only\n[logging]\nlevel = warning\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "radicale", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    err = proc.stderr.read().decode() if proc.stderr else ""
                    raise RuntimeError(f"radicale did not start: {err}") from None
                time.sleep(0.05)  # a readiness poll, not a timing assertion
        yield Radicale(url, USER, PASSWORD)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stderr:
            proc.stderr.close()


class Phone:
    """What a phone's CardDAV/CalDAV sync does to the server, one resource at a time."""

    def __init__(self, server: Radicale) -> None:
        self.http = httpx.Client(auth=(server.user, server.password), timeout=10)

    def get(self, href: str) -> str:
        """A resource's text."""
        r = self.http.get(href)
        r.raise_for_status()
        return r.text

    def put(self, href: str, text: str, content_type: str = "text/vcard") -> None:
        """Write a resource (no precondition, as a phone that just saves)."""
        self.http.put(href, content=text, headers={"Content-Type": content_type}).raise_for_status()

    def delete(self, href: str) -> None:
        """Remove a resource."""
        self.http.delete(href).raise_for_status()

    def close(self) -> None:
        """Close the client."""
        self.http.close()
