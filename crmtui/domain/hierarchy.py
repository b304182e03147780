"""Depths in a parent-child hierarchy (territories): how deep each node sits."""

from __future__ import annotations

from collections.abc import Mapping


def depths(parents: Mapping[str, str | None]) -> dict[str, int]:
    """Each node's number of ancestors (a cycle stops the walk instead of looping)."""
    found: dict[str, int] = {}
    for node in parents:
        depth, at, seen = 0, parents.get(node), {node}
        while at is not None and at not in seen:
            seen.add(at)
            depth, at = depth + 1, parents.get(at)
        found[node] = depth
    return found
