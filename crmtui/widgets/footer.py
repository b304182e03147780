"""The screens' footer: the active keys on one line, drawn by a single widget."""

from __future__ import annotations

from collections.abc import Hashable
from typing import NamedTuple

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.screen import Screen
from textual.strip import Strip
from textual.widget import Widget


class FooterKey(NamedTuple):
    """A key the footer shows."""

    key: str
    display: str
    """The key as the app displays it (`App.get_key_display`)."""
    enabled: bool
    tooltip: str
    id: str | None = None
    """The binding's id (the section keys are told apart by theirs)."""


class FooterItem(NamedTuple):
    """One key, or the keys of a binding group, with the label shown after them."""

    keys: tuple[FooterKey, ...]
    label: str
    group: Binding.Group | None
    """The binding group of a multi-key item; None for a single key."""


class _Hit(NamedTuple):
    """The cells a key occupies on the line, for the mouse."""

    start: int
    end: int
    key: str
    enabled: bool
    tooltip: str


class SteadyFooter(Widget, can_focus=False):
    """The screen's active keys, drawn as one line by one widget.

    Textual's Footer mounts a widget per key (30+ on a section) and styles, lays out
    and draws each: ~40 ms of a section's first visit and of start-up on the 2-core
    VM (bench/screens.py, bench/startup.py), and it rebuilt them on every bindings
    signal. This draws the same line (key, description, groups, the palette key on
    the right, dimmed keys for disabled actions) from one list, redrawn only when
    the keys it shows change. A click on a key presses it, as with Footer.
    """

    ALLOW_SELECT = False
    COMPONENT_CLASSES = {
        "footer-key--key",
        "footer-key--description",
        "footer-key--separator",
        "footer-key--hover",
    }
    DEFAULT_CSS = """
    SteadyFooter {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
        & > .footer-key--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        & > .footer-key--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        & > .footer-key--separator {
            color: $foreground 20%;
        }
        & > .footer-key--hover {
            color: $footer-key-foreground;
            background: $block-hover-background;
        }
    }
    """

    TAIL_ID_PREFIX = "app.section."
    """Keys whose binding id starts so (the app's section keys) stay whole when narrow.

    When the keys do not fit, these are drawn bare ("f1 f2 … f8") at the right end
    and the screen's own keys are cut instead: every section stays one key away at
    80 columns, and `?` names what each key does.
    """

    _shown: Hashable = None
    """What the line was last built from; None until the first build."""

    def __init__(self, *, show_command_palette: bool = True) -> None:
        super().__init__()
        self.show_command_palette = show_command_palette
        self.items: list[FooterItem] = []
        """The keys shown, left to right (the palette key apart)."""
        self.palette: FooterItem | None = None
        """The command palette's key, drawn at the right end, if shown."""
        self._hits: list[_Hit] = []
        self.hovered_key: int | None = None
        """Index of the key under the mouse pointer, if any."""

    def on_mount(self) -> None:
        """Follow the screen's bindings, and show them now rather than after a signal."""
        self.screen.bindings_updated_signal.subscribe(self, self.bindings_changed)
        self._rebuild()

    def on_unmount(self) -> None:
        """Stop following the screen's bindings."""
        self.screen.bindings_updated_signal.unsubscribe(self)

    def bindings_changed(self, screen: Screen[object]) -> None:
        """Rebuild after the next refresh, once the focus has settled."""
        if not screen.app.app_focus:
            return  # as Footer: no flicker while the terminal is in the background
        if self.is_attached and screen is self.screen:
            self.call_after_refresh(self._rebuild)

    def _rebuild(self) -> None:
        # Read when the rebuild runs, not when signalled: several signals in a row
        # (a screen sends some on every resume and focus change) cost one rebuild.
        if not self.is_attached:
            return
        active = self.screen.active_bindings
        keys = (
            self.show_command_palette,
            tuple(
                (binding, self.app.get_key_display(binding), enabled, tooltip)
                for _node, binding, enabled, tooltip in active.values()
            ),
        )
        if keys == self._shown:
            return
        self._shown = keys
        self.items = footer_items([key for key in keys[1] if key[0].show])
        self.palette = None
        if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE:
            found = active.get(self.app.COMMAND_PALETTE_BINDING)
            if found is not None:
                _node, binding, enabled, _tip = found
                key = FooterKey(
                    binding.key, self.app.get_key_display(binding), enabled, binding.description
                )
                self.palette = FooterItem((key,), binding.description, None)
        self.refresh()

    # ------------------------------------------------------------------ drawing

    def render_line(self, y: int) -> Strip:
        """The keys, cut short before the palette key, which keeps the right end."""
        width = self.size.width
        if y != 0 or width <= 0:
            return Strip.blank(width, self.rich_style)
        left = self._keys_line(tight=False)
        room = width - (12 if self.palette is not None else 0)
        if left.x > room:
            # One blank between keys instead of two, before anything is cut: at 120
            # columns a card's keys and every section key then fit ("f7 Duplicates").
            left = self._keys_line(tight=True)
        # Then, if that is all it takes for every key to stay whole, the palette key
        # drops its word ("▏^p", 3 cells; `?` lists it too); otherwise keys are cut.
        tail = self._tail_items()
        if left.x <= width - 3 or not tail:
            short = self.palette is not None and room < left.x <= width - 3
            return self._with_palette(left, width, short=short)
        left = self._keys_line(tight=True, tail=False)
        # Room the screen's own keys leave is spent on the sections' names, in order.
        spare = width - left.x - self._right(tail, short=True, first_hit=0).x
        named = 0
        for item in tail:
            spare -= cell_len(item.label) + 1
            if spare < 0:
                break
            named += 1
        return self._with_palette(left, width, tail=tail, named=named)

    def _tail_items(self) -> list[FooterItem]:
        return [item for item in self.items if _is_tail(item, self.TAIL_ID_PREFIX)]

    def _keys_line(self, *, tight: bool, tail: bool = True) -> _Line:
        left = _Line(self)
        for item in self.items:
            if not tail and _is_tail(item, self.TAIL_ID_PREFIX):
                continue
            if item.group is None:
                left.key(item.keys[0], item.label, compact=tight)
            elif item.group.compact:  # " []" then " Pair "
                left.space()
                for k in item.keys:
                    left.key(k, "", bare=True)
                left.label(f" {item.label} ")
            else:  # " [ " " ] " then "Pair "
                for k in item.keys:
                    left.space()
                    left.key(k, "", bare=True)
                    left.space()
                left.label(f"{item.label} ")
        return left

    def _with_palette(
        self,
        left: _Line,
        width: int,
        *,
        short: bool = False,
        tail: list[FooterItem] | None = None,
        named: int = 0,
    ) -> Strip:
        if self.palette is None and not tail:
            self._hits = left.hits
            return Strip(left.segments).crop_extend(0, width, self.rich_style)
        short = short or bool(tail)
        right = self._right(tail or [], short=short, first_hit=0, named=named)
        cut = max(0, width - right.x)
        kept = [h._replace(end=min(h.end, cut)) for h in left.hits if h.start < cut]
        # Drawn again knowing how many keys stay on the left, for the hover's index.
        right = self._right(tail or [], short=short, first_hit=len(kept), named=named)
        self._hits = kept + [h._replace(start=h.start + cut, end=h.end + cut) for h in right.hits]
        return Strip.join(
            [Strip(left.segments).crop_extend(0, cut, self.rich_style), Strip(right.segments)]
        ).crop(0, width)

    def _right(
        self, tail: list[FooterItem], *, short: bool, first_hit: int, named: int = 0
    ) -> _Line:
        """The right end: the section keys when narrow (the first `named` named), then the palette key."""
        right = _Line(self, first_hit=first_hit)
        if tail:
            right.space()
        for index, item in enumerate(tail):
            if index < named:
                right.key(item.keys[0], item.label, compact=True)
            else:
                right.key(item.keys[0], "", bare=True)
                right.space()
        if self.palette is not None:
            right.separator()
            # Footer's palette key is compact ("^p palette"), padded right by one cell.
            right.key(self.palette.keys[0], "" if short else self.palette.label, compact=True)
        return right

    # ------------------------------------------------------------------- mouse

    def _hit_at(self, x: int) -> int | None:
        for index, hit in enumerate(self._hits):
            if hit.start <= x < hit.end:
                return index
        return None

    def on_mouse_move(self, event: events.MouseMove) -> None:
        """Highlight the key under the pointer and show its tooltip."""
        index = self._hit_at(event.x)
        if index != self.hovered_key:
            self.hovered_key = index
            self.tooltip = self._hits[index].tooltip or None if index is not None else None
            self.refresh()

    def on_leave(self, event: events.Leave) -> None:
        """No key is highlighted once the pointer leaves."""
        if self.hovered_key is not None:
            self.hovered_key = None
            self.tooltip = None
            self.refresh()

    def on_mouse_down(self, event: events.MouseDown) -> None:
        """Press the key clicked; a disabled one rings the bell, as with Footer."""
        index = self._hit_at(event.x)
        if index is None:
            return
        hit = self._hits[index]
        if hit.enabled:
            self.app.simulate_key(hit.key)
        else:
            self.app.bell()


def _is_tail(item: FooterItem, prefix: str) -> bool:
    ident = item.keys[0].id
    return item.group is None and ident is not None and ident.startswith(prefix)


def footer_items(bindings: list[tuple[Binding, str, bool, str]]) -> list[FooterItem]:
    """What Footer would show for these (binding, key display, enabled, tooltip)s.

    One item per action (its first binding), in order; consecutive bindings of one
    binding group become a single item with the group's label.
    """
    firsts: dict[str, tuple[Binding, str, bool, str]] = {}
    for entry in bindings:
        firsts.setdefault(entry[0].action, entry)
    items: list[FooterItem] = []
    run: list[tuple[Binding, str, bool, str]] = []

    def close_run() -> None:
        group = run[0][0].group if run else None
        keys = [FooterKey(b.key, display, enabled, tip, b.id) for b, display, enabled, tip in run]
        if group is not None and len(run) > 1:
            # Footer gives a grouped key its binding's description as tooltip.
            keys = [
                k._replace(tooltip=k.tooltip or b.description)
                for k, (b, *_r) in zip(keys, run, strict=True)
            ]
            items.append(FooterItem(tuple(keys), group.description, group))
        else:
            items.extend(
                FooterItem((k,), b.description, None) for k, (b, *_r) in zip(keys, run, strict=True)
            )
        run.clear()

    for entry in firsts.values():
        if run and entry[0].group is not run[0][0].group:
            close_run()
        run.append(entry)
    close_run()
    return items


class _Line:
    """Segments of the footer line being drawn, and where each key landed."""

    def __init__(self, footer: SteadyFooter, first_hit: int = 0) -> None:
        self.footer = footer
        self.base = footer.rich_style
        self.segments: list[Segment] = []
        self.hits: list[_Hit] = []
        self.x = 0
        self.first_hit = first_hit
        """Index of this line's first key among all the footer's keys (for the hover)."""

    def put(self, text: str, style: Style) -> None:
        """Add text in a style."""
        self.segments.append(Segment(text, style))
        self.x += cell_len(text)

    def space(self) -> None:
        """One blank cell."""
        self.put(" ", self.base)

    def label(self, text: str) -> None:
        """A group's label."""
        self.put(text, self.base + self._part("footer-key--description"))

    def separator(self) -> None:
        """The bar before the palette key."""
        # Not partial: its colour has an alpha, blended over the footer's background.
        self.put("▏", self.footer.get_component_rich_style("footer-key--separator"))

    def key(self, k: FooterKey, label: str, *, bare: bool = False, compact: bool = False) -> None:
        """A key and its description, styled as Footer styles a FooterKey.

        The key's own style (hovered or not, dimmed when disabled) lies under the
        key and description styles; `bare` draws the key alone (a group's keys),
        `compact` without the padding around the key.
        """
        own = self.base
        if self.footer.hovered_key == self.first_hit + len(self.hits):
            own += self._part("footer-key--hover")
        if not k.enabled:
            own += Style(dim=True)
        start = self.x
        key_style = own + self._part("footer-key--key")
        if bare or not label:
            self.put(k.display, key_style)
        elif compact:
            self.put(k.display, key_style)
            self.put(f" {label}", own + self._part("footer-key--description"))
            self.put(" ", own)
        else:
            self.put(f" {k.display} ", key_style)
            self.put(f"{label} ", own + self._part("footer-key--description"))
        self.hits.append(_Hit(start, self.x, k.key, k.enabled, k.tooltip))

    def _part(self, name: str) -> Style:
        return self.footer.get_component_rich_style(name, partial=True)
