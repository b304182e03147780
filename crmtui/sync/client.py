"""The sync client: push pending journal ops in batches, then pull and apply the feed.

Pending ops are marked pushed only when the server has answered for them; a
network error leaves everything pending, and because the server ignores an op
id it has seen, sending the same batch again can neither lose nor duplicate.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import httpx

from crmtui.store.database import Store
from crmtui.store.journal import LogicalOp, expand
from crmtui.store.sql_in import select_in
from crmtui.sync.apply_remote import (
    RemoteApplier,
    apply_changes,
    get_meta,
    remote_transaction,
    set_meta,
    to_column,
    utcnow_hlc,
)
from crmtui.sync.fields import check_value
from crmtui.sync.purge import note_moved_away
from crmtui.sync.quarantine import hold
from crmtui.sync.sync_summary import pending_journal_rows
from crmtui.sync.wire import (
    MAX_BODY_BYTES,
    MAX_OWN_RANGES,
    MAX_PULL_OPS,
    MAX_PUSH_OPS,
    MAX_VALUE_CHARS,
    MIN_SERVER_PROTOCOL,
    OUTSIDE_SCOPE,
    PROTOCOL_HEADER,
    PROTOCOL_VERSION,
    SERVER_HEADER,
    FieldVersion,
    Op,
    PullResponse,
    PushResponse,
    ReseedRequest,
    ReseedResponse,
)

DEFAULT_BATCH = MAX_PUSH_OPS
"""Ops per push: the most the server takes, so a sync pays the fixed cost of a push
(authentication, locks, a commit, an HTTP round trip) as few times as it can."""
SERVER_ID = "sync_server_id"
"""local_meta key: the identity of the server this laptop syncs with (`wire.SERVER_HEADER`)."""
RESET_MESSAGE = (
    "the server was reset (it is not the server this laptop synced with) and is not taking"
    " a reseed; nothing was sent. Ask your admin to run `crm server allow-reseed` on the"
    " server, then run `crm sync` again: this laptop will send back everything it holds"
)
OWN_FEED = "sync_own_feed"
"""local_meta key: feed ranges drawn by this laptop's pushes whose answers are recorded."""
PULL_PAGE = MAX_PULL_OPS
"""Changes per pull page: the most the server gives, so a page is one local transaction."""
_Answer = TypeVar("_Answer", PushResponse, ReseedResponse)
Progress = Callable[[str, int, int], None]
"""Called as progress(phase, done, total) while a sync runs."""


class SyncError(RuntimeError):
    """Sync could not finish; nothing was lost (pending ops stay pending)."""


class NetworkError(SyncError):
    """The server could not be reached or did not answer."""


class UnknownDevice(SyncError):
    """The server does not know this device (revoked token or a reset server)."""


class ServerReset(UnknownDevice):
    """The server is not the one this laptop synced with, and takes no reseed now."""


class ProtocolMismatch(SyncError):
    """The server and this crmtui speak sync protocols that do not work together."""


def check_protocol(response: httpx.Response) -> None:
    """Refuse a server's answer when the two sides' protocols do not work together.

    A 426 is the server refusing this client (its message says which side to
    upgrade); otherwise the server's version (no header: 1) must be one this
    client syncs with.
    """
    if response.status_code == 426:
        try:
            detail = str(response.json().get("detail"))
        except ValueError:
            detail = response.text[:200]
        raise ProtocolMismatch(detail)
    raw = response.headers.get(PROTOCOL_HEADER, "1")
    server = int(raw) if raw.isdigit() and len(raw) <= 6 else 0
    if server < MIN_SERVER_PROTOCOL:
        raise ProtocolMismatch(
            f"the server speaks sync protocol {server}; this crmtui needs"
            f" {MIN_SERVER_PROTOCOL} to {PROTOCOL_VERSION}: upgrade the server"
        )


def protocol_headers() -> dict[str, str]:
    """The header naming this client's protocol, sent on every request."""
    return {PROTOCOL_HEADER: str(PROTOCOL_VERSION)}


class DemoDatabase(SyncError):
    """The database is a generated demo; syncing it would flood the team with fake data."""


@dataclass
class SyncReport:
    """Counts of one sync, shown as the summary table."""

    pushed: int = 0
    applied: int = 0
    superseded: int = 0
    conflicts: int = 0
    rejected: int = 0
    pulled: int = 0
    removed: int = 0
    overwritten: int = 0
    quarantined: int = 0
    reasons: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    """Pulled values held back as malformed (`crmtui.sync.quarantine`), one line each."""
    set_aside: list[str] = field(default_factory=list)
    """Local edits of records that left this laptop's scope (`crmtui.sync.purge`), one line each."""
    reseeded: int = 0
    """Records sent back to a reset server (`SyncClient.reseed`)."""


def device_id(store: Store) -> str:
    """This database's device id (made by the first write if there is none yet)."""
    with store.write() as tx:
        return tx.device_id


def check_syncable(store: Store) -> None:
    """Refuse a demo database with a clear message."""
    with store.engine.connect() as conn:
        row = conn.exec_driver_sql("SELECT value FROM local_meta WHERE key = 'demo'").first()
    if row is not None and row[0] == "1":
        raise DemoDatabase(
            f"{store.path} is a generated demo database; sync a real one (crm --db PATH sync)"
        )


_SELECT_PENDING = (
    "SELECT id, tx_id, hlc, entity, row_id, op, field, value FROM journal"
    " WHERE pushed_at IS NULL AND device_id = ?"
)
_Pending = tuple[str, str, str, str, str, list[LogicalOp]]
"""A pending journal row: (its id, tx id, hlc, entity, row id, the contract ops it stands for)."""


def _pending(row: tuple[str, str, str, str, str, str, str | None, str | None]) -> _Pending:
    op_id, tx_id, hlc, entity, row_id, kind, fld, value = row
    return op_id, tx_id, hlc, entity, row_id, expand(op_id, kind, fld, value)


BODY_BUDGET = MAX_BODY_BYTES - 64 * 1024
"""The ops of one push body take at most this; the rest is room for its envelope (the
device id and up to MAX_PUSH_OPS resolved conflict ids, ~40 KB)."""
_OP_BYTES = 512
"""An op's JSON without its value: keys, two ids, a tx id, HLCs, names (bounded by the wire)."""
_EXACT_ABOVE = 1024


def _op_bytes(value: str | None) -> int:
    """At least the bytes an op takes in a push body (`push_body` writes ASCII JSON)."""
    if value is None:
        return _OP_BYTES
    if len(value) <= _EXACT_ABOVE:
        return _OP_BYTES + 6 * len(value) + 2  # a character is at most `\uXXXX`
    return _OP_BYTES + len(json.dumps(value))


def _row_bytes(row: _Pending) -> int:
    return sum(_op_bytes(op[3]) for op in row[5])


def _pending_rows(db: Any, me: str | None, limit: int | None) -> list[_Pending]:
    """Pending journal rows, oldest first; with a limit, about `limit` ops' worth.

    A batch also fits the server's body limit (`BODY_BUDGET`): long notes are sent in
    smaller batches rather than refused with 413 for ever. A packed create is never
    split (its ops go in one batch, so its row is marked pushed only once every one
    of them is answered, and the server sees the fields that decide a new record's
    territory with its creation); nor, as far as MAX_PUSH_OPS and the body limit
    allow, is a transaction.
    """
    order = " ORDER BY hlc, id"
    if not limit:
        return [_pending(r) for r in db.execute(_SELECT_PENDING + order, (me,))]
    taken: list[_Pending] = []
    total = 0
    size = 0
    # Each row is at least one op, so `limit` rows hold at least `limit` ops.
    for r in db.execute(_SELECT_PENDING + order + f" LIMIT {int(limit)}", (me,)).fetchall():
        row = _pending(r)
        n, b = len(row[5]), _row_bytes(row)
        if total >= limit or (taken and (total + n > MAX_PUSH_OPS or size + b > BODY_BUDGET)):
            break
        taken.append(row)
        total += n
        size += b
    if taken:
        # Never split a transaction: the server decides a new record's territory
        # from the fields set with its creation.
        seen = {row[0] for row in taken}
        for r in db.execute(_SELECT_PENDING + " AND tx_id = ?" + order, (me, taken[-1][1])):
            if r[0] in seen:
                continue
            row = _pending(r)
            b = _row_bytes(row)
            if total + len(row[5]) > MAX_PUSH_OPS or size + b > BODY_BUDGET:
                break
            taken.append(row)
            total += len(row[5])
            size += b
    return taken


def _synced_versions(db: Any, rows: list[_Pending]) -> dict[tuple[str, str, str], tuple[str, str]]:
    """The synced (hlc, device) of every field of the rows' records, read in a few queries."""
    by_entity: dict[str, set[str]] = {}
    for _, _, _, entity, row_id, logical in rows:
        if logical[0][1] != "create":  # a record created here has no synced versions yet
            by_entity.setdefault(entity, set()).add(row_id)
    found: dict[tuple[str, str, str], tuple[str, str]] = {}
    for entity, ids in by_entity.items():
        for row_id, name, hlc, device in select_in(
            db,
            "SELECT row_id, field, hlc, device_id FROM sync_field",
            sorted(ids),
            column="row_id",
            where="entity = ?",
            params=(entity,),
        ):
            found[(entity, row_id, name)] = (hlc, device)
    return found


class PendingOp(NamedTuple):
    """An op of a push batch: the fields of `wire.Op`, without pydantic's cost per op."""

    op_id: str
    tx_id: str
    hlc: str
    entity: str
    row_id: str
    op: str
    field: str | None
    value: str | None
    base_hlc: str | None
    base_device: str | None


def pending_batch(store: Store, limit: int | None = None) -> list[PendingOp]:
    """The ops waiting for the server, oldest first, each with the version it overwrote.

    A packed create (journal.py) comes out as the contract's ops it stands for: the
    create, then one set per field, all with its HLC and with derived op ids that
    are the same on every call.
    """
    return pending_rows_and_ops(store, limit)[1]


def pending_rows_and_ops(
    store: Store, limit: int | None = None
) -> tuple[list[str], list[PendingOp]]:
    """`pending_batch` and the ids of the journal rows its ops come from."""
    with store.engine.connect() as conn:
        db = conn.connection.driver_connection
        me = get_meta(db, "device_id") or ""  # type: ignore[arg-type]
        rows = _pending_rows(db, me, limit)
        synced = _synced_versions(db, rows)
    newest: dict[tuple[str, str], tuple[str, str]] = {}
    for (entity, row_id, _name), version in synced.items():
        if (entity, row_id) not in newest or version > newest[(entity, row_id)]:
            newest[(entity, row_id)] = version
    # The version each op overwrites: the synced one, then this device's previous op.
    bases: dict[tuple[str, str, str | None], tuple[str, str] | None] = {}
    ops: list[PendingOp] = []
    for _, tx_id, hlc, entity, row_id, logical in rows:
        for op_id, kind, fld, value in logical:
            key = (entity, row_id, fld if kind == "set" else None)
            if key in bases:
                base = bases[key]
            elif kind == "set":
                base = synced.get((entity, row_id, fld or ""))
            else:  # a delete's base: the newest version synced from the server
                base = newest.get((entity, row_id))
            ops.append(
                PendingOp(
                    op_id,
                    tx_id,
                    hlc,
                    entity,
                    row_id,
                    kind,
                    fld,
                    value,
                    base[0] if base else None,
                    base[1] if base and kind == "set" else None,
                )
            )
            bases[key] = (hlc, me)
    return [row[0] for row in rows], ops


def pending_ops(store: Store, limit: int | None = None) -> list[Op]:
    """`pending_batch` as wire `Op`s (for the rescue file and tests)."""
    return [Op.model_validate(op._asdict()) for op in pending_batch(store, limit)]


def push_body(device: str, ops: list[PendingOp], resolved: list[str]) -> bytes:
    """The JSON of a `PushRequest` for these ops, written without building pydantic models.

    The server validates what it receives; `tests/test_sync_client_body.py` checks
    this body parses to the same request `PushRequest(...).model_dump_json()` gives.
    """
    body = {
        "device_id": device,
        "ops": [op._asdict() for op in ops],
        "resolved_conflicts": resolved,
    }
    return json.dumps(body, separators=(",", ":")).encode()


def pending_count(store: Store) -> int:
    """How many local ops wait to be pushed (a packed create counts as its ops)."""
    from crmtui.sync.sync_summary import pending_count as count_pending

    with store.engine.connect() as conn:
        return count_pending(conn.connection.driver_connection)  # type: ignore[arg-type]


def pending_records(store: Store) -> dict[str, int]:
    """Changed records waiting for a push, per entity (what a user is shown): a few rows read."""
    from crmtui.sync.sync_summary import pending_records as read_records

    with store.engine.connect() as conn:
        return read_records(conn.connection.driver_connection)  # type: ignore[arg-type]


def pending_by_entity(store: Store) -> dict[str, int]:
    """`pending_count` per entity (what `crm sync --dry-run` shows), counted in SQL."""
    from crmtui.sync.sync_summary import pending_by_entity as count_by_entity

    with store.engine.connect() as conn:
        return count_by_entity(conn.connection.driver_connection)  # type: ignore[arg-type]


class SyncClient:
    """Talks to one server for one local store."""

    def __init__(
        self,
        store: Store,
        http: httpx.Client,
        *,
        batch: int = DEFAULT_BATCH,
        rescue_dir: Path | None = None,
    ) -> None:
        self.store = store
        self.http = http
        self.batch = max(1, min(batch, MAX_PUSH_OPS))
        self.rescue_dir = rescue_dir
        """Where local edits of records that left this laptop's scope are saved."""

    def _call(self, method: str, url: str, **kw: object) -> httpx.Response:
        extra = kw.pop("headers", None)
        headers = {**(extra if isinstance(extra, dict) else {}), **protocol_headers()}
        try:
            response = self.http.request(method, url, headers=headers, **kw)  # type: ignore[arg-type]
        except httpx.HTTPError as exc:
            raise NetworkError(f"cannot reach the sync server: {exc}") from exc
        check_protocol(response)
        if response.status_code == 401:
            raise UnknownDevice(
                "the server does not know this device (token revoked or server reset)"
            )
        if response.status_code == 409:
            raise UnknownDevice(f"the server refused: {response.json().get('detail')}")
        if response.status_code == 403:  # only a reseed outside its window
            raise ServerReset(RESET_MESSAGE)
        if response.status_code == 429:  # this device's request limit: nothing was done
            try:
                detail = str(response.json().get("detail"))
            except ValueError:
                detail = f"retry in {response.headers.get('retry-after', '?')} s"
            raise NetworkError(f"the sync server is busy for this device: {detail}")
        if response.status_code >= 400:
            raise SyncError(f"the server answered {response.status_code}: {response.text[:200]}")
        return response

    def _post(self, url: str, body: bytes, model: type[_Answer], count: int) -> _Answer:
        """POST a JSON body; the parsed answer, which must hold `count` results."""
        raw = self._call("POST", url, content=body, headers={"content-type": "application/json"})
        try:
            answer = model.model_validate_json(raw.content)
        except ValueError as exc:
            raise NetworkError(f"the server's answer was cut or garbled: {exc}") from exc
        if len(answer.results) != count:
            raise SyncError("the server answered for a different number of items")
        return answer

    def push(self, report: SyncReport, progress: Progress | None = None) -> None:
        """Push every pending op in batches; each answered op is marked pushed."""
        me = device_id(self.store)
        # Progress in journal rows: counting the contract's ops would parse every
        # pending create first (seconds for a migrated database's millions).
        with self.store.engine.connect() as conn:
            total = pending_journal_rows(conn.connection.driver_connection)  # type: ignore[arg-type]
        done = 0
        from crmtui.sync.conflicts import unreported_resolutions

        resolved = unreported_resolutions(self.store)
        while True:
            rows, ops = pending_rows_and_ops(self.store, self.batch)
            if not ops and not resolved:
                return
            too_long = [
                op for op in ops if op.value is not None and len(op.value) > MAX_VALUE_CHARS
            ]
            if too_long:
                # Written before local writes were held to the limit (or by an older
                # crmtui): the server would refuse the whole batch with 422 for ever.
                # The op stays out; the rest of its record goes, and it is reported.
                out = {op.op_id for op in too_long}
                ops = [op for op in ops if op.op_id not in out]
                if not ops and not resolved:
                    self._keep_out(too_long, rows, report)
                    done += len(rows)
                    continue
            body = push_body(me, ops, resolved)
            try:
                raw = self._call(
                    "POST",
                    "/v1/push",
                    content=body,
                    # Ask for the feed numbers the batch draws (see `own_ranges`).
                    headers={"content-type": "application/json", "x-crm-feed-range": "1"},
                )
                answer = PushResponse.model_validate_json(raw.content)
            except ValueError as exc:
                raise NetworkError(f"the server's answer was cut or garbled: {exc}") from exc
            if len(answer.results) != len(ops):
                raise SyncError("the server answered for a different number of ops")
            self._record(ops, answer, report, resolved, rows, too_long)
            resolved = []
            done += len(rows)
            if progress:
                progress("push", done, max(total, done))

    def _record(
        self,
        ops: list[PendingOp],
        answer: PushResponse,
        report: SyncReport,
        resolved: list[str],
        rows: list[str],
        too_long: list[PendingOp] | None = None,
    ) -> None:
        me = device_id(self.store)
        with remote_transaction(self.store, me) as applier:
            db = applier.db
            _report_too_long(too_long or [], report)
            for server_id in resolved:
                db.execute(
                    "UPDATE sync_conflict SET reported_at = ? WHERE server_id = ?",
                    (applier.now, server_id),
                )
            # `rows`: the journal rows the ops come from (a packed create's other ops
            # have derived ids that match no row). `pending_ops` never splits a packed
            # create across batches and every op of a batch is answered here, so the
            # row is marked once all its ops are answered.
            db.executemany(
                "UPDATE journal SET pushed_at = ? WHERE id = ?",
                [(applier.now, row_id) for row_id in rows],
            )
            versions: list[tuple[str, str, str, str, str]] = []
            # A set followed in this batch by another set of the same field: the
            # laptop's value is the later one's (a newer local edit, as `adopt` has
            # it, though no longer pending), so the server's current version is
            # recorded for it but its value is not written over the laptop's.
            last: dict[tuple[str, str, str | None], int] = {}
            for i, op in enumerate(ops):
                if op.op == "set":
                    last[(op.entity, op.row_id, op.field)] = i
            for i, (op, result) in enumerate(zip(ops, answer.results, strict=True)):
                report.pushed += 1
                status = result.status
                setattr(
                    report,
                    status if status != "conflict" else "conflicts",
                    getattr(report, status if status != "conflict" else "conflicts") + 1,
                )
                if result.reason and status == "rejected":
                    report.reasons.append(
                        f"{op.entity} {op.row_id} {op.field or op.op}: {result.reason}"
                    )
                    if op.op == "set" and result.reason == OUTSIDE_SCOPE:
                        # Moved away while this laptop edited it offline: kept for a person.
                        report.set_aside.append(
                            note_moved_away(
                                db, applier.now, me, op.entity, op.row_id, op.field or "", op.value
                            )
                        )
                if op.op != "set" or op.field is None:
                    continue
                bad = result.current is not None and check_value(
                    op.entity, op.field, result.current.value
                )
                moved_away = status == "rejected" and result.reason == OUTSIDE_SCOPE
                if (
                    status in REFUSED
                    and not moved_away  # listed once, as moved away (above)
                    and last[(op.entity, op.row_id, op.field)] == i
                ):
                    _keep_refused(applier, op, status, None if bad else result.current, me)
                if result.current is not None and bad:
                    # An older server's stored value that does not fit the field.
                    line = hold(
                        db,
                        applier.now,
                        op.entity,
                        op.row_id,
                        op.field,
                        result.current.value,
                        result.current.device_id,
                        bad,
                    )
                    report.quarantined += 1
                    report.held.append(line)
                elif result.current is not None:
                    # Versions are written in answer order: an earlier op's version of
                    # this field must not land after the server's current one.
                    applier.record_versions(versions)
                    versions = []
                    current = result.current
                    if last[(op.entity, op.row_id, op.field)] > i:
                        applier.record_version(
                            op.entity, op.row_id, op.field, current.hlc, current.device_id
                        )
                    else:
                        applier.adopt(op.entity, op.row_id, op.field, current)
                elif status in ("applied", "conflict") and result.hlc:
                    versions.append((op.entity, op.row_id, op.field, result.hlc, me))
            applier.record_versions(versions)
            applier.advance_clock(answer.server_hlc)
            if any(
                result.hlc is not None and result.hlc < op.hlc
                for op, result in zip(ops, answer.results, strict=True)
            ):
                # The server clamped ops stamped in its future: this clock jumped
                # ahead (once, or it still is). Back to the server's reading (at
                # least every version it stored for us, which the receive rule
                # would otherwise keep stamping after for as long as the jump was).
                rewind_clock(db, answer.server_hlc)
            if answer.feed is not None:
                # In the transaction that records the answers: a range is named only
                # while this database holds the ops whose echoes it contains.
                add_own_range(db, answer.feed)

    def _keep_out(self, too_long: list[PendingOp], rows: list[str], report: SyncReport) -> None:
        """Mark journal rows whose every op is too long as done, without the server."""
        with remote_transaction(self.store, device_id(self.store)) as applier:
            _report_too_long(too_long, report)
            applier.db.executemany(
                "UPDATE journal SET pushed_at = ? WHERE id = ?",
                [(applier.now, row_id) for row_id in rows],
            )

    def pull(self, report: SyncReport, progress: Progress | None = None) -> None:
        """Pull pages after the stored cursor and apply each in one local transaction."""
        me = device_id(self.store)
        while True:
            with self.store.engine.connect() as conn:
                db = conn.connection.driver_connection
                cursor = int(get_meta(db, "sync_cursor") or 0)  # type: ignore[arg-type]
                own = [r for r in own_ranges(db) if r[1] > cursor]
            params: dict[str, str | int] = {"cursor": cursor, "limit": PULL_PAGE}
            if own:
                params["own"] = ",".join(f"{first}-{last}" for first, last in own)
            raw = self._call("GET", "/v1/pull", params=params)
            try:
                page = PullResponse.model_validate_json(raw.content)
            except ValueError as exc:
                raise NetworkError(f"the server's answer was cut or garbled: {exc}") from exc
            done = apply_changes(
                self.store,
                me,
                [*page.changes, *page.removals],
                page.conflicts,
                page.cursor,
                page.server_hlc,
                self.rescue_dir,
            )
            report.set_aside += done.set_aside
            report.pulled += done.applied
            report.removed += done.removed
            report.overwritten += done.overwritten
            report.quarantined += len(done.quarantined)
            report.held += done.quarantined
            if progress:
                progress("pull", page.cursor, page.cursor)
            if not page.has_more:
                return

    def check_server(self, report: SyncReport, progress: Progress | None = None) -> None:
        """Before anything is sent: is this the server the laptop synced with?

        A server rebuilt from nothing has another identity (`wire.SERVER_HEADER`).
        Nothing is pushed to it -- its answers would mark edits of records it does
        not know as done -- until an admin opens a reseed window; then this laptop
        sends back everything it holds (`reseed`) and pulls from the start.
        """
        answer = self._call("GET", "/v1/whoami")
        identity = answer.headers.get(SERVER_HEADER)
        if not identity:
            return  # an older server: it does not say
        with self.store.engine.connect() as conn:
            stored = get_meta(conn.connection.driver_connection, SERVER_ID)  # type: ignore[arg-type]
        if stored is None:
            with remote_transaction(self.store, device_id(self.store)) as applier:
                set_meta(applier.db, SERVER_ID, identity)
        elif stored != identity:
            self.reseed(report, identity, progress)

    def reseed(self, report: SyncReport, identity: str, progress: Progress | None = None) -> None:
        """Send this laptop's full state to a reset server; then pull from the start.

        Refused (`ServerReset`, nothing sent) unless an admin opened a reseed window.
        A record the server took has its pending ops marked pushed (its values went
        with it); one it refused keeps them pending and is reported.
        """
        from crmtui.sync.full_state import batches, full_state

        me = device_id(self.store)
        with self.store.engine.connect() as conn:
            records = list(full_state(conn.connection.driver_connection))  # type: ignore[arg-type]
        done = 0
        for batch in batches(iter(records), BODY_BUDGET):
            body = ReseedRequest(device_id=me, records=batch).model_dump_json().encode()
            answer = self._post("/v1/reseed", body, ReseedResponse, len(batch))
            with remote_transaction(self.store, me) as applier:
                for result in answer.results:
                    if result.status == "applied":
                        report.reseeded += 1
                        applier.db.execute(
                            "UPDATE journal SET pushed_at = ? WHERE pushed_at IS NULL AND"
                            " device_id = ? AND entity = ? AND row_id = ?",
                            (applier.now, me, result.entity, result.row_id),
                        )
                    else:
                        report.rejected += 1
                        report.reasons.append(
                            f"{result.entity} {result.row_id} (reseed): {result.reason}"
                        )
                applier.advance_clock(answer.server_hlc)
            done += len(batch)
            if progress:
                progress("reseed", done, len(records))
        with remote_transaction(self.store, me) as applier:
            # The new server's feed starts again: pull it all (what others reseeded too).
            set_meta(applier.db, SERVER_ID, identity)
            set_meta(applier.db, "sync_cursor", "0")
            applier.db.execute("DELETE FROM local_meta WHERE key = ?", (OWN_FEED,))

    def replay(self, ops: list[Op], report: SyncReport) -> None:
        """Send a rescue file's ops through the normal push, then pull.

        Idempotent: the server answers an op id it has seen from its log and changes
        nothing. An op the server applied is also written to the local row when the
        record is here (a record purged as out of scope and back, or an op dropped
        with `--discard` and overwritten since): the echo of an op this laptop has
        recorded is not written again by a pull.
        """
        check_syncable(self.store)
        self.check_server(report)
        me = device_id(self.store)
        for start in range(0, len(ops), self.batch):
            batch = [PendingOp(**op.model_dump()) for op in ops[start : start + self.batch]]
            answer = self._post("/v1/push", push_body(me, batch, []), PushResponse, len(batch))
            with self.store.engine.connect() as conn:
                rows = [
                    r[0]
                    for r in select_in(
                        conn.connection.driver_connection,  # type: ignore[arg-type]
                        "SELECT id FROM journal",
                        [op.op_id for op in batch],
                        where="pushed_at IS NULL",
                    )
                ]
            self._record(batch, answer, report, [], rows)
            with remote_transaction(self.store, me) as applier:
                for op, result in zip(batch, answer.results, strict=True):
                    if result.status != "applied" or op.op != "set" or not op.field:
                        continue
                    shown = applier._current_value(op.entity, op.row_id, op.field)
                    if shown != to_column(op.entity, op.field, op.value):
                        applier.adopt(
                            op.entity,
                            op.row_id,
                            op.field,
                            FieldVersion(value=op.value, hlc=result.hlc or op.hlc, device_id=me),
                        )
        self.pull(report)

    def sync(self, progress: Progress | None = None) -> SyncReport:
        """Check the server, push, then pull; the report counts both."""
        check_syncable(self.store)
        report = SyncReport()
        self.check_server(report, progress)
        self.push(report, progress)
        self.pull(report, progress)
        with remote_transaction(self.store, device_id(self.store)) as applier:
            set_meta(applier.db, "sync_last", utcnow_hlc())
            trim_own_ranges(applier.db)
        if report.pulled:
            self.settle_plans()
        return report

    def settle_plans(self) -> int:
        """Bring follow-up plans in line with what the pull brought (journaled; pushed next sync)."""
        from crmtui.services.plan_progress import PlanClock, settle_after_sync

        with self.store.write() as tx:
            return settle_after_sync(tx=tx, clock=PlanClock())


REFUSED = {"superseded": "overwritten", "rejected": "rejected"}
"""Answers that leave a local edit out, and the kind `crm conflicts` lists it as."""


def _keep_refused(
    applier: RemoteApplier, op: PendingOp, status: str, theirs: FieldVersion | None, me: str
) -> None:
    """Keep a local edit the server did not take in `crm conflicts`, so it can be restored.

    The server's value (when the caller may read it) is the one kept; the laptop's
    is the one set aside. Nothing is noted when both are the same.
    """
    if theirs is not None and theirs.value == op.value:
        return
    applier.note(
        REFUSED[status],
        op.entity,
        op.row_id,
        op.field or "",
        theirs.value if theirs is not None else None,
        theirs.device_id if theirs is not None else None,
        op.value,
        me,
    )


def _report_too_long(ops: list[PendingOp], report: SyncReport) -> None:
    """Count ops kept out of a push as too long for the server, each named with the way out."""
    for op in ops:
        report.pushed += 1
        report.rejected += 1
        report.reasons.append(
            f"{op.entity} {op.row_id} {op.field or op.op}: {len(op.value or ''):,} characters,"
            f" more than the server takes ({MAX_VALUE_CHARS:,}); kept on this laptop only:"
            " shorten it and sync again"
        )


def rewind_clock(db: Any, server_hlc: str) -> None:
    """Set the local HLC back to the server's reading (or the wall clock, if later).

    Only after the server clamped this laptop's ops: what it stored for them is at
    most `server_hlc`, so a later local edit still follows them.
    """
    now = utcnow_hlc()
    set_meta(db, "hlc", max(server_hlc, now))


def own_ranges(db: Any) -> list[tuple[int, int]]:
    """Feed ranges drawn by this laptop's pushes whose answers it recorded, oldest first.

    A pull names them (`own`) and the server leaves out this laptop's own ops in
    them, which it already holds; everything else in them is still sent. A
    database restored from a backup has the ranges of the backup, so ops it lost
    come back.
    """
    raw = get_meta(db, OWN_FEED)
    return [(int(first), int(last)) for first, last in json.loads(raw)] if raw else []


def add_own_range(db: Any, drawn: tuple[int, int] | None = None) -> None:
    """Add a push's feed range (in the transaction recording its answers).

    Ranges the cursor has passed are dropped; touching ones are merged.
    """
    cursor = int(get_meta(db, "sync_cursor") or 0)
    merged: list[tuple[int, int]] = []
    for first, last in sorted([*own_ranges(db), *([drawn] if drawn else [])]):
        if last <= cursor:
            continue  # already pulled past
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(last, merged[-1][1]))
        else:
            merged.append((first, last))
    # The server takes at most MAX_OWN_RANGES; the oldest dropped just come back.
    set_meta(db, OWN_FEED, json.dumps(merged[-MAX_OWN_RANGES:]))


def trim_own_ranges(db: Any) -> None:
    """Drop the ranges the cursor has passed (after a pull)."""
    if get_meta(db, OWN_FEED) is not None:
        add_own_range(db)


def write_rescue(store: Store, directory: Path) -> Path:
    """Write every pending op to a JSON-lines rescue file (`crmtui.sync.rescue`); returns its path."""
    from crmtui.sync.rescue import write_rescue_file

    return write_rescue_file(directory, device_id(store), pending_ops(store))
