"""How the Duplicates section draws a pair side by side and says what merging it will do.

Pure functions of the two `PairSide`s and the `MergePreview` (the merge's own plan):
no I/O, no widgets, so the view is the same in the screen, the prompt and tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from rich.text import Text

if TYPE_CHECKING:
    from crmtui.quality.merge_preview import MergePreview, PairChoice, PairSide

VALUE_WIDTH = 30  # label + three value columns fit 120 columns without scrolling
LABEL_WIDTH = 11


@dataclass(frozen=True)
class FieldRow:
    """One line of the side-by-side view."""

    key: str
    label: str
    field: str | None = None
    """The merge field a person may pick a side for (`services.upkeep.merge.CHOOSABLE`), else None."""


FIELD_ROWS: tuple[FieldRow, ...] = (
    FieldRow("name", "name", "name"),
    FieldRow("company", "company", "account_id"),
    FieldRow("title", "title", "title"),
    FieldRow("email", "email", "email"),
    FieldRow("phone", "phone", "phone"),
    FieldRow("mobile", "mobile", "mobile"),
    FieldRow("city", "city", "city"),
    FieldRow("country", "country", "country"),
    FieldRow("owner", "owner", "owner_id"),
    FieldRow("tags", "tags"),
    FieldRow("consent", "consent"),
    FieldRow("notes", "notes"),
    FieldRow("activities", "activities"),
    FieldRow("ticklers", "reminders"),
    FieldRow("deals", "deals"),
)
COUNTS = ("activities", "ticklers", "deals")
# Rows whose merged value is a rule, not a pick: said when someone tries to pick.
RULES = {
    "tags": "Tags are united: the survivor gets both sides' tags.",
    "consent": "Consent keeps any opt-out: do not call/email on either side stays.",
    "notes": "Notes are kept from both sides, with any email or number that has no field left.",
    "activities": "All activities move to the contact that stays.",
    "ticklers": "All reminders move to the contact that stays.",
    "deals": "All deals move to the contact that stays.",
}


def _consent(do_not_call: bool, do_not_email: bool) -> str | None:
    words = [w for w, on_ in (("do not call", do_not_call), ("do not email", do_not_email)) if on_]
    return ", ".join(words) or None


def shown_value(side: PairSide, key: str) -> str | None:
    """What the view shows for one side of a row."""
    c = side.contact
    if key == "company":
        return side.company
    if key == "owner":
        return side.owner
    if key == "tags":
        return ", ".join(c.tags) or None
    if key == "consent":
        return _consent(c.do_not_call, c.do_not_email)
    if key in COUNTS:
        return str(getattr(side, key))
    return cast("str | None", getattr(c, key))


def compared_value(side: PairSide, key: str) -> object:
    """What decides whether the two sides of a row differ (ids and E.164, not display text)."""
    c = side.contact
    stored = {
        "company": c.account_id,
        "owner": c.owner_id,
        "phone": c.phone_e164,
        "mobile": c.mobile_e164,
        "tags": tuple(sorted(c.tags)),
    }
    return stored[key] if key in stored else shown_value(side, key)


def merged_value(preview: MergePreview, a: PairSide, b: PairSide, key: str) -> str | None:
    """What the contact that stays would show for a row after the merge."""
    v = preview.values
    if key == "company":
        return preview.company
    if key == "owner":
        return preview.owner
    if key == "tags":
        return ", ".join(v["tags"]) or None
    if key == "consent":
        return _consent(v["do_not_call"], v["do_not_email"])
    if key in COUNTS:
        return str(getattr(a, key) + getattr(b, key))
    return cast("str | None", v[key])


def kept(preview: MergePreview, side: PairSide, key: str) -> str:
    """Whether a side's value survives the merge: "kept", "notes" (only in the notes) or ""."""
    c, v = side.contact, preview.values
    if shown_value(side, key) is None:
        return ""
    if key in ("phone", "mobile"):
        number = getattr(c, f"{key}_e164")
        if number in (v["phone_e164"], v["mobile_e164"]):
            return "kept"
    elif key in RULES:
        return "kept"  # united or moved: nothing of either side is lost
    elif key == "company":
        if c.account_id == v["account_id"]:
            return "kept"
    elif key == "owner":
        if c.owner_id == v["owner_id"]:
            return "kept"
    elif getattr(c, key) == v[key]:
        return "kept"
    typed = shown_value(side, key)
    if key in ("email", "phone", "mobile") and typed and typed in (v["notes"] or ""):
        return "notes"
    return ""


def _cell(text: str | None, style: str = "", prefix: str = "") -> Text:
    if text is None:
        return Text("—", style="dim")
    # One line per cell: notes and addresses may hold line breaks.
    cell = Text(prefix + " ".join(text.split()), style=style)
    cell.truncate(VALUE_WIDTH, overflow="ellipsis")
    return cell


def side_cell(value: str | None, fate: str, differ: bool) -> Text:
    """A side's value, marked ✓ when it is kept; dimmed when the merge drops it."""
    if fate == "kept":
        return _cell(value, "bold green" if differ else "", "✓ ")
    if fate == "notes":
        return _cell(value, "dim italic", "→ notes: ")
    return _cell(value, "dim", "  ")


def differs(a: PairSide, b: PairSide, row: FieldRow) -> bool:
    """True when the two sides' values compete (counts add up, so they never do)."""
    return row.key not in COUNTS and compared_value(a, row.key) != compared_value(b, row.key)


def row_cells(
    row: FieldRow, a: PairSide, b: PairSide, preview: MergePreview
) -> tuple[Text, Text, Text, Text]:
    """The label, A, B and after-merge cells of one row; rows that differ are highlighted."""
    if row.key in COUNTS:
        count_a, count_b = getattr(a, row.key), getattr(b, row.key)
        return (
            Text(row.label, style="dim"),
            Text(str(count_a)),
            Text(str(count_b)),
            Text(f"{count_a + count_b} in all"),
        )
    differ = differs(a, b, row)
    label = Text(row.label, style="bold yellow" if differ else "dim")
    if differ:
        label.append(" ≠")
    after = _cell(merged_value(preview, a, b, row.key))
    if differ and row.field is not None and row.field in preview.sources:
        after.append(f" ◂{preview.sources[row.field]}", style="dim")
    return (
        label,
        side_cell(shown_value(a, row.key), kept(preview, a, row.key), differ),
        side_cell(shown_value(b, row.key), kept(preview, b, row.key), differ),
        after,
    )


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def merge_summary(a: PairSide, b: PairSide, choice: PairChoice, preview: MergePreview) -> list[str]:
    """What a merge will do, in the words of the confirmation prompt."""
    stays, goes = (a, b) if choice.survivor == "A" else (b, a)
    moved = ", ".join(
        (
            _plural(goes.activities, "activity", "activities"),
            _plural(goes.ticklers, "reminder", "reminders"),
            _plural(goes.deals, "deal", "deals"),
        )
    )
    # Named by side, not by id: two contacts made in the same minute share a UUIDv7's
    # first eight characters, so a short id told them apart in nothing.
    lines = [
        f"Stays:   {stays.contact.name} ({choice.survivor})",
        f"Deleted: {goes.contact.name} ({choice.other()})",
        f"Moves to {stays.contact.name}: {moved}.",
    ]
    picked = dict(choice.picks)
    differing = [
        f"{r.label} from {preview.sources[r.field]}" + (" (picked)" if r.field in picked else "")
        for r in FIELD_ROWS
        if r.field is not None and differs(a, b, r)
    ]
    if differing:
        lines.append("Where they differ: " + ", ".join(differing) + ".")
    lines.append(
        "Tags are united and any opt-out stays. Notes from both are kept, with any "
        "number or email left without a field."
    )
    return lines
