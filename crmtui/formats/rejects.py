"""The rejected-rows file of an import: fix it and import it again.

CSV: the file's own header and cells, as read, plus a `reason` column (written
UTF-8 with the file's delimiter; an import ignores the `reason` column as a
column it does not know, listed once). vCard: each rejected card's raw text,
preceded by a `# reason` line, which the vCard reader skips as text outside any
card.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

REASON = "reason"


def default_path(source: Path, suffix: str) -> Path:
    """`<name>.rejects<suffix>` next to the input (a file, or a folder of cards)."""
    stem = source.name if source.is_dir() else source.stem
    return source.with_name(f"{stem}.rejects{suffix}")


def write_csv_rejects(
    path: Path, headers: Sequence[str], rows: Sequence[tuple[Sequence[str], str]], delimiter: str
) -> int:
    """Write rejected CSV rows (original cells, then the reason); returns how many."""
    width = len(headers)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter=delimiter)
        # A file that already has a reason column (a rejects file re-imported) keeps one.
        has_reason = bool(headers) and headers[-1].strip().lower() == REASON
        writer.writerow(list(headers) if has_reason else [*headers, REASON])
        for cells, reason in rows:
            padded = list(cells[:width]) + [""] * (width - len(cells))
            if has_reason:
                padded[-1] = reason
            else:
                padded.append(reason)
            writer.writerow(padded)
    return len(rows)


def write_card_rejects(path: Path, cards: Sequence[tuple[str, str]]) -> int:
    """Write rejected vCards (raw text), each under a `# reason` line; returns how many."""
    with path.open("w", encoding="utf-8", newline="") as out:
        for text, reason in cards:
            out.write(f"# {' '.join(reason.split())}\r\n")
            out.write(text.replace("\r\n", "\n").replace("\n", "\r\n"))
            if not text.endswith("\n"):
                out.write("\r\n")
    return len(cards)
