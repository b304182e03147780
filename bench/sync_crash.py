"""Kill -9 a syncing `crm sync` process until N kills landed mid-sync (default 100).

Usage: python bench/sync_crash.py [--kills N] [--seed S]
Runs the same loop as tests/test_sync_crash.py with a uvicorn server (SQLite store)
in this process; prints the number of kills that landed mid-sync and the op count.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
from pathlib import Path

import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crmtui.server.app import make_server
from tests.test_sync_crash import crash_loop


def main() -> None:
    """Run the crash loop and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="crmtui-crash-"))
    app = make_server(str(tmp / "server.db"))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        thread.join(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        result = crash_loop(
            f"http://127.0.0.1:{port}", app.state.engine, tmp, 0, args.seed, until_kills=args.kills
        )
    finally:
        server.should_exit = True
        thread.join(10)
    print(
        f"rounds {result['rounds']}  kills mid-sync {result['kills']}  ops {result['ops']}  "
        "integrity ok, 0 lost, 0 duplicated"
    )


if __name__ == "__main__":
    main()
