"""The multi-line text field whose keys act in the order typed (see text_fields).

Apart from text_fields so that the screens with one-line fields only (Contacts is the
first screen) do not import Textual's TextArea at start-up.
"""

from __future__ import annotations

from textual.widgets import TextArea

from crmtui.widgets.text_fields import KeysInOrder


class FieldArea(KeysInOrder, TextArea):
    """A multi-line text field whose keys act in the order they were typed."""
