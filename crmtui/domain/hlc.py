"""Hybrid logical clock timestamps for the journal.

A timestamp is a fixed-width string `PPPPPPPPPPPPP-CCCCC` (physical milliseconds
since the epoch, zero padded, then a logical counter), so plain string comparison
orders timestamps; ties between devices are broken by device id in the merge rules.
"""

from __future__ import annotations

from dataclasses import dataclass

_MS_DIGITS = 13
_COUNTER_DIGITS = 5
_COUNTER_MAX = 10**_COUNTER_DIGITS - 1


@dataclass(frozen=True, order=True)
class HLC:
    """One hybrid logical clock reading."""

    millis: int
    counter: int = 0

    def encode(self) -> str:
        """Render as the sortable fixed-width string stored in the journal."""
        return f"{self.millis:0{_MS_DIGITS}d}-{self.counter:0{_COUNTER_DIGITS}d}"

    @classmethod
    def decode(cls, text: str) -> HLC:
        """Parse a string made by `encode`."""
        millis, _, counter = text.partition("-")
        if len(millis) != _MS_DIGITS or len(counter) != _COUNTER_DIGITS:
            raise ValueError(f"not an HLC timestamp: {text!r}")
        return cls(int(millis), int(counter))


def _carry(millis: int, counter: int) -> HLC:
    # A counter that outgrows its digits would break text ordering: carry it over
    # into the next millisecond instead (still after everything seen so far).
    if counter > _COUNTER_MAX:
        return HLC(millis + 1, 0)
    return HLC(millis, counter)


def tick(last: HLC | None, now_millis: int) -> HLC:
    """Return the next local timestamp after `last`, given the wall clock."""
    if last is None or now_millis > last.millis:
        return HLC(now_millis, 0)
    return _carry(last.millis, last.counter + 1)


def receive(last: HLC | None, remote: HLC, now_millis: int) -> HLC:
    """Return the local timestamp after seeing `remote` (the HLC receive rule)."""
    candidates = [now_millis, remote.millis] + ([last.millis] if last else [])
    millis = max(candidates)
    counter = 0
    if last is not None and millis == last.millis and millis == remote.millis:
        counter = max(last.counter, remote.counter) + 1
    elif last is not None and millis == last.millis:
        counter = last.counter + 1
    elif millis == remote.millis:
        counter = remote.counter + 1
    return _carry(millis, counter)
