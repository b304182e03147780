"""The scale-out rig on one machine: PostgreSQL primary, hot standby, PgBouncer, workers.

    scripts/rig up [--dir DIR] [--workers N]   # prints the URLs; state in DIR/rig.json
    scripts/rig status [--dir DIR]
    scripts/rig down [--dir DIR]

Everything comes from the distribution's packages: `initdb`/`pg_ctl`/`pg_basebackup`
from /usr/lib/postgresql/<version>/bin and `pgbouncer` (apt-get install -y pgbouncer).
The primary is a cluster of its own in DIR/primary (never the system one on 5432),
the standby a `pg_basebackup -R` copy of it streaming from it, PgBouncer in
transaction pooling in front of the primary. The server's workers (`crm server run
--workers N`) push through PgBouncer and pull from the standby when it has replayed
far enough. Ports are free ones picked at start. Run as root, the database processes
run as the `postgres` user (PostgreSQL refuses root). The tests start the same rig
(tests/rig_support.py) without workers.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

DEFAULT_DIR = Path(tempfile.gettempdir()) / "crmtui-rig"
DATABASE = "crm"


class RigError(RuntimeError):
    """The rig could not be started or stopped (the message says which step)."""


@dataclass
class Rig:
    """A running rig: its directory, ports and the processes it started."""

    dir: str
    primary_port: int
    replica_port: int
    bouncer_port: int
    server_port: int = 0
    server_pid: int = 0
    workers: int = 0
    extra: dict[str, str] = field(default_factory=dict)

    def url(self, where: str, database: str = DATABASE) -> str:
        """A SQLAlchemy URL of `database` on the primary, replica or bouncer."""
        port = {"primary": self.primary_port, "replica": self.replica_port}.get(where)
        if where == "bouncer":
            return (
                f"postgresql+psycopg://postgres@127.0.0.1:{self.bouncer_port}/{database}"
                "?pooler=transaction"
            )
        if port is None:
            raise ValueError(f"no {where} in the rig")
        return f"postgresql+psycopg://postgres@127.0.0.1:{port}/{database}"

    def dsn(self, where: str, database: str = DATABASE) -> str:
        """A libpq connection string (psycopg.connect) of the primary or replica."""
        port = self.primary_port if where == "primary" else self.replica_port
        return f"host=127.0.0.1 port={port} dbname={database} user=postgres"


def pg_bin() -> Path:
    """The newest PostgreSQL server binaries of the distribution."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4])
    )
    if not found:
        raise RigError("no /usr/lib/postgresql/*/bin/initdb: apt-get install -y postgresql")
    return Path(found[-1]).parent


def pgbouncer_bin() -> str | None:
    """The pgbouncer executable, or None when the package is missing."""
    return shutil.which("pgbouncer") or (
        "/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None
    )


def missing() -> str | None:
    """Why the rig cannot start on this machine (None when it can)."""
    try:
        pg_bin()
    except RigError as exc:
        return str(exc)
    if pgbouncer_bin() is None:
        return "PgBouncer is not installed (apt-get install -y pgbouncer; .ci/run installs it)"
    return None


def _as_db_user(argv: list[str]) -> list[str]:
    # PostgreSQL and PgBouncer refuse to run as root.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *argv]
    return argv


def _run(argv: list[str], what: str) -> None:
    done = subprocess.run(_as_db_user(argv), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RigError(f"{what} failed ({done.returncode}): {done.stderr.strip()[-600:]}")


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _own(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")


PRIMARY_CONF = """
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{dir}'
wal_level = replica
max_wal_senders = 5
hot_standby = on
max_connections = 200
shared_buffers = 32MB
# The rig's standby replays behind the primary; queries there are not cancelled
# for it while they run (what a reporting replica would set too).
hot_standby_feedback = on
"""

BOUNCER_INI = """
[databases]
* = host=127.0.0.1 port={primary}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {dir}/userlist.txt
pool_mode = transaction
max_client_conn = 2000
default_pool_size = 40
ignore_startup_parameters = extra_float_digits,options
pidfile = {dir}/pgbouncer.pid
logfile = {dir}/pgbouncer.log
admin_users = postgres
"""


def up(directory: Path, workers: int = 0, database: str = DATABASE) -> Rig:
    """Start the rig in `directory` (made empty) and create `database` on it."""
    reason = missing()
    if reason:
        raise RigError(reason)
    if directory.exists():
        raise RigError(f"{directory} exists: run `scripts/rig down --dir {directory}` first")
    directory.mkdir(parents=True)
    _own(directory)
    binaries = pg_bin()
    primary_port, replica_port, bouncer_port, server_port = _free_ports(4)
    rig = Rig(str(directory), primary_port, replica_port, bouncer_port)
    primary, replica = directory / "primary", directory / "replica"
    _run(
        [
            str(binaries / "initdb"),
            "-D",
            str(primary),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
        ],
        "initdb",
    )
    with (primary / "postgresql.conf").open("a") as conf:
        conf.write(PRIMARY_CONF.format(port=primary_port, dir=directory))
    _start(binaries, primary, directory / "primary.log")
    _run(
        [
            str(binaries / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(primary_port),
            "-U",
            "postgres",
            database,
        ],
        "createdb",
    )
    _run(
        [
            str(binaries / "pg_basebackup"),
            *("-h", "127.0.0.1", "-p", str(primary_port), "-U", "postgres"),
            *("-D", str(replica), "-R", "-X", "stream", "-c", "fast"),
        ],
        "pg_basebackup",
    )
    # The copy carries the primary's port; the standby listens on its own.
    with (replica / "postgresql.auto.conf").open("a") as conf:
        conf.write(f"port = {replica_port}\n")
    _start(binaries, replica, directory / "replica.log")
    userlist = directory / "userlist.txt"
    userlist.write_text('"postgres" ""\n')
    ini = directory / "pgbouncer.ini"
    ini.write_text(BOUNCER_INI.format(primary=primary_port, port=bouncer_port, dir=directory))
    for path in (userlist, ini):
        _own(path)
    bouncer = pgbouncer_bin()
    assert bouncer is not None
    _run([bouncer, "-d", str(ini)], "pgbouncer")
    _wait_port(bouncer_port, "pgbouncer")
    if workers:
        rig.server_port, rig.workers = server_port, workers
        rig.server_pid = _start_server(rig, directory / "server.log")
    (directory / "rig.json").write_text(json.dumps(asdict(rig), indent=2))
    return rig


def _start(binaries: Path, data: Path, log: Path) -> None:
    log.touch()
    _own(log)
    _run(
        [str(binaries / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "start"],
        f"pg_ctl start {data.name}",
    )


def _wait_port(port: int, what: str, timeout: float = 30) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RigError(f"{what} did not listen on 127.0.0.1:{port} within {timeout:.0f}s")


def _start_server(rig: Rig, log: Path) -> int:
    crm = Path(sys.executable).with_name("crm")
    env = dict(os.environ, CRMTUI_SERVER_DB=rig.url("primary"))
    # Migrate on the primary itself, then serve: pushes through PgBouncer, pulls
    # from the standby.
    subprocess.run(
        [str(crm), "server", "init", "--db", rig.url("primary")],
        env=env,
        check=True,
        capture_output=True,
    )
    argv = [
        str(crm),
        "server",
        "run",
        "--db",
        rig.url("bouncer"),
        "--replica",
        rig.url("replica"),
        "--port",
        str(rig.server_port),
        "--workers",
        str(rig.workers),
    ]
    with log.open("ab") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=out, start_new_session=True, env=env)
    end = time.monotonic() + 60
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{rig.server_port}/readyz", timeout=2):
                return process.pid
        except OSError:
            if process.poll() is not None:
                raise RigError(f"the server exited ({process.returncode}); see {log}") from None
            time.sleep(0.3)
    raise RigError(f"the server did not answer /readyz within 60s; see {log}")


def load(directory: Path) -> Rig:
    """The rig recorded in `directory`."""
    try:
        return Rig(**json.loads((directory / "rig.json").read_text()))
    except FileNotFoundError:
        raise RigError(f"no rig in {directory} (no rig.json)") from None


def down(directory: Path) -> None:
    """Stop what the rig in `directory` started, then remove the directory."""
    if not directory.exists():
        return
    binaries = pg_bin()
    rig_file = directory / "rig.json"
    if rig_file.exists():
        rig = load(directory)
        if rig.server_pid:
            with contextlib.suppress(ProcessLookupError):  # already gone
                os.killpg(rig.server_pid, signal.SIGTERM)
    pidfile = directory / "pgbouncer.pid"
    if pidfile.exists():
        # Gone, or a pidfile half written: nothing left to stop.
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
    for name in ("replica", "primary"):
        data = directory / name
        if (data / "postmaster.pid").exists():
            _run(
                [str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                f"pg_ctl stop {name}",
            )
    shutil.rmtree(directory)


def wait_replayed(rig: Rig, timeout: float = 30) -> None:
    """Wait until the standby has replayed everything the primary wrote so far."""
    import psycopg

    with psycopg.connect(rig.dsn("primary", "postgres"), autocommit=True) as p:
        lsn = p.execute("SELECT pg_current_wal_lsn()").fetchone()[0]  # type: ignore[index]
    end = time.monotonic() + timeout
    with psycopg.connect(rig.dsn("replica", "postgres"), autocommit=True) as r:
        while time.monotonic() < end:
            done = r.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,)).fetchone()[0]  # type: ignore[index]
            if done:
                return
            time.sleep(0.05)
    raise RigError(f"the standby did not replay up to {lsn} within {timeout:.0f}s")


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")


def main(argv: list[str] | None = None) -> int:
    """`scripts/rig up|status|down`."""
    parser = argparse.ArgumentParser(prog="scripts/rig", description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["up", "status", "down"])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--workers", type=int, default=2, help="server worker processes (0: none)")
    args = parser.parse_args(argv)
    try:
        if args.action == "up":
            rig = up(args.dir, args.workers)
        elif args.action == "status":
            rig = load(args.dir)
        else:
            down(args.dir)
            _say(f"rig in {args.dir} stopped and removed")
            return 0
    except (RigError, subprocess.CalledProcessError) as exc:
        sys.stderr.write(f"rig: {exc}\n")
        return 1
    _say(f"primary  {rig.url('primary')}")
    _say(f"replica  {rig.url('replica')}")
    _say(f"bouncer  {rig.url('bouncer')}")
    if rig.server_port:
        _say(
            f"server   http://127.0.0.1:{rig.server_port} ({rig.workers} workers, pid {rig.server_pid})"
        )
    _say(f"state    {args.dir}/rig.json; stop with scripts/rig down --dir {args.dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
