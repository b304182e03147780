"""The FastAPI application: `/healthz`, `/readyz` and the versioned sync API under `/v1`."""

from __future__ import annotations

import gc
import json
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crmtui import __version__
from crmtui.domain.hlc import HLC
from crmtui.server import metrics
from crmtui.server.auth import Principal, authenticate
from crmtui.server.db import current_server_revision, make_server_engine, server_head
from crmtui.server.feed import feed_head, settle
from crmtui.server.logs import LOGGER
from crmtui.server.pull import parse_ranges, pull_page
from crmtui.server.push import DeviceMismatch, apply_batch
from crmtui.server.ratelimit import RateLimit, retry_after
from crmtui.server.reseed import ReseedClosed, apply_reseed, server_id
from crmtui.server.scope import catch_up
from crmtui.sync.wire import (
    MAX_BODY_BYTES,
    MAX_OWN_RANGES,
    MAX_PULL_OPS,
    MIN_CLIENT_PROTOCOL,
    PROTOCOL_HEADER,
    PROTOCOL_VERSION,
    SERVER_HEADER,
    Health,
    PullResponse,
    PushRequest,
    PushResponse,
    ReseedRequest,
    ReseedResponse,
    WhoAmI,
)

_bearer = HTTPBearer(auto_error=False)
_QUERY_PARAMS = {"/v1/pull": {"cursor", "limit", "own"}}
_RANGE = r"[0-9]{1,19}-[0-9]{1,19}"
_OWN = rf"^{_RANGE}(,{_RANGE}){{0,{MAX_OWN_RANGES - 1}}}$"
"""`own` on a pull: feed ranges drawn by the device's own pushes, `a-b,c-d`."""
_UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing, unknown or revoked device token"}
}


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json(data: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    # Answers of thousands of items, built from validated input: sent as they are
    # (the route's response model still documents them) rather than validated again.
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return Response(body.encode(), media_type="application/json", headers=headers)


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def _principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or not credentials.credentials:
        raise HTTPException(401, "a device token is required", {"WWW-Authenticate": "Bearer"})
    if len(credentials.credentials) > 200:
        raise HTTPException(401, "unknown device token", {"WWW-Authenticate": "Bearer"})
    with _engine(request).connect() as conn:
        who = authenticate(conn, credentials.credentials)
    if who is None:
        raise HTTPException(401, "unknown or revoked device token", {"WWW-Authenticate": "Bearer"})
    request.state.device = who.device_id
    limit: RateLimit | None = request.app.state.rate_limit
    wait = limit.wait_for(who.device_id) if limit is not None else 0.0
    if wait:
        metrics.LIMITED.inc()
        after = retry_after(wait)
        raise HTTPException(
            429,
            f"too many requests from this device ({limit.burst:g} at once, then"  # type: ignore[union-attr]
            f" {limit.per_second:g} a second): retry in {after} s",  # type: ignore[union-attr]
            {"Retry-After": after},
        )
    return who


Who = Annotated[Principal, Depends(_principal)]


@asynccontextmanager
async def _lifespan(_app: FastAPI) -> AsyncIterator[None]:
    # What is loaded by start-up lives as long as the process. Every push batch
    # allocates enough to set off several full collections, and each would walk
    # those ~150k objects again (most of a second per 10k ops): freeze them.
    gc.collect()
    gc.freeze()
    yield


class _Observed:
    """Count, time and log every request (`crmtui.server.metrics`, `crmtui.server.logs`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Hand the request on, noting its status, time, device and size."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            seconds = time.perf_counter() - started
            route = metrics.route_of(scope["path"])
            metrics.REQUESTS.labels(route, str(status[0])).inc()
            metrics.LATENCY.labels(route).observe(seconds)
            state = scope.get("state") or {}
            LOGGER.info(
                "%s %s %s",
                scope["method"],
                route,
                status[0],
                extra={
                    "event": "request",
                    "route": route,
                    "method": scope["method"],
                    "status": status[0],
                    "ms": round(seconds * 1000, 1),
                    "device": state.get("device"),
                    "ops": state.get("ops"),
                    "read_from": state.get("read_from"),
                },
            )


class _RequestLimits:
    """Refuse unknown query parameters (422) and bodies over MAX_BODY_BYTES (413) up front.

    Plain ASGI rather than `@app.middleware("http")`: that one copies every request
    and response through extra tasks and streams, a tenth of a push's time.
    """

    def __init__(self, app: ASGIApp, server_id: str = "") -> None:
        self.app = app
        self.server_id = server_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the request, then hand it on (with its body when it was read here)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        send = _with_protocol(send, self.server_id)
        refusal = _protocol_refusal(request)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        # A parameter the route does not know is a client bug: say so instead of ignoring it.
        unknown = set(request.query_params) - _QUERY_PARAMS.get(request.url.path, set())
        if unknown:
            detail = [
                {
                    "loc": ["query", name],
                    "msg": "unknown query parameter",
                    "type": "extra_forbidden",
                }
                for name in sorted(unknown)
            ]
            await JSONResponse({"detail": detail}, status_code=422)(scope, receive, send)
            return
        # Refuse oversized bodies before anything reads them into memory.
        too_large = JSONResponse({"detail": "request body too large"}, status_code=413)
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
            await too_large(scope, receive, send)
            return
        if request.method in ("POST", "PUT", "PATCH"):
            # Read here (bounded) so its nesting is checked before anything parses it.
            body = b""
            more = True
            while more:
                message = await receive()
                if message["type"] != "http.request":
                    return  # the client went away
                body += message.get("body", b"")
                more = message.get("more_body", False)
                if len(body) > MAX_BODY_BYTES:
                    await too_large(scope, receive, send)
                    return
            if _too_deep(body):
                deep = f"the body nests deeper than {MAX_BODY_DEPTH} levels or is not JSON"
                # The shape of every other 422 (FastAPI's, in the published schema).
                detail = [{"loc": ["body"], "msg": deep, "type": "json_invalid"}]
                await JSONResponse({"detail": detail}, status_code=422)(scope, receive, send)
                return
            await self.app(scope, _replay(body, receive), send)
            return
        await self.app(scope, receive, send)


def _with_protocol(send: Send, server_id: str = "") -> Send:
    """A `send` that names this server's protocol (and identity) on every answer."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            headers.append((PROTOCOL_HEADER.lower().encode(), str(PROTOCOL_VERSION).encode()))
            if server_id:
                headers.append((SERVER_HEADER.lower().encode(), server_id.encode()))
            message = {**message, "headers": headers}
        await send(message)

    return sending


def _protocol_refusal(request: Request) -> Response | None:
    """426 for a client whose protocol this server does not speak (no header: protocol 1)."""
    if not request.url.path.startswith("/v1/"):
        return None
    raw = request.headers.get(PROTOCOL_HEADER, "1")
    if not raw.isdigit() or len(raw) > 6:
        detail = f"{PROTOCOL_HEADER} must be a number, not {raw[:20]!r}"
        return JSONResponse({"detail": detail}, status_code=400)
    version = int(raw)
    speaks = f"this server speaks sync protocol {MIN_CLIENT_PROTOCOL} to {PROTOCOL_VERSION}"
    if version < MIN_CLIENT_PROTOCOL:
        detail = f"your crmtui speaks sync protocol {version}, {speaks}: upgrade crmtui"
    elif version > PROTOCOL_VERSION:
        detail = f"your crmtui speaks sync protocol {version}, {speaks}: upgrade the server"
    else:
        return None
    return JSONResponse({"detail": detail}, status_code=426)


MAX_BODY_DEPTH = 16
"""A request body nests a few levels (request, ops, op); Python's JSON parser recurses."""
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def _too_deep(body: bytes) -> bool:
    """Tell whether a JSON body nests deeper than MAX_BODY_DEPTH (or its brackets do not match).

    Strings are cut out, then innermost bracket pairs are removed a level per
    pass: all C-speed work, where `json.loads` would hit RecursionError on a
    body thousands of levels deep (a 500, not a 422).
    """
    brackets = _STRINGS.sub(b"", body).translate(None, _NOT_BRACKETS)
    for _ in range(MAX_BODY_DEPTH):
        if not brackets:
            return False
        brackets = brackets.replace(b"{}", b"").replace(b"[]", b"")
    return bool(brackets)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands over an already read body, then waits as the original."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay


def _pull_answer(
    request: Request, who: Principal, cursor: int, limit: int, ranges: Any
) -> Response:
    """A pull's page: from the replica when it has replayed far enough, else the primary."""
    engine = _engine(request)
    # Entries a push committed but could not number (its worker died) are numbered now.
    settle(engine, [])
    # A scope that changed since the device's last pull: its snapshot and removals first.
    catch_up(engine, who, cursor)
    server_hlc = HLC(_now_ms(), 0).encode()
    replica: Engine | None = request.app.state.replica
    if replica is not None:
        # The replica's counter and entries are replayed in one commit, so its page
        # is exact up to its own head; a head behind the cursor (the device read
        # further on the primary) would move the cursor back: the primary answers.
        try:
            page = pull_page(replica, who, cursor, limit, server_hlc, ranges)
        except SQLAlchemyError:
            page = None  # the replica is down or restarting: the primary answers
        if page is not None and page["cursor"] >= cursor:
            return _pulled(request, page, "replica")
    return _pulled(request, pull_page(engine, who, cursor, limit, server_hlc, ranges), "primary")


def _pulled(request: Request, page: dict[str, Any], where: str) -> Response:
    metrics.PULLS.labels(where).inc()
    request.state.read_from = where
    return _json(page, {READ_FROM_HEADER: where})


READ_FROM_HEADER = "X-Crm-Read-From"
"""On a pull's answer: `replica` or `primary`, the database the page was read from."""


def _add_service_routes(app: FastAPI) -> None:
    """The routes for the operator: liveness, readiness and metrics."""

    @app.get("/healthz", response_model=Health)
    def healthz() -> Health:
        """The process is up."""
        return Health(status="ok")

    @app.get("/metrics", response_class=Response)
    def metrics_page(request: Request) -> Response:
        """Counters and the feed's state in Prometheus text format (keep it off the internet)."""
        body, content_type = metrics.exposition(_engine(request), request.app.state.replica)
        return Response(body, media_type=content_type)

    @app.get("/readyz", response_model=Health, responses={503: {"model": Health}})
    def readyz(request: Request) -> Response:
        """The database answers and its schema is the one this server expects."""
        try:
            with _engine(request).connect() as conn:
                conn.execute(text("SELECT 1"))
            revision = current_server_revision(_engine(request))
        except SQLAlchemyError as exc:  # any database failure means "not ready"
            return JSONResponse(
                Health(status="unavailable", detail=type(exc).__name__).model_dump(),
                status_code=503,
            )
        if revision != server_head():
            detail = f"schema {revision} is not {server_head()}: run crm server init"
            return JSONResponse(
                Health(status="unavailable", detail=detail).model_dump(), status_code=503
            )
        return JSONResponse(Health(status="ok").model_dump())


def make_app(engine: Engine, replica: Engine | None = None) -> FastAPI:
    """Build the application over an engine whose schema is already at head.

    `replica`: a hot standby of the same database, which serves pulls it has
    replayed far enough for (docs/sync.md, "Pulls from a replica").
    """
    app = FastAPI(
        title="crmtui sync server",
        version=__version__,
        description="Push and pull of journal operations between crmtui devices.",
        lifespan=_lifespan,
    )
    app.state.engine = engine
    app.state.replica = replica
    app.state.rate_limit = RateLimit.from_env()

    # The identity lets a laptop tell a reset (rebuilt) server from the one it synced with.
    app.add_middleware(_RequestLimits, server_id=server_id(engine))
    app.add_middleware(_Observed)  # outermost: refusals are counted and logged too

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> Response:
        """422 naming what is wrong, without echoing the input.

        FastAPI's own answer repeats each bad input: up to the whole body, and a
        lone surrogate in it cannot even be encoded (a 500).
        """
        detail = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type")}
            for e in exc.errors()
        ]
        body = json.dumps({"detail": detail}, ensure_ascii=True, default=str)
        return Response(body.encode(), status_code=422, media_type="application/json")

    _add_service_routes(app)

    @app.get("/v1/whoami", response_model=WhoAmI, responses=_UNAUTHORIZED)
    def whoami(who: Who) -> WhoAmI:
        """The device this token belongs to, its rep, role and territories."""
        return WhoAmI(
            device_id=who.device_id,
            device_name=who.device_name,
            rep_id=who.rep_id,
            rep_name=who.rep_name,
            role=who.role,
            territories=sorted(who.assigned),
        )

    @app.post(
        "/v1/push",
        response_model=PushResponse,
        responses={
            **_UNAUTHORIZED,
            400: {"description": "The body is not JSON"},
            409: {"description": "The token belongs to another database"},
            413: {"description": "The body is larger than the limit"},
        },
    )
    def push(
        request: Request,
        body: PushRequest,
        who: Who,
        x_crm_feed_range: Annotated[str | None, Header(max_length=8)] = None,
    ) -> Response:
        """Apply a batch of operations in one transaction; answer per operation.

        With the header `X-Crm-Feed-Range: 1` the answer also names the feed numbers
        the batch drew (`feed`); a client that does not ask is not sent the field.
        """
        try:
            answer = apply_batch(_engine(request), who, body, _now_ms(), _now_text())
        except DeviceMismatch as exc:
            raise HTTPException(409, str(exc)) from exc
        request.state.ops = len(body.ops)
        metrics.count_push(answer["results"])
        if x_crm_feed_range != "1":
            del answer["feed"]
        return _json(answer)

    @app.post(
        "/v1/reseed",
        response_model=ReseedResponse,
        responses={
            **_UNAUTHORIZED,
            400: {"description": "The body is not JSON"},
            403: {"description": "No reseed window is open (`crm server allow-reseed`)"},
            409: {"description": "The token belongs to another database"},
            413: {"description": "The body is larger than the limit"},
        },
    )
    def reseed(request: Request, body: ReseedRequest, who: Who) -> Response:
        """Merge a batch of a laptop's full state into a reset server (while allowed).

        Every field carries the version the laptop holds it at; the later version
        wins, whichever laptop comes first (docs/sync.md, "After a server reset").
        """
        try:
            answer = apply_reseed(_engine(request), who, body, _now_ms())
        except ReseedClosed as exc:
            raise HTTPException(403, str(exc)) from exc
        except DeviceMismatch as exc:
            raise HTTPException(409, str(exc)) from exc
        return _json(answer)

    @app.get(
        "/v1/pull",
        response_model=PullResponse,
        responses={**_UNAUTHORIZED, 409: {"description": "The cursor is ahead of the server"}},
    )
    def pull_changes(
        request: Request,
        who: Who,
        cursor: Annotated[int, Query(ge=0, le=2**62)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_PULL_OPS)] = 1000,
        own: Annotated[str | None, Query(max_length=40 * MAX_OWN_RANGES, pattern=_OWN)] = None,
    ) -> Response:
        """Changes after `cursor` that this device's rep may see, oldest first.

        `own` names feed ranges drawn by this device's pushes whose answers it has
        recorded; its own ops in them (and nothing else) are not sent back.
        """
        engine = _engine(request)
        with engine.connect() as conn:
            head = feed_head(conn)
        if cursor > head:
            raise HTTPException(
                409, f"cursor {cursor} is ahead of the server ({head}): was the server reset?"
            )
        return _pull_answer(request, who, cursor, limit, parse_ranges(own))

    return app


def make_server(db_url: str, *, migrate: bool = True, replica_url: str | None = None) -> FastAPI:
    """Build the server for a database URL (a SQLite path or a PostgreSQL URL).

    `replica_url`: a streaming-replication standby of that PostgreSQL database,
    for pulls.
    """
    from crmtui.server.db import upgrade_server

    engine = make_server_engine(db_url)
    if migrate:
        upgrade_server(engine)
    replica = make_server_engine(replica_url) if replica_url else None
    return make_app(engine, replica)
