"""The web lead intake as an ASGI app of its own: `POST /v1/intake/{form}` and `/healthz`.

It can face the internet on a listener of its own (`crm server run --intake-only`),
so the sync API need not; `crm server run` also serves it beside the sync API
(`crmtui.server.asgi`). Bodies are JSON objects or HTML form posts
(`application/x-www-form-urlencoded`) of at most MAX_INTAKE_BYTES; the key comes in
`X-Intake-Key` or, from a plain HTML form, the field `_key`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Header, Path, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from crmtui import __version__
from crmtui.server.intake import IntakeRefused, receive
from crmtui.server.intake_forms import MAX_FIELDS

MAX_INTAKE_BYTES = 32 * 1024
"""A form post is a few fields; anything larger is refused (413) before it is read whole."""
FORM_PATTERN = r"^[a-z0-9][a-z0-9-]{0,79}$"
KEY_FIELD = "_key"
MAX_VALUE_CHARS = 10_000
"""The longest value of any field (a form's own fields may set a lower `max`)."""

_VALUE: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "maxLength": MAX_VALUE_CHARS},
        {"type": "integer"},
        {"type": "null"},
    ]
}
"""A field's value: text, a whole number, or null (not given)."""
_BODY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "maxProperties": MAX_FIELDS + 4,
    # The fields a form may have are the admin's; these are the usual ones.
    "properties": {
        name: _VALUE for name in ("name", "email", "phone", "company", "country", "message", "_key")
    },
    "additionalProperties": _VALUE,
    "example": {"name": "Lena Vogel", "email": "lena@vogel.example", "message": "Call me"},
}
_ANSWERS: dict[int | str, dict[str, Any]] = {
    202: {"description": "Taken (a new lead, a note on a known person, or a bot's post dropped)"},
    400: {"description": "The body is not a JSON object or a form post"},
    401: {"description": "Unknown form or wrong key"},
    413: {"description": "The body is larger than the limit"},
    415: {"description": "Neither JSON nor a form post"},
    422: {"description": "Fields that do not fit the form, each named"},
    429: {"description": "Too many posts from this address; see Retry-After"},
    503: {"description": "The form names a territory the server no longer has"},
}


def _refusal(status: int, detail: object, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


async def _body(request: Request) -> bytes | JSONResponse:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_INTAKE_BYTES):
        return _refusal(413, f"a post is at most {MAX_INTAKE_BYTES} bytes")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_INTAKE_BYTES:
            return _refusal(413, f"a post is at most {MAX_INTAKE_BYTES} bytes")
    return body


def _parse(content_type: str, body: bytes) -> dict[str, object] | JSONResponse:
    kind = content_type.split(";", 1)[0].strip().lower()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return _refusal(400, "the body is not UTF-8")
    if kind == "application/x-www-form-urlencoded":
        try:
            pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS + 4)
        except ValueError:
            return _refusal(422, [{"field": "", "msg": f"more than {MAX_FIELDS} fields"}])
        values: dict[str, object] = {}
        for name, value in pairs:
            if name in values:
                return _refusal(422, [{"field": name[:40], "msg": "is given twice"}])
            values[name] = value
        return values
    if kind in ("application/json", ""):
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            return _refusal(400, "the body is not JSON")
        if not isinstance(data, dict):
            return _refusal(400, "the body must be a JSON object of field names and values")
        if len(data) > MAX_FIELDS + 4:
            return _refusal(422, [{"field": "", "msg": f"more than {MAX_FIELDS} fields"}])
        # Every value is text, a whole number or null, whatever field it is for (the
        # form's own fields are checked after the key; a bad `_key` is refused here).
        bad = [
            {"field": str(name)[:40], "msg": "must be text, a whole number or null"}
            for name, value in sorted(data.items())
            if isinstance(value, bool)
            or not isinstance(value, str | int | type(None))
            or (isinstance(value, str) and len(value) > MAX_VALUE_CHARS)
        ]
        if bad:
            return _refusal(422, bad)
        return data
    return _refusal(415, "send JSON or an HTML form post (application/x-www-form-urlencoded)")


def make_intake_app(engine: Engine) -> FastAPI:
    """Build the intake app over an engine whose schema is already at head."""
    app = FastAPI(
        title="crmtui web lead intake",
        version=__version__,
        description="Web form posts become leads routed to a rep (docs/intake.md).",
    )
    app.state.engine = engine

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> Response:
        """422 naming what is wrong, without echoing the input."""
        detail = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", ""))} for e in exc.errors()
        ]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.post(
        "/v1/intake/{form}",
        status_code=202,
        responses=_ANSWERS,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": _BODY_SCHEMA},
                    "application/x-www-form-urlencoded": {"schema": _BODY_SCHEMA},
                },
            }
        },
    )
    async def intake(
        request: Request,
        form: Annotated[str, Path(pattern=FORM_PATTERN, max_length=80)],
        x_intake_key: Annotated[str | None, Header(max_length=200)] = None,
    ) -> Response:
        """Take a web form's post: a new lead routed to a rep, or a note on the known person.

        A post whose honeypot field is filled is answered the same way and dropped.
        """
        body = await _body(request)
        if isinstance(body, Response):
            return body
        values = _parse(request.headers.get("content-type", ""), body)
        if isinstance(values, Response):
            return values
        key = x_intake_key or (str(values.get(KEY_FIELD) or "") or None)
        client = request.client.host if request.client else "unknown"
        try:
            done = await run_in_threadpool(
                receive,
                engine,
                form,
                key,
                values,
                client=client,
                now=datetime.now(UTC),
            )
        except IntakeRefused as refused:
            return _refusal(refused.status, refused.detail, refused.headers)
        return JSONResponse({"status": "accepted", "reference": done.reference}, status_code=202)

    return app
