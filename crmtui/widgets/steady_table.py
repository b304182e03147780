"""A DataTable that keeps its drawn cells when a style update leaves its styles as they were."""

from __future__ import annotations

from typing import TypeVar

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
