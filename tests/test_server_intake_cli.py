"""`crm server form|rep|assignments` from the shell: keys shown once and stored hashed,
rotation, exit codes and messages for bad form files, leave and capacity, JSON output."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from crmtui.cli import app
from crmtui.server.auth import hash_token
from crmtui.server.db import make_server_engine
from tests.intake_support import FORM

runner = CliRunner()


def test_forms_reps_and_the_log_from_the_shell(tmp_path: Path) -> None:
    db = str(tmp_path / "server.db")

    def crm(*args: str, code: int = 0) -> tuple[str, str]:
        result = runner.invoke(app, ["server", *args, "--db", db])
        assert result.exit_code == code, result.output
        return result.stdout.strip(), result.stderr.strip()

    crm("init")
    crm("add-territory", "North")
    crm("add-rep", "ann", "--territory", "North")
    form = tmp_path / "contact-us.toml"
    form.write_text(FORM.format(rate=5), encoding="utf-8")
    form_id, said = crm("form", "add", str(form))
    key = said.split("(shown once): ")[1].splitlines()[0]
    assert "no plan 'Web lead' on the server yet" in said
    engine = make_server_engine(db)
    with engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT key_sha256 FROM srv_intake_form").scalar_one()
    assert stored == hash_token(key)
    # The same file again changes nothing; a changed one keeps the key.
    assert crm("form", "add", str(form)) == (
        form_id,
        "form 'contact-us' is unchanged: nothing changed",
    )
    form.write_text(FORM.format(rate=7), encoding="utf-8")
    assert crm("form", "add", str(form))[1].startswith("form contact-us changed; its key stays")
    (listed,) = json.loads(crm("form", "list", "--format", "json")[0])
    assert (listed["name"], listed["rate"], listed["bots"]) == ("contact-us", 7, 0)
    shown = json.loads(crm("form", "show", "contact-us", "--format", "json")[0])
    assert shown["fields"][:2] == ["name", "email"]
    assert key not in json.dumps(shown)  # neither the key nor anything else shows it again
    new_key = crm("form", "rotate-key", "contact-us")[0]
    with engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT key_sha256 FROM srv_intake_form").scalar_one()
    assert stored == hash_token(new_key) != hash_token(key)
    engine.dispose()
    # Refusals: a bad file names itself and the field (exit 2), unknown names exit 1.
    bad = tmp_path / "bad.toml"
    bad.write_text(FORM.format(rate=5).replace('kind = "phone"', 'kind = "fax"'), encoding="utf-8")
    _, said = crm("form", "add", str(bad), code=2)
    assert f"{bad}: field 3 (phone): kind must be one of text, email, phone, int" in said
    crm("form", "show", "nope", code=1)
    crm("form", "rotate-key", "nope", code=1)
    elsewhere = tmp_path / "elsewhere.toml"
    elsewhere.write_text(FORM.format(rate=5).replace("North", "Mars"), encoding="utf-8")
    assert "no territory named 'Mars'" in crm("form", "add", str(elsewhere), code=1)[1]
    # Leave and capacity.
    crm("rep", "leave", "ann", "--from", "2026-12-20", "--to", "2027-01-06")
    crm("rep", "capacity", "ann", "25")
    (ann,) = json.loads(crm("rep", "routing", "--format", "json")[0])
    assert (ann["leave_from"], ann["leave_to"], ann["capacity"]) == ("2026-12-20", "2027-01-06", 25)
    assert (
        "ends (2026-12-01) before it starts"
        in crm("rep", "leave", "ann", "--from", "2026-12-20", "--to", "2026-12-01", code=2)[1]
    )
    crm("rep", "leave", "ann", "--from", "someday", "--to", "2027-01-06", code=2)
    crm("rep", "leave", "zed", "--from", "2026-12-20", "--to", "2027-01-06", code=1)
    crm("rep", "leave", "ann", "--clear")
    assert json.loads(crm("rep", "routing", "--format", "json")[0])[0]["leave_from"] is None
    assert json.loads(crm("assignments", "--format", "json")[0]) == []
