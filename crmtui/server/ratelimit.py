"""A per-device request limit: a token bucket per device, in each worker process.

A laptop's sync is a handful of requests (a push per 500 ops, a pull per page), so
the default lets a burst of 120 requests through and refills 4 a second; a device
past it is answered 429 with `Retry-After`, which the client reports as "try again
later" (exit 75, everything stays pending). CRMTUI_SERVER_RATE=`burst/per_second`
sets it (`0` turns it off); `crm server run` applies the default when it is unset,
an app built in-process (the tests) has no limit unless it is set. Each worker keeps its own buckets, so with N workers a
device may get up to N times the rate; the limit is a guard against a runaway
client, not an accounting.
"""

from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import dataclass, field

DEFAULT = "120/4"
ENV = "CRMTUI_SERVER_RATE"


@dataclass
class RateLimit:
    """Token buckets keyed by device id."""

    burst: float
    per_second: float
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_env(cls) -> RateLimit | None:
        """The limit CRMTUI_SERVER_RATE names (None when it is `0`)."""
        text = os.environ.get(ENV, "0").strip()
        if text == "0":
            return None
        try:
            burst, rate = (float(part) for part in text.split("/"))
        except ValueError:
            raise ValueError(
                f"CRMTUI_SERVER_RATE must be burst/per_second (e.g. {DEFAULT}) or 0, not {text!r}"
            ) from None
        if burst < 1 or rate <= 0:
            raise ValueError(f"CRMTUI_SERVER_RATE needs a burst >= 1 and a rate > 0: {text!r}")
        return cls(burst, rate)

    def wait_for(self, device_id: str, now: float | None = None) -> float:
        """Take one request from the device's bucket: 0, or the seconds until it may retry."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, at = self._buckets.get(device_id, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.per_second)
            if tokens >= 1:
                self._buckets[device_id] = (tokens - 1, now)
                return 0.0
            self._buckets[device_id] = (tokens, now)
            return (1 - tokens) / self.per_second


def retry_after(seconds: float) -> str:
    """The `Retry-After` value (whole seconds, at least 1)."""
    return str(max(1, math.ceil(seconds)))
