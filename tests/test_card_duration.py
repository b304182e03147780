"""How a card shows a call's length: seconds under a minute, as the quick log does."""

from __future__ import annotations

from crmtui.screens.cards.contact_card import format_duration


def test_a_call_under_a_minute_is_shown_in_seconds_not_as_one_minute():
    assert format_duration(4) == "4 s"  # was "1 min"
    assert format_duration(59) == "59 s"
    assert format_duration(60) == "1 min"
    assert format_duration(125) == "2 min"
    assert format_duration(3600) == "1 h"
    assert format_duration(4200) == "1 h 10 min"
    assert format_duration(None) == "" and format_duration(0) == ""
