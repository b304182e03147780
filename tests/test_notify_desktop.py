"""`crm notify` on a real desktop stack: a session bus and dunst on a virtual X display.

The test starts `dbus-daemon --session`, `Xvfb` and `dunst` (the notification server many
tiling-window-manager users run), lets `crm notify` speak to org.freedesktop.Notifications
on that bus, then reads what dunst received from its own history. Without the programs it
skips, unless CRMTUI_REQUIRE_PG=1 (CI, where .ci/run installs them): then it fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from jeepney.wrappers import DBusErrorResponse
from typer.testing import CliRunner

from crmtui.cli import app
from crmtui.store.database import open_store

runner = CliRunner()
pytestmark = pytest.mark.usefixtures("fixed_day")
PROGRAMS = ("dbus-daemon", "Xvfb", "dunst")
READY_WITHIN_S = 30  # a bound on waiting for the servers, not a measurement


def _need_programs() -> None:
    missing = [p for p in PROGRAMS if shutil.which(p) is None]
    if not missing:
        return
    message = f"{', '.join(missing)} not installed (apt-get install dbus xvfb dunst)"
    if os.environ.get("CRMTUI_REQUIRE_PG") == "1":
        pytest.fail(f"required in CI (.ci/run installs them): {message}")
    pytest.skip(message)


@dataclass
class Desktop:
    """A session bus address, and (when asked) a notification server on it."""

    bus: str
    procs: list[subprocess.Popen[Any]]


def _stop(procs: list[subprocess.Popen[Any]]) -> None:
    for proc in reversed(procs):
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# A session bus that starts no service by itself: the system's service files would spawn
# a second dunst (with no display) the moment a test asks for the notification service.
BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir={tmp}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


def _session_bus(tmp: Path) -> tuple[str, subprocess.Popen[str]]:
    config = tmp / "session.conf"
    config.write_text(BUS_CONFIG.format(tmp=tmp), encoding="utf-8")
    proc = subprocess.Popen(
        ["dbus-daemon", f"--config-file={config}", "--nofork", "--print-address"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    return proc.stdout.readline().strip(), proc


def _call(
    bus: str, interface: str, method: str, signature: str = "", body: tuple[Any, ...] = ()
) -> Any:
    from jeepney import DBusAddress, new_method_call
    from jeepney.io.blocking import open_dbus_connection
    from jeepney.wrappers import unwrap_msg

    target = DBusAddress(
        "/org/freedesktop/Notifications",
        bus_name="org.freedesktop.Notifications",
        interface=interface,
    )
    with open_dbus_connection(bus=bus) as conn:
        return unwrap_msg(
            conn.send_and_get_reply(new_method_call(target, method, signature, body), timeout=5)
        )


@pytest.fixture
def bus_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Desktop]:
    """A session bus with no notification server on it."""
    _need_programs()
    address, proc = _session_bus(tmp_path)
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
    try:
        yield Desktop(address, [proc])
    finally:
        _stop([proc])


@pytest.fixture
def desktop(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Desktop]:
    """Xvfb, a session bus and dunst on both, ready to take notifications."""
    _need_programs()
    read, write = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-nolisten", "tcp", "-screen", "0", "640x480x24"],
        pass_fds=(write,),
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    # Xvfb writes the number, then a newline: closing the pipe before the newline would
    # end Xvfb with SIGPIPE.
    answer = b""
    while not answer.endswith(b"\n"):
        chunk = os.read(read, 64)
        if not chunk:
            break
        answer += chunk
    os.close(read)
    display = answer.decode().strip()
    address, bus = _session_bus(tmp_path)
    procs: list[subprocess.Popen[Any]] = [xvfb, bus]
    config = tmp_path / "dunstrc"
    config.write_text("[global]\n", encoding="utf-8")
    env = {**os.environ, "DISPLAY": f":{display}", "DBUS_SESSION_BUS_ADDRESS": address}
    procs.append(
        subprocess.Popen(
            ["dunst", "-config", str(config)],
            env=env,
            stderr=(tmp_path / "dunst.log").open("wb"),
        )
    )
    try:
        deadline = time.monotonic() + READY_WITHIN_S
        while True:
            try:
                name = _call(address, "org.freedesktop.Notifications", "GetServerInformation")[0]
                break
            except (DBusErrorResponse, OSError) as exc:  # not up yet: the name has no owner
                if time.monotonic() > deadline:
                    log = (tmp_path / "dunst.log").read_text(errors="replace")[-800:]
                    pytest.fail(
                        f"dunst (DISPLAY=:{display}) did not take the notification service: {exc}; {log}"
                    )
                time.sleep(0.2)
        assert name == "dunst"
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
        yield Desktop(address, procs)
    finally:
        _stop(procs)


def _received(desktop: Desktop) -> list[tuple[str, str, str]]:
    """(app, summary, body) of every notification dunst got: closed, they are in its history."""
    _call(desktop.bus, "org.dunstproject.cmd0", "NotificationCloseAll")
    deadline = time.monotonic() + READY_WITHIN_S
    while True:
        (history,) = _call(desktop.bus, "org.dunstproject.cmd0", "NotificationListHistory")
        displayed = _call(
            desktop.bus,
            "org.freedesktop.DBus.Properties",
            "Get",
            "ss",
            ("org.dunstproject.cmd0", "displayedLength"),
        )[0][1]
        if displayed == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    return sorted((n["appname"][1], n["summary"][1], n["body"][1]) for n in history)


def crm(*args: str, code: int = 0) -> tuple[str, str]:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    return result.stdout, result.stderr


@pytest.fixture(autouse=True)
def _setup() -> None:
    Path(os.environ["CRMTUI_CONFIG"]).write_text('timezone = "Europe/Berlin"\n', encoding="utf-8")
    open_store(Path(os.environ["CRMTUI_DB"])).close()


def test_due_reminders_reach_the_notification_server_once(desktop: Desktop) -> None:
    crm("contact", "add", "Anna Müller", "--phone", "+49 30 22334455")
    crm("remind", "anna", "call back", "--due", "today 9:00")
    crm("remind", "anna", "send the offer", "--due", "today 8:00")
    crm("remind", "anna", "not yet", "--due", "today 18:00")
    out, err = crm("notify", "--via", "desktop")
    assert out == ""  # nothing fell back to the terminal
    assert "2 reminder(s) shown" in err
    received = _received(desktop)
    assert [(a, s) for a, s, _ in received] == [
        ("crmtui", "Reminder: call back"),
        ("crmtui", "Reminder: send the offer"),
    ]
    assert all("Anna Müller" in body and "+49 30 22334455" in body for *_, body in received)
    crm("notify", "--via", "desktop")
    assert len(_received(desktop)) == 2  # never the same reminder twice


def test_a_bus_without_a_notification_server_falls_back_to_the_terminal(bus_only: Desktop) -> None:
    crm("contact", "add", "Anna Müller")
    crm("remind", "anna", "call back", "--due", "today 9:00")
    out, err = crm("notify")
    assert out.startswith("reminder due ") and "call back (Anna Müller)" in out
    assert "desktop notifications failed" in err and "shown here instead" in err
    assert crm("notify")[0] == ""
