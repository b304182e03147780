"""Schemathesis against the server's OpenAPI schema: no 5xx, answers match the schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from crmtui.server import admin
from crmtui.server.app import make_server

_TOKEN: dict[str, str] = {}
"""The fuzzing device's token, set by the fixture (Case objects carry no state of ours)."""


@pytest.fixture
def api_schema(tmp_path: Path) -> Any:
    app = make_server(str(tmp_path / "server.db"))
    engine = app.state.engine
    admin.add_territory(engine, "North")
    admin.add_rep(engine, "ann", "rep", ["North"])
    token = admin.issue_token(engine, "ann", "fuzz").token
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    _TOKEN["value"] = token
    return schema


lazy = schemathesis.pytest.from_fixture("api_schema")


@lazy.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_never_fails_and_keeps_its_schema(case: Any) -> None:
    token = _TOKEN["value"]
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"})
