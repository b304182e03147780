"""SteadyDataTable draws one-line Text cells itself: the same cells as DataTable's drawing."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from crmtui.widgets.steady_table import SteadyDataTable, one_line_cell
from tests.budget import examples

STYLES = st.sampled_from(
    ["", "bold", "italic", "strike red", "dim", "bold magenta on white", "underline #ff8800"]
)
WORDS = st.text(alphabet=st.sampled_from(list("abc XYZ-.@éß日本語Ωж[]")), min_size=0, max_size=40)


@st.composite
def cells(draw: st.DrawFn) -> Text:
    """A one-line Text with a base style, a few spans and an overflow."""
    plain = draw(WORDS)
    text = Text(
        plain,
        style=draw(STYLES),
        no_wrap=draw(st.sampled_from([None, True, False])),
        overflow=draw(st.sampled_from([None, "ellipsis", "crop", "fold"])),
    )
    for _ in range(draw(st.integers(0, 3))):
        if plain:
            start = draw(st.integers(0, len(plain) - 1))
            end = draw(st.integers(start + 1, len(plain)))
            text.stylize(draw(STYLES.filter(bool)), start, end)
    return text


class _Tables(App[None]):
    def compose(self) -> ComposeResult:
        yield SteadyDataTable(cursor_type="row", zebra_stripes=True)


def flat(lines: list[list[Segment]]) -> list[tuple[str, Style | None]]:
    """Each cell character with its style: equal drawings, however segmented."""
    return [(ch, seg.style) for line in lines for seg in line for ch in seg.text]


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.lists(cells(), min_size=3, max_size=3), min_size=1, max_size=4),
       widths=st.lists(st.integers(1, 30), min_size=3, max_size=3))  # fmt: skip
async def test_one_line_cells_are_drawn_as_datatable_draws_them(rows, widths):
    app = _Tables()
    async with app.run_test(size=(100, 12)) as pilot:
        table = app.query_one(SteadyDataTable)
        for n, width in enumerate(widths):
            table.add_column(f"c{n}", width=width)
        for row in rows:
            table.add_row(*row)
        await pilot.pause()
        base = Style(color="white", bgcolor="black")
        for r in range(-1, len(rows)):  # -1: the header
            for c, width in enumerate(widths):
                for cursor, hover in ((False, False), (True, False), (False, True)):
                    table._cell_render_cache.clear()
                    ours = table._render_cell(r, c, base, width + 2, cursor, hover)
                    table._cell_render_cache.clear()
                    theirs = DataTable._render_cell(table, r, c, base, width + 2, cursor, hover)
                    assert flat(ours) == flat(theirs), (r, c, width)
                    cell = rows[r][c] if r >= 0 else table.ordered_columns[c].label
                    if cell.no_wrap is not False:  # drawn by one_line_cell: check it alone too
                        styles = table._get_styles_to_render_cell(
                            r == -1,
                            False,
                            False,
                            hover,
                            cursor,
                            table.show_cursor,
                            table._show_hover_cursor,
                            table.cursor_foreground_priority == "css",
                            table.cursor_background_priority == "css",
                        )
                        meta = Style.from_meta({"row": r, "column": c})
                        direct = one_line_cell(
                            app.console, cell, width + 2, 1, base + meta + styles[0], styles[1]
                        )
                        assert flat([direct]) == flat(theirs)
