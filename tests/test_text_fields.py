"""Keys typed together reach a text field in the order they were typed (see text_fields)."""

from __future__ import annotations

from collections.abc import Callable

from textual import events
from textual.app import App, ComposeResult
from textual.widgets import Input, TextArea

from crmtui.widgets.text_area_field import FieldArea
from crmtui.widgets.text_fields import FieldInput


class _Form(App[None]):
    def __init__(self, make: Callable[[], Input | TextArea]) -> None:
        super().__init__()
        self.make = make
        self.submitted: list[str] = []

    def compose(self) -> ComposeResult:
        self.field = self.make()
        yield self.field

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.submitted.append(event.value)


def _burst(app: App[None], keys: list[str]) -> None:
    """Post every key at once, as a terminal delivers type-ahead (no wait between keys)."""
    for key in keys:
        character = " " if key == "space" else key if len(key) == 1 else None
        app.post_message(events.Key(key, character))


def _typed(text: str) -> list[str]:
    return ["space" if c == " " else c for c in text]


async def _run(make: Callable[[], Input | TextArea], keys: list[str]) -> _Form:
    app = _Form(make)
    async with app.run_test() as pilot:
        app.field.focus()
        await pilot.pause()
        _burst(app, keys)
        await pilot.pause()
        await pilot.pause()
    return app


async def test_clear_then_type_then_enter_keeps_the_typed_text() -> None:
    app = await _run(
        lambda: FieldInput("Edward Smith"), ["ctrl+u", *_typed("Edward Smythe"), "enter"]
    )
    assert app.submitted == ["Edward Smythe"]


async def test_end_then_type_appends_instead_of_replacing_the_selection() -> None:
    app = await _run(lambda: FieldInput("Edward Smith"), ["end", *_typed(" Jr"), "enter"])
    assert app.submitted == ["Edward Smith Jr"]


async def test_home_and_backspace_in_a_burst_edit_where_the_cursor_was() -> None:
    keys = [
        "home",
        *_typed("Dr "),
        "end",
        "backspace",
        "backspace",
        "backspace",
        *_typed("ythe"),
        "enter",
    ]
    app = await _run(lambda: FieldInput("Edward Smith"), keys)
    assert app.submitted == ["Dr Edward Smythe"]


async def test_text_area_applies_its_bindings_in_order() -> None:
    app = await _run(lambda: FieldArea("Speaks German."), ["end", *_typed(" And Czech.")])
    assert isinstance(app.field, TextArea)
    assert app.field.text == "Speaks German. And Czech."


async def test_the_plain_textual_input_reorders_them() -> None:
    """Why FieldInput exists: if this starts failing, Textual fixed the order itself."""
    keys = ["ctrl+u", *_typed("Smythe"), "enter"]
    app = await _run(lambda: Input("Edward Smith"), keys)
    assert app.submitted != ["Smythe"]
