"""The ASGI entry point uvicorn workers import: the app for CRMTUI_SERVER_DB.

Each worker builds its own engine (connection pool) when it imports this module;
the schema was migrated once by `crm server run` before the workers started.
"""

from __future__ import annotations

import os

from crmtui.server.app import make_server


def __getattr__(name: str) -> object:
    # Built on first access rather than at import, so importing is free of I/O.
    if name == "app":
        from crmtui.server.logs import install

        install()  # each worker process logs JSON lines
        return make_server(
            os.environ.get("CRMTUI_SERVER_DB", "crmtui-server.db"),
            migrate=False,
            replica_url=os.environ.get("CRMTUI_SERVER_REPLICA_DB") or None,
        )
    raise AttributeError(name)
