"""The agenda list: drawn line by line, the cursor only on items, keys and clicks."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult

from crmtui.widgets.agenda_list import AgendaList, AgendaRow

EMPTY = {"today": "Nothing due today"}


def rows(overdue: int, upcoming: int) -> list[AgendaRow]:
    """`overdue` then `upcoming` reminders, about "person N"."""
    made = [
        AgendaRow(f"o{n}", "overdue", "yesterday", f"person {n}", "call") for n in range(overdue)
    ]
    made += [
        AgendaRow(f"u{n}", "upcoming", "Mon 09:00", f"later {n}", "visit", contact_id=f"c{n}")
        for n in range(upcoming)
    ]
    return made


class _Counting(AgendaList):
    """Counts the item lines it builds."""

    built = 0

    def _line(self, row: AgendaRow) -> Text:
        type(self).built += 1
        return super()._line(row)


class _Host(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.selected = 0
        self.moves = 0

    def compose(self) -> ComposeResult:
        yield _Counting(id="agenda")

    def on_agenda_list_selected(self) -> None:
        self.selected += 1

    def on_agenda_list_highlighted(self) -> None:
        self.moves += 1


async def test_a_long_agenda_draws_only_the_lines_on_screen():
    app = _Host()
    async with app.run_test(size=(80, 12)) as pilot:
        agenda = app.query_one(_Counting)
        _Counting.built = 0
        agenda.show_rows(rows(5000, 3), empty=EMPTY)
        await pilot.pause()
        assert len(agenda.rows) == 5003
        assert 0 < _Counting.built <= 12 * 2  # the visible lines (each at most drawn twice)
        assert agenda.current is not None and agenda.current.key == "o0"  # skips the heading
        lines = [agenda.render_line(y).text for y in range(3)]
        assert lines[0].startswith("Overdue (5000)")
        assert "person 0" in lines[1]


async def test_keys_move_over_items_only_and_keep_in_view():
    app = _Host()
    async with app.run_test(size=(80, 12)) as pilot:
        agenda = app.query_one(_Counting)
        agenda.focus()
        agenda.show_rows(rows(3, 2), empty=EMPTY)
        await pilot.pause()
        await pilot.press("down", "down", "down")
        # o0 -> o1 -> o2 -> (Today heading, its empty note, Upcoming heading) -> u0
        assert agenda.current is not None and agenda.current.key == "u0"
        await pilot.press("up")
        assert agenda.current.key == "o2"
        await pilot.press("end")
        assert agenda.current.key == "u1"
        await pilot.press("home")
        assert agenda.current.key == "o0"
        await pilot.press("up")  # nothing above the first item: stays
        assert agenda.current.key == "o0"
        agenda.show_rows(rows(200, 0), empty=EMPTY)
        await pilot.press("pagedown", "pagedown")
        await pilot.pause()
        assert agenda.current is not None and agenda.current.key not in ("o0", "o1")
        top = round(agenda.scroll_offset.y)
        assert agenda.highlighted is not None
        assert top <= agenda.highlighted < top + agenda.scrollable_content_region.height
        await pilot.press("enter")
        await pilot.pause()
        assert app.selected == 1
        assert app.moves >= 6


async def test_new_rows_keep_the_cursor_on_the_same_item():
    app = _Host()
    async with app.run_test(size=(80, 12)) as pilot:
        agenda = app.query_one(_Counting)
        agenda.show_rows(rows(3, 2), empty=EMPTY)
        agenda.focus()
        await pilot.press("down")
        assert agenda.current is not None and agenda.current.key == "o1"
        agenda.show_rows(rows(3, 2)[1:], empty=EMPTY)  # o0 done: o1 is first now
        assert agenda.current is not None and agenda.current.key == "o1"
        agenda.show_rows([r for r in rows(3, 2) if r.key != "o1"], empty=EMPTY)
        assert agenda.current is not None  # gone: the cursor lands on a nearby item
        agenda.show_rows([], empty=EMPTY)
        assert agenda.current is None


async def test_a_click_on_an_item_chooses_it_and_one_on_a_heading_does_not():
    app = _Host()
    async with app.run_test(size=(80, 12)) as pilot:
        agenda = app.query_one(_Counting)
        agenda.show_rows(rows(2, 2), empty=EMPTY)
        agenda.focus()  # focused, it has a border: its lines start one row down
        await pilot.pause()
        await pilot.click(_Counting, offset=(5, 1))  # "Overdue (2)"
        assert app.selected == 0
        await pilot.click(_Counting, offset=(5, 3))  # person 1
        await pilot.pause()
        assert agenda.current is not None and agenda.current.key == "o1"
        assert app.selected == 1


async def test_a_phone_is_shown_whole_or_not_at_all():
    # Before: "Send the brochure   98 38…" at 80 columns: a number cut is no number.
    app = _Host()
    async with app.run_test(size=(80, 12)) as pilot:
        agenda = app.query_one(_Counting)
        phone = "+45 98 38 12 34"
        agenda.show_rows(
            [
                AgendaRow(
                    "a",
                    "overdue",
                    "Sun 08 Nov 08:00",
                    "Märta Åberg (Kjær ApS)",
                    "Send the brochure",
                    phone,
                ),
                AgendaRow("b", "overdue", "Sun 08 Nov 08:00", "Ann", "Call", phone),
            ],
            empty=EMPTY,
        )
        await pilot.pause()
        cut, short = (agenda.render_line(y).text.rstrip() for y in (1, 2))
        assert "98" not in cut and cut.endswith("Send the brochure"), cut
        assert short.endswith(phone), short
