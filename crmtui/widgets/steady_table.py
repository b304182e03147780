"""A DataTable that keeps its drawn cells when a style update leaves its styles as they were."""

from __future__ import annotations

from typing import TypeVar

from rich.cells import cell_len
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.widget import Widget
from textual.widgets import DataTable

CellType = TypeVar("CellType")


class SteadyDataTable(DataTable[CellType]):
    """Textual's DataTable, minus the redraw of every cell each time its screen is shown.

    A screen coming back (a section switch, a modal closed) re-applies the stylesheet
    to every widget, and DataTable answers each such update by dropping all its
    caches: every visible cell is rendered again through Rich (~1 ms a cell on the
    2-core VM; a 20-row, 10-column table is 200 ms of a section switch,
    bench/screens.py). Nothing a cell looks like can change unless the table's own
    rules, its inherited style, its pseudo-classes (focus, hover), the theme or the
    stylesheet's sources did; when none did, the caches are kept.
    """

    _styled_with: tuple[object, ...] | None = None
    """What the cached cells were drawn with; None until the first style update."""

    def _style_key(self) -> tuple[object, ...]:
        return (
            self.app.theme,
            len(self.app.stylesheet.source),
            self.pseudo_classes,
            self.rich_style,
            tuple(sorted(self.styles.get_rules().items())),
        )

    def notify_style_update(self) -> None:
        """Drop the cached cells only when the styles they were drawn with changed."""
        Widget.notify_style_update(self)  # the widget's own style caches, always
        key = self._style_key()
        if key == self._styled_with:
            return
        self._styled_with = key
        super().notify_style_update()

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> list[list[Segment]]:
        """A one-line Text cell (or header) drawn directly; anything else as DataTable draws it.

        DataTable draws every cell through Rich's generic pipeline (Styled, Padding,
        render_lines, crop and pad): ~0.15 ms a cell, so a first paint of 50 rows of
        5 columns spent ~40 ms there (bench/startup.py, bench/screens.py). A cell that
        is one line of Text in a row of height 1 needs only cutting to the width;
        `one_line_cell` gives the same cells and styles (tests/test_steady_table.py
        compares the two on generated cells).
        """
        pad = self.cell_padding
        header = row_index == -1
        if row_index < -1 or column_index < 0 or width <= 2 * pad:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        row_key = self._header_row_key if header else self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        if row_key is None or column_key is None:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        if (self.header_height if header else self.rows[row_key].height) != 1:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        # DataTable's own cache key, so its invalidation rules hold for these cells too.
        cache_key = (
            row_key,
            column_key,
            base_style,
            cursor,
            hover,
            self._show_hover_cursor,
            self._update_count,
            self._pseudo_class_state,
        )
        cached = self._cell_render_cache.get(cache_key)
        if cached is not None:
            return cached
        cell = self._get_row_renderables(row_index).cells[column_index]
        # A Text that asks to wrap (no_wrap=False) shows its first wrapped line.
        if (
            type(cell) is not Text
            or cell.no_wrap is False
            or "\n" in cell.plain
            or "\t" in cell.plain
        ):
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        fixed = not header and (row_index < self.fixed_rows or column_index < self.fixed_columns)
        component_style, post_style = self._get_styles_to_render_cell(
            header,
            False,
            fixed,
            hover,
            cursor,
            self.show_cursor,
            self._show_hover_cursor,
            self.cursor_foreground_priority == "css",
            self.cursor_background_priority == "css",
        )
        pre_style = base_style + Style.from_meta({"row": row_index, "column": column_index})
        lines = [
            one_line_cell(
                self.app.console, cell, width, pad, pre_style + component_style, post_style
            )
        ]
        self._cell_render_cache[cache_key] = lines
        return lines


def one_line_cell(
    console: Console, cell: Text, width: int, pad: int, pre_style: Style, post_style: Style
) -> list[Segment]:
    """The segments DataTable draws for a one-line Text cell `width` cells wide.

    As Rich would: the text cut to the room left by the padding (with the cell's
    overflow, "fold" by default, which for one line is a plain cut), padded with
    unstyled blanks, then every segment styled `pre_style + own style + post_style`.
    """
    inner = width - 2 * pad
    text = cell
    if cell_len(cell.plain) > inner:
        text = cell.copy()
        text.truncate(inner, overflow=cell.overflow or "fold")
    blank = Style.null()
    segments = [Segment(" " * pad, blank)] if pad else []
    if text.spans:
        segments.extend(text.render(console, end=""))
    elif text.plain:
        # Text.render leaves out the base style when there are no spans; Rich's
        # pipeline joins the lines first, which turns it into a span.
        segments.append(Segment(text.plain, console.get_style(text.style, default=blank)))
    fill = inner - cell_len(text.plain) + pad
    if fill:
        segments.append(Segment(" " * fill, blank))
    styled = []
    for segment in segments:
        style = pre_style + segment.style
        styled.append(Segment(segment.text, style + post_style if post_style else style))
    return styled
