"""Structured logs: one JSON object a line on stderr, for the server's own events.

`crm server run` installs it on the `crmtui.server` logger; every request is one
line (`event: request` with route, status, milliseconds, device, ops), so a log
shipper can index the fields instead of parsing text.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

LOGGER = logging.getLogger("crmtui.server")
FIELDS = ("event", "route", "method", "status", "ms", "device", "ops", "read_from", "detail")


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object: time, level, message and the known fields."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line."""
        data: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "level": record.levelname.lower(),
            "msg": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                data[name] = value
        if record.exc_info:
            data["error"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def install(level: int = logging.INFO) -> None:
    """Send the server's log records to stderr as JSON lines (once per process)."""
    if any(isinstance(h.formatter, JsonFormatter) for h in LOGGER.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    LOGGER.addHandler(handler)
    LOGGER.setLevel(level)
    LOGGER.propagate = False
