"""The ASGI entry points uvicorn workers import: the apps for CRMTUI_SERVER_DB.

`app` serves the sync API and the web lead intake on one listener; `intake_app`
only the intake (`crm server run --intake-only`), so the sync API need not face
the internet. Each worker builds its own engine (connection pool) when it first
reads one of them; the schema was migrated once by `crm server run` before the
workers started.
"""

from __future__ import annotations

import os

from starlette.types import ASGIApp, Receive, Scope, Send

from crmtui.server.app import make_server

INTAKE_PREFIX = "/v1/intake/"


class WithIntake:
    """The sync app, with `/v1/intake/...` handed to the intake app."""

    def __init__(self, sync: ASGIApp, intake: ASGIApp) -> None:
        self.sync = sync
        self.intake = intake

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Dispatch by path; lifespan and everything else go to the sync app."""
        if scope["type"] == "http" and str(scope.get("path", "")).startswith(INTAKE_PREFIX):
            await self.intake(scope, receive, send)
            return
        await self.sync(scope, receive, send)


def _url() -> str:
    return os.environ.get("CRMTUI_SERVER_DB", "crmtui-server.db")


def __getattr__(name: str) -> object:
    # Built on first access rather than at import, so importing is free of I/O.
    from crmtui.server.intake_app import make_intake_app

    if name == "app":
        from crmtui.server.logs import install

        install()  # each worker process logs JSON lines
        sync = make_server(
            _url(),
            migrate=False,
            replica_url=os.environ.get("CRMTUI_SERVER_REPLICA_DB") or None,
        )
        return WithIntake(sync, make_intake_app(sync.state.engine))
    if name == "intake_app":
        from crmtui.server.db import make_server_engine
        from crmtui.server.logs import install

        install()
        return make_intake_app(make_server_engine(_url()))
    raise AttributeError(name)
