"""Schemathesis against the intake app's OpenAPI schema (`POST /v1/intake/{form}`): no
5xx, answers as the schema says, schema-violating posts refused (4xx). Most cases are sent to
the published form with its key, so they reach validation, dedupe and routing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from crmtui.server import admin
from crmtui.server.db import make_server_engine, upgrade_server
from crmtui.server.intake_app import make_intake_app
from tests.budget import examples
from tests.intake_support import publish_form
from tests.test_server_fuzz import CONFIG

_KEY: dict[str, str] = {}


@pytest.fixture
def intake_schema(tmp_path: Path) -> Any:
    engine = make_server_engine(str(tmp_path / "server.db"))
    upgrade_server(engine)
    admin.add_territory(engine, "North")
    admin.add_rep(engine, "ann", "rep", ["North"])
    _KEY["value"] = publish_form(engine, rate=10_000)
    return schemathesis.openapi.from_asgi("/openapi.json", make_intake_app(engine), config=CONFIG)


lazy = schemathesis.pytest.from_fixture("intake_schema")


@lazy.parametrize()
@settings(max_examples=examples(80), deadline=None, suppress_health_check=list(HealthCheck))
def test_the_intake_never_fails_and_keeps_its_schema(case: Any) -> None:
    meta = case.meta
    negated = {
        location
        for location, component in (meta.components.items() if meta is not None else ())
        if component.mode.is_negative
    }
    headers = {}
    if ParameterLocation.HEADER not in negated:
        headers["X-Intake-Key"] = _KEY["value"]
    if ParameterLocation.PATH not in negated and case.path_parameters:
        case.path_parameters["form"] = "contact-us"
    # A post that fits the schema may still not fit the form (an unknown field, a phone
    # that is no number): what a form takes is the admin's file, not the schema, so a
    # schema-valid post may get a 422 naming the field. Every other check runs.
    excluded: list[Any] = [positive_data_acceptance]
    if ParameterLocation.HEADER in negated:
        # A case made invalid only by its key header gets the right key here.
        excluded.append(negative_data_rejection)
    case.call_and_validate(headers=headers, excluded_checks=excluded)
