"""The app ends when its terminal goes away: a real `crm` on a real pty, then hung up."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from crmtui.terminal_watch import HANGUP_EXIT, TerminalWatch, terminal_alive
from tests.app_support import copy_db

CRM = Path(sys.executable).parent / "crm"
# Generous bounds: they only stop a broken build from hanging the suite, they time nothing.
DRAWN_WITHIN_S = 90
ENDED_WITHIN_S = 60

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="ptys are POSIX")


def test_a_pty_answers_until_its_other_end_closes() -> None:
    master, slave = pty.openpty()
    try:
        assert terminal_alive(slave)
        os.close(master)
        assert not terminal_alive(slave)
    finally:
        os.close(slave)


def test_the_watch_tells_once_when_the_tty_is_gone() -> None:
    master, slave = pty.openpty()
    calls: list[str] = []
    watch = TerminalWatch(lambda: calls.append("gone"), slave)
    try:
        watch.check()
        assert calls == []
        os.close(master)
        watch.check()
        watch.check()
        watch.hung_up()
        assert calls == ["gone"]
    finally:
        os.close(slave)


def _read_until(master: int, needle: bytes, within_s: float) -> bytes:
    """What the app drew on the pty, up to the first `needle` (or all of it, at the bound)."""
    seen = b""
    waited = 0.0
    while needle not in seen and waited < within_s:
        ready, _, _ = select.select([master], [], [], 0.5)
        waited += 0.5
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return seen


def _start_app(db: Path) -> tuple[subprocess.Popen[bytes], int]:
    """`crm --db DB` on a new pty that is not its controlling terminal, like under make."""
    master, slave = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24"}
    proc = subprocess.Popen(
        [str(CRM), "--db", str(db)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    drawn = _read_until(master, b"Contacts", DRAWN_WITHIN_S)
    if b"Contacts" not in drawn:
        proc.kill()
        proc.wait()
        os.close(master)
        pytest.fail(f"the app did not draw its first screen: {drawn[-400:]!r}")
    return proc, master


@pytest.fixture
def demo_db(demo_template: Path, tmp_path: Path) -> Path:
    return copy_db(demo_template, tmp_path / "demo.db")


def test_closing_the_terminal_ends_the_app_even_without_sighup(demo_db: Path) -> None:
    # The pty is not the app's controlling terminal, so no SIGHUP is sent when it
    # closes (what happened under `make demo`): only the watch can notice.
    proc, master = _start_app(demo_db)
    try:
        os.close(master)
        code = proc.wait(timeout=ENDED_WITHIN_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail("the app kept running after its terminal closed")
    assert code == HANGUP_EXIT


def test_sighup_ends_the_app_through_its_shutdown(demo_db: Path) -> None:
    proc, master = _start_app(demo_db)
    try:
        proc.send_signal(signal.SIGHUP)
        code = proc.wait(timeout=ENDED_WITHIN_S)
        # A normal shutdown gives the terminal its main screen back.
        restored = _read_until(master, b"\x1b[?1049l", 5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail("SIGHUP did not end the app")
    finally:
        os.close(master)
    assert code == HANGUP_EXIT
    assert b"\x1b[?1049l" in restored
