"""Local bookkeeping of imports: one batch per import, and what it created and changed.

Not journaled or synced (like `merge_record`): the import's effects travel as
ordinary journal ops, and `crm import undo` writes the reverse ops. A batch keeps marks that tell what
was journaled after it: the journal's greatest op id when the import committed
(op ids are UUIDv7, minted when an op is written here or a colleague's op is
pulled in by sync) and the import's last clock reading (this device's own later
ops read later, even if the wall clock stepped back). Rowids would not do:
VACUUM may renumber them.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from crmtui.domain.ids import uuid7
from crmtui.store.types import UTCDateTime, utcnow


class ImportBatch(SQLModel, table=True):
    """One import: its file, kind, counts, and whether it was undone."""

    __tablename__ = "import_batch"
    id: str = Field(default_factory=uuid7, primary_key=True, max_length=36)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    file: str
    kind: str = Field(max_length=20)
    """What was imported and how: "csv contacts", "vcard", "csv accounts", "csv deals"."""
    profile: str | None = Field(default=None, max_length=20)
    created: int = 0
    changed: int = 0
    rejected: int = 0
    rejects_path: str | None = None
    tx_id: str = Field(max_length=36)
    mark_id: str = Field(default="", max_length=36)
    mark_hlc: str = Field(default="", max_length=19)
    undone_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    undo_report: str | None = None
    """The undo's summary (JSON): what it removed, restored and left alone, and why."""


class ImportBatchItem(SQLModel, table=True):
    """A record the batch created (`field` NULL) or one field it changed, with both values.

    Values are journal text (`journal.encode_value`), so they compare with what the
    row holds now exactly as the journal would write it.
    """

    __tablename__ = "import_batch_item"
    batch_id: str = Field(foreign_key="import_batch.id", primary_key=True, max_length=36)
    seq: int = Field(primary_key=True)
    entity: str = Field(max_length=40)
    row_id: str = Field(max_length=36)
    field: str | None = Field(default=None, max_length=60)
    before: str | None = None
    after: str | None = None
