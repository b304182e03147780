"""What the server counts for `/metrics` (Prometheus text format, prometheus-client).

Requests and their latency per route and status, push batch sizes, ops by their
answer (applied, superseded, conflict, rejected), pulls by the database that served
them, requests refused by the rate limit; and, read at scrape time, the feed's head,
the entries a push committed but has not numbered yet, and how many feed numbers the
replica is behind. Several uvicorn workers each count their own: set
PROMETHEUS_MULTIPROC_DIR (an empty directory) before `crm server run` and a scrape
of any worker sums them (prometheus-client's multiprocess mode).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from crmtui.server.feed import feed_head, has_pending

ROUTES = frozenset(
    {"/healthz", "/readyz", "/metrics", "/v1/whoami", "/v1/push", "/v1/pull", "/v1/reseed"}
)
"""Paths counted by name; anything else is `other` (labels must stay few)."""

REQUESTS = Counter("crm_requests", "HTTP requests answered", ["route", "status"])
LATENCY = Histogram(
    "crm_request_seconds",
    "Time to answer a request",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
BATCH = Histogram(
    "crm_push_batch_ops",
    "Ops in a push batch",
    buckets=(1, 5, 10, 50, 100, 250, 500, 1000),
)
OPS = Counter("crm_ops", "Pushed ops by their answer", ["status"])
PULLS = Counter("crm_pulls", "Pull pages by the database they were read from", ["read_from"])
LIMITED = Counter("crm_rate_limited", "Requests refused with 429 by the per-device limit")


def route_of(path: str) -> str:
    """The route label of a request path."""
    return path if path in ROUTES else "other"


def count_push(results: list[dict[str, object]]) -> None:
    """Count a push batch's size and its ops' answers."""
    BATCH.observe(len(results))
    counts: dict[str, int] = {}
    for result in results:
        status = str(result["status"])
        counts[status] = counts.get(status, 0) + 1
    for status, count in counts.items():
        OPS.labels(status).inc(count)


class _FeedCollector(Collector):
    """The feed's state, read from the databases when scraped."""

    def __init__(self, engine: Engine, replica: Engine | None) -> None:
        self.engine = engine
        self.replica = replica

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Yield the feed head, pending entries and the replica's lag."""
        try:
            with self.engine.connect() as conn:
                head = feed_head(conn)
                pending = has_pending(conn)
        except SQLAlchemyError:
            return  # the database is down: /readyz says so; no figure is better than a wrong one
        yield GaugeMetricFamily("crm_feed_head", "The highest committed feed number", value=head)
        yield GaugeMetricFamily(
            "crm_feed_unnumbered",
            "1 while committed push entries wait for their feed numbers",
            value=int(pending),
        )
        if self.replica is None:
            return
        try:
            with self.replica.connect() as conn:
                lag = head - feed_head(conn)
        except SQLAlchemyError:
            lag = head  # unreachable: every pull goes to the primary
        yield GaugeMetricFamily(
            "crm_feed_replica_lag",
            "Feed numbers the replica has not replayed (pulls past them go to the primary)",
            value=max(lag, 0),
        )


def exposition(engine: Engine, replica: Engine | None) -> tuple[bytes, str]:
    """The `/metrics` body and its content type."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        from prometheus_client import multiprocess

        counted = CollectorRegistry()
        multiprocess.MultiProcessCollector(counted)
    else:
        counted = REGISTRY
    feed = CollectorRegistry(auto_describe=False)
    feed.register(_FeedCollector(engine, replica))
    return generate_latest(counted) + generate_latest(feed), CONTENT_TYPE_LATEST
