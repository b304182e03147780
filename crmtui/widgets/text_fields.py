"""Text fields whose editing keys act in the order they were typed.

Textual delivers a key to the focused widget, which inserts printable characters at
once; a key the widget binds (ctrl+u, home, end, backspace, enter ...) is not run there
but bubbles up to the App, which runs the binding only when the bubbled event reaches it.
Keys that arrive together (type-ahead on a slow laptop, a paste of keystrokes, tmux
send-keys) are therefore applied out of order: ctrl+u then "Smythe" inserted "Smythe"
first and deleted it afterwards, leaving the name empty; End then " Jr" replaced the
selected name with " Jr" before moving the cursor. These fields run their own bindings
in their own message queue, so every key is applied in the order it was typed.
"""

from __future__ import annotations

from textual import events
from textual.actions import parse
from textual.widget import Widget
from textual.widgets import Input


class KeysInOrder:
    """Mixin for a text widget: run the widget's own key bindings where the key arrives."""

    async def _on_key(self, event: events.Key) -> None:
        # `self` is a Widget here (the mixin is only combined with Input and TextArea).
        widget = self
        assert isinstance(widget, Widget)
        for key in (event.key, *event.aliases):
            for binding in widget._bindings.key_to_bindings.get(key, ()):
                if binding.priority:
                    # Priority bindings were offered by the App before the key came here.
                    continue
                _, name, params = parse(binding.action)
                if widget.check_action(name, params) is False:
                    continue
                event.stop()
                event.prevent_default()
                await widget.run_action(binding.action)
                return
        # Not ours: the next class in the MRO (Input/TextArea) handles the key as usual.


class FieldInput(KeysInOrder, Input):
    """A one-line text field whose keys act in the order they were typed."""
