"""Dialling: the command filled with the number, never through a shell; call lengths."""

from __future__ import annotations

from pathlib import Path

import pytest

from crmtui.config import ConfigError, load_settings
from crmtui.domain.dialling import (
    DialError,
    call_length,
    check_dial_command,
    clean_number,
    dial_argv,
    timer_text,
)
from crmtui.screens.call_timer import CallTimer


def test_placeholders_are_filled_inside_each_word() -> None:
    assert dial_argv("xdg-open {uri}", "+49 30 2233-4455") == ["xdg-open", "tel:+493022334455"]
    assert dial_argv("xdg-open {uri}", "+49 30 22334455", "12") == [
        "xdg-open",
        "tel:+493022334455;ext=12",
    ]
    assert dial_argv('linphonec -c "call {number}"', "(0113) 228.1792") == [
        "linphonec",
        "-c",
        "call 01132281792",
    ]
    assert dial_argv("linphonecsh dial {sip}@pbx.example", "+44 113 1234") == [
        "linphonecsh",
        "dial",
        "sip:+441131234@pbx.example",
    ]
    assert dial_argv("open {tel}", "+44 113 1234", "9") == ["open", "tel:+441131234;ext=9"]
    assert dial_argv("softphone sip:{digits}@pbx.example ext={ext}", "+44 113", "7") == [
        "softphone",
        "sip:44113@pbx.example",
        "ext=7",
    ]


@pytest.mark.parametrize(
    "number", ["123; rm -rf ~", "$(reboot)", "+49 30 `id`", "12", "", "+49 30 1234 ext 5", "++49"]
)
def test_a_number_that_is_not_digits_is_never_dialled(number: str) -> None:
    with pytest.raises(DialError, match="not a number a phone can dial"):
        dial_argv("xdg-open {uri}", number)


def test_an_extension_must_be_digits() -> None:
    with pytest.raises(DialError, match="extension"):
        dial_argv("xdg-open {uri}", "+49 30 22334455", "12;x")


@pytest.mark.parametrize(
    ("command", "problem"),
    [("", "empty"), ("xdg-open tel:", "must hold {number}"), ("open 'tel:{uri}", "cannot be read")],
)
def test_a_bad_command_is_named(command: str, problem: str) -> None:
    with pytest.raises(DialError, match=problem):
        check_dial_command(command)


def test_the_config_refuses_a_command_without_a_number(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('dial_command = "xdg-open tel:"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"config.toml: dial_command must hold \{number\}"):
        load_settings(path)
    path.write_text('dial_command = "xdg-open {uri}"\n', encoding="utf-8")
    assert load_settings(path).dial_command == "xdg-open {uri}"


def test_clean_number_keeps_the_plus() -> None:
    assert clean_number(" +44 (0)113 228 1792 ") == "+4401132281792"


def test_lengths_as_a_rep_reads_them() -> None:
    assert [call_length(s) for s in (0, 45, 245, 3720)] == [
        "0 s",
        "45 s",
        "4 min 05 s",
        "1 h 02 min",
    ]
    assert [timer_text(s) for s in (5, 245, 3723)] == ["00:05", "04:05", "1:02:03"]


def test_the_timer_shows_who_and_how_long_and_stops_only_for_its_contact() -> None:
    shown: list[str | None] = []
    now = [100.0]
    timer = CallTimer(shown.append, clock=lambda: now[0])
    timer.start("c1", "Anna Müller", "+4930")
    now[0] = 165.4
    timer.tick()
    assert shown[-1] == "☎ 01:05 Anna Müller · c ends the call"
    assert timer.stop("someone-else") is None and timer.running is not None
    ended = timer.stop("c1")
    assert ended is not None and ended[1] == 65 and timer.running is None
    assert shown[-1] is None and timer.stop() is None


def test_an_ended_call_is_kept_until_taken_or_forgotten() -> None:
    shown: list[str | None] = []
    now = [100.0]
    timer = CallTimer(shown.append, clock=lambda: now[0])
    timer.start("c1", "Anna Müller", "+4930")
    now[0] = 165.4
    ended = timer.end()
    assert ended is not None and ended[1] == 65 and timer.running is None
    assert shown[-1] == "☎ ended 01:05 Anna Müller · c logs it"
    now[0] = 999.0  # the length is the call's, not the time since
    assert timer.stop("someone-else") is None and timer.ended is not None
    assert timer.stop("c1") == ended and timer.ended is None and shown[-1] is None
    timer.start("c1", "Anna Müller", "+4930")
    timer.end()
    timer.forget()
    assert timer.ended is None and timer.stop() is None and shown[-1] is None
