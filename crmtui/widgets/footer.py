"""A Footer that rebuilds its keys only when the keys it would show have changed."""

from __future__ import annotations

from collections.abc import Hashable

from textual.screen import Screen
from textual.widgets import Footer


class SteadyFooter(Footer):
    """Textual's Footer, minus the rebuilds that would show the same keys again.

    Textual's Footer recomposes (unmounts and mounts a widget per key) on every
    bindings signal, and a screen sends several on each suspend, resume and focus
    change, so switching sections cost ~3 rebuilds of ~10 keys each, on both the
    screen left and the screen shown: most of a section switch's time
    (bench/screens.py). The keys shown depend only on the screen's active
    bindings, so an unchanged set needs no rebuild.
    """

    _shown: Hashable = None
    """What the keys on screen were built from; None until the first build."""

    def bindings_changed(self, screen: Screen[object]) -> None:
        """Rebuild after the next refresh, as Footer does, if the keys have changed."""
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen:
            self.call_after_refresh(self._recompose_if_changed)

    def _keys_shown(self) -> Hashable:
        # Everything Footer.compose reads: the bindings (key, description, group,
        # tooltip...), whether each is enabled, how the app displays the key.
        return self.show_command_palette, tuple(
            (binding, self.app.get_key_display(binding), enabled, tooltip)
            for _node, binding, enabled, tooltip in self.screen.active_bindings.values()
        )

    async def _recompose_if_changed(self) -> None:
        # Read when the rebuild would run, not when signalled: several signals in a
        # row then cost one rebuild, as the state settles before any of them runs.
        if not self.is_attached:
            return
        keys = self._keys_shown()
        if keys == self._shown:
            return
        self._shown = keys
        await self.recompose()
