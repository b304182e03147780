"""`crm dedupe scan`'s scan, run in a child process for the app: off its GIL, and killable.

The scan is pure Python (about 30 s for 100k contacts, see docs/performance.md).
In a thread of the app it holds the GIL in 5 ms slices and every keystroke waits
its turn (a section switch went from 0.25 s to 3 s); it also cannot be stopped
halfway, so quitting or rescanning would wait for it. In a child process the app
keeps its speed, and a cancelled scan is simply killed.

The child is `python -m crmtui.quality.dedupe_job DB THRESHOLD`: it reads the file
read-only with `load_people` and `scan` from `quality.dedupe` (the CLI's pairs) and
writes length-prefixed pickles to stdout: ("contacts", n) once the contacts are
read, then ("found", pairs) or ("error", reason). Only this module reads them back,
from a child it started itself.
"""

from __future__ import annotations

import pickle
import queue
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, BinaryIO

from crmtui.quality.dedupe import Candidate, load_people, scan

POLL_SECONDS = 0.2
_LENGTH = struct.Struct(">Q")


class DedupeScanError(RuntimeError):
    """The scan in the child process failed; the message says why."""


def _send(out: BinaryIO, kind: str, payload: object) -> None:
    data = pickle.dumps((kind, payload), protocol=pickle.HIGHEST_PROTOCOL)
    out.write(_LENGTH.pack(len(data)) + data)
    out.flush()


def child_main(args: list[str]) -> int:
    """The child: scan the database named in `args` and report on stdout."""
    from crmtui.search.lookup import connect

    out = sys.stdout.buffer
    try:
        db_path, threshold = Path(args[0]), float(args[1])
        db = connect(db_path)
        try:
            people = load_people(db)
        finally:
            db.close()
        _send(out, "contacts", len(people))
        _send(out, "found", scan(people, threshold=threshold))
    except Exception as exc:  # noqa: BLE001 (every failure goes to the parent, said plainly)
        _send(out, "error", f"{type(exc).__name__}: {exc}")
        return 1
    return 0


def _read_frames(stream: IO[bytes], inbox: queue.Queue[tuple[str, Any]]) -> None:
    """Hand every message of the child to `inbox`; ("eof", None) when it stops talking."""
    try:
        while header := stream.read(_LENGTH.size):
            if len(header) < _LENGTH.size:
                break
            (size,) = _LENGTH.unpack(header)
            inbox.put(pickle.loads(stream.read(size)))
    finally:
        inbox.put(("eof", None))


def scan_in_child(
    db_path: Path,
    *,
    threshold: float,
    on_contacts: Callable[[int], None],
    cancelled: Callable[[], bool],
) -> list[Candidate] | None:
    """Scan the database at `db_path` in a child process; None when `cancelled()` turned true.

    `on_contacts(n)` is called once the contacts are read and the comparing starts.
    Blocks the calling thread (a worker), never the caller's event loop.
    """
    child = subprocess.Popen(
        [sys.executable, "-m", "crmtui.quality.dedupe_job", str(db_path), str(threshold)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        # Nothing of the child may reach the app's terminal.
        stderr=subprocess.DEVNULL,
    )
    assert child.stdout is not None
    inbox: queue.Queue[tuple[str, Any]] = queue.Queue()
    reader = threading.Thread(
        target=_read_frames, args=(child.stdout, inbox), name="crm-dedupe-reader", daemon=True
    )
    reader.start()
    try:
        while True:
            if cancelled():
                return None
            try:
                kind, payload = inbox.get(timeout=POLL_SECONDS)
            except queue.Empty:
                continue
            if kind == "contacts":
                on_contacts(int(payload))
            elif kind == "found":
                return list(payload)
            elif kind == "error":
                raise DedupeScanError(str(payload))
            else:
                code = child.wait(timeout=5)
                raise DedupeScanError(f"the scan stopped without an answer (exit code {code})")
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=5)
        reader.join(timeout=5)  # the pipe is at EOF once the child is gone
        child.stdout.close()


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1:]))
