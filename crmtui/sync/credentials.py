"""Where a device token is kept: the system keyring when one works, else a 0600 file.

The keyring is used only if the `keyring` package is importable and its backend
is a real one (not the "fail" or "null" backends of headless machines). The
fallback is `<user config dir>/crmtui/tokens/<device id>`, created with mode
0600 inside a 0700 folder, so other users on the machine cannot read it.
"""

from __future__ import annotations

import os
from pathlib import Path

SERVICE = "crmtui-sync"


def _keyring() -> object | None:
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return None
    backend = keyring.get_keyring()
    name = type(backend).__module__
    if isinstance(backend, fail.Keyring) or "null" in name.lower():
        return None
    return keyring


def token_dir() -> Path:
    """The folder of token files (used when there is no keyring)."""
    from platformdirs import user_config_dir

    return Path(user_config_dir("crmtui")) / "tokens"


def save_token(device_id: str, token: str) -> str:
    """Keep the token for this database's device; returns where it went."""
    ring = _keyring()
    if ring is not None:
        ring.set_password(SERVICE, device_id, token)  # type: ignore[attr-defined]
        return "the system keyring"
    folder = token_dir()
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    path = folder / device_id
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(token)
    path.chmod(0o600)
    return str(path)


def load_token(device_id: str) -> str | None:
    """The token saved for this device, or None."""
    ring = _keyring()
    if ring is not None:
        found = ring.get_password(SERVICE, device_id)  # type: ignore[attr-defined]
        if found:
            return str(found)
    path = token_dir() / device_id
    return path.read_text(encoding="utf-8").strip() if path.exists() else None
