"""Operations: /metrics in Prometheus format, JSON log lines, the per-device 429."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from crmtui.server.logs import JsonFormatter
from crmtui.server.ratelimit import RateLimit
from crmtui.sync.client import NetworkError, SyncClient
from tests.feed_support import new_contact, op
from tests.sync_support import BACKENDS, Team, server_url


@pytest.fixture(params=BACKENDS)
def team(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Team]:
    t = Team(server_url(request, tmp_path), tmp_path)
    yield t
    t.close()


def _metrics(team: Team) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    anon = team.http("")
    answer = anon.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }


def test_metrics_count_requests_batches_answers_and_the_feed(team: Team) -> None:
    _store, token = team.laptop("ann")
    http = team.http(token)
    before = _metrics(team)
    row, ops = new_contact(team.north)
    refused = op(row, "set", fld="territory_id", value=team.south)  # reps do not move records
    for batch in (ops, [refused]):
        body = {"device_id": "dev-ann", "ops": [o.model_dump() for o in batch]}
        assert http.post("/v1/push", json=body).status_code == 200
    assert http.get("/v1/pull").status_code == 200
    after = _metrics(team)

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert grew("crm_ops_total", status="applied") == 3
    assert grew("crm_ops_total", status="rejected") == 1
    assert grew("crm_push_batch_ops_count") == 2
    assert grew("crm_push_batch_ops_sum") == 4
    assert grew("crm_requests_total", route="/v1/push", status="200") == 2
    assert grew("crm_request_seconds_count", route="/v1/pull") == 1
    assert grew("crm_pulls_total", read_from="primary") == 1
    with team.engine.connect() as conn:
        from crmtui.server.feed import feed_head

        assert after[("crm_feed_head", ())] == feed_head(conn)
    assert after[("crm_feed_unnumbered", ())] == 0


def test_a_device_past_its_limit_is_answered_429_and_the_laptop_keeps_its_changes(
    team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    team.app.state.rate_limit = RateLimit(burst=3, per_second=0.001)
    store, token = team.laptop("ann")
    http = team.http(token)
    assert [http.get("/v1/whoami").status_code for _ in range(3)] == [200, 200, 200]
    limited = http.get("/v1/whoami")
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert "too many requests from this device" in limited.json()["detail"]
    # Another device is not held back by ann's.
    _other, bob_token = team.laptop("bob")
    assert team.http(bob_token).get("/v1/whoami").status_code == 200
    # The client says so and fails like an unreachable server: everything stays pending.
    with pytest.raises(NetworkError, match="busy for this device"):
        SyncClient(store, http).sync()


def test_rate_limit_refills_and_reads_its_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    limit = RateLimit(burst=2, per_second=1)
    assert limit.wait_for("d", now=0) == 0
    assert limit.wait_for("d", now=0) == 0
    assert limit.wait_for("d", now=0) == pytest.approx(1.0)
    assert limit.wait_for("d", now=1.0) == 0
    monkeypatch.setenv("CRMTUI_SERVER_RATE", "0")
    assert RateLimit.from_env() is None
    monkeypatch.setenv("CRMTUI_SERVER_RATE", "10/2")
    limit = RateLimit.from_env()
    assert limit is not None
    assert (limit.burst, limit.per_second) == (10, 2)
    monkeypatch.setenv("CRMTUI_SERVER_RATE", "lots")
    with pytest.raises(ValueError, match="burst/per_second"):
        RateLimit.from_env()


def test_every_request_is_one_json_log_line(team: Team, caplog: pytest.LogCaptureFixture) -> None:
    _store, token = team.laptop("ann")
    with caplog.at_level(logging.INFO, logger="crmtui.server"):
        assert team.http(token).get("/v1/whoami").status_code == 200
    records = [r for r in caplog.records if getattr(r, "event", None) == "request"]
    assert len(records) == 1
    line = json.loads(JsonFormatter().format(records[0]))
    assert line["event"] == "request"
    assert line["route"] == "/v1/whoami"
    assert line["status"] == 200
    assert line["level"] == "info"
    assert isinstance(line["ms"], float)
    assert line["device"]
