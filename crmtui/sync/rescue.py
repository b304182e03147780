"""Rescue files: ops of this laptop the server has not accepted, kept as JSON lines.

The first line names the file and the database it came from
(`{"crmtui_rescue": 1, "device_id": ...}`), every other line is one wire `Op`.
`crm sync rescue replay FILE` sends them again through the normal push; files
written before the header existed are one op per line and are accepted when
every op is in this database's own journal.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from crmtui.domain.hlc import HLC
from crmtui.store.types import utcnow
from crmtui.sync.wire import Op

HEADER = "crmtui_rescue"
VERSION = 1
MAX_LINE = 200_000
"""A line longer than any op the push takes is not a rescue line."""


class RescueError(ValueError):
    """The file cannot be replayed here; the message names the file and the line."""


class ForeignRescue(RescueError):
    """The file was written by another database (its ops are not this laptop's)."""


def write_rescue_file(directory: Path, device: str, ops: Iterable[Op], tag: str = "") -> Path:
    """Write ops to a new rescue file under `directory`; returns its path."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = HLC(int(utcnow().timestamp() * 1000), 0).encode()
    path = directory / f"rescue-{stamp}{tag}.jsonl"
    n = 1
    while path.exists():
        path = directory / f"rescue-{stamp}{tag}-{n}.jsonl"
        n += 1
    with path.open("w", encoding="utf-8") as out:
        out.write(json.dumps({HEADER: VERSION, "device_id": device}) + "\n")
        for op in ops:
            out.write(json.dumps(op.model_dump()) + "\n")
    return path


@dataclass(frozen=True)
class RescueFile:
    """A rescue file read back: whose it is (None for a file without a header) and its ops."""

    device_id: str | None
    ops: list[Op]


def read_rescue_file(path: Path) -> RescueFile:
    """Read and check every line; RescueError names the first bad one."""
    try:
        with path.open("r", encoding="utf-8") as src:
            lines = src.read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise RescueError(f"cannot read {path}: {exc}") from exc
    device: str | None = None
    ops: list[Op] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if len(line) > MAX_LINE:
            raise RescueError(
                f"{path} line {number}: longer than any op ({len(line):,} characters)"
            )
        try:
            raw = json.loads(line)
        except ValueError as exc:
            raise RescueError(f"{path} line {number}: not JSON ({exc})") from exc
        if number == 1 and isinstance(raw, dict) and HEADER in raw:
            if raw.get(HEADER) != VERSION or not isinstance(raw.get("device_id"), str):
                raise RescueError(f"{path} line 1: not a rescue file header this crmtui reads")
            device = raw["device_id"]
            continue
        try:
            ops.append(Op.model_validate(raw))
        except ValidationError as exc:
            where = ".".join(str(p) for p in exc.errors()[0].get("loc", ())) or "op"
            raise RescueError(
                f"{path} line {number}: not an op ({where}: {exc.errors()[0]['msg']})"
            ) from exc
    if not ops and device is None:
        raise RescueError(f"{path}: not a rescue file (no header, no ops)")
    return RescueFile(device, ops)


def check_owner(rescue: RescueFile, path: Path, db: sqlite3.Connection, me: str) -> None:
    """Refuse a file of another database: its ops would be pushed as this laptop's."""
    if rescue.device_id is not None:
        if rescue.device_id != me:
            raise ForeignRescue(
                f"{path} was written by another database (device {rescue.device_id}, this one is"
                f" {me}): replay it on the laptop that wrote it"
            )
        return
    for op in rescue.ops:
        found = db.execute(
            "SELECT 1 FROM journal WHERE device_id = ? AND entity = ? AND row_id = ? AND hlc = ?",
            (me, op.entity, op.row_id, op.hlc),
        ).fetchone()
        if found is None:
            raise ForeignRescue(
                f"{path}: op {op.op_id} ({op.entity} {op.row_id}) is not in this database's"
                " journal: replay the file on the laptop that wrote it"
            )
