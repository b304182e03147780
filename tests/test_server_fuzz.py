"""Schemathesis against the server's OpenAPI schema: no 5xx, answers match the schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import negative_data_rejection

from crmtui.server import admin
from crmtui.server.app import make_server
from tests.budget import examples

# Schema-violating requests must be refused: schemathesis's own list of refusals, plus
# 413, the documented answer to a body over the size limit (a generated value far
# over its maxLength can make the whole body too large before anything is validated).
REFUSALS = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
CONFIG = SchemathesisConfig.from_dict(
    {"checks": {"negative_data_rejection": {"expected-statuses": [*REFUSALS, "5xx"]}}}
)

_TOKEN: dict[str, str] = {}
"""The fuzzing device's token, set by the fixture (Case objects carry no state of ours)."""


@pytest.fixture
def api_schema(tmp_path: Path) -> Any:
    app = make_server(str(tmp_path / "server.db"))
    engine = app.state.engine
    admin.add_territory(engine, "North")
    admin.add_rep(engine, "ann", "rep", ["North"])
    token = admin.issue_token(engine, "ann", "fuzz").token
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=CONFIG)
    _TOKEN["value"] = token
    return schema


lazy = schemathesis.pytest.from_fixture("api_schema")


@lazy.parametrize()
@settings(max_examples=examples(60), deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_never_fails_and_keeps_its_schema(case: Any) -> None:
    token = _TOKEN["value"]
    # A case made invalid in its headers (no Authorization) is made valid again by
    # the token added here, as schemathesis itself allows for a body the caller
    # replaces: that case cannot be expected to be refused. Every other check
    # (no server error, answers as the schema says) still runs on it.
    meta = case.meta
    header_negated = meta is not None and any(
        component.mode.is_negative
        for location, component in meta.components.items()
        if location == ParameterLocation.HEADER
    )
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token}"},
        excluded_checks=[negative_data_rejection] if header_negated else None,
    )
