"""Accounts and deals from Salesforce, HubSpot and Pipedrive exports: profiles, stage
mapping, money and dates, account ids resolved, report footers skipped, exit codes."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crmtui.cli import app
from crmtui.domain.money import BadMoney, parse_money
from crmtui.formats.book_import import parse_close_date
from crmtui.formats.csv_import import read_csv
from crmtui.formats.table_rows import report_footer
from crmtui.store.database import Store

DATA = Path(__file__).parent / "data" / "book"
runner = CliRunner()


def _invoke(db_path: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--db", str(db_path), *args])
    return result.exit_code, result.stdout, result.stderr


def _rows(db_path: Path, sql: str) -> list[tuple]:
    db = sqlite3.connect(db_path)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


DEALS = (
    "SELECT d.name, a.name, s.name, d.status, d.amount_minor, d.currency, d.expected_close, "
    "d.probability, d.lost_reason FROM deal d JOIN stage s ON s.id = d.stage_id "
    "LEFT JOIN account a ON a.id = d.account_id WHERE d.deleted_at IS NULL ORDER BY d.name"
)


def test_salesforce_accounts_then_opportunities_resolve_account_ids(
    store: Store, db_path: Path, tmp_path: Path
) -> None:
    store.close()
    code, _out, err = _invoke(
        db_path, "import", "accounts", str(DATA / "salesforce_accounts.csv"), "--region", "US",
        "--rejects", str(tmp_path / "r.csv"),
    )  # fmt: skip
    assert code == 0, err
    assert "profile salesforce" in err
    assert "line 6: report footer or summary row skipped: Grand Totals (3 records)" in err
    assert "Confidential Information - Do Not Distribute" in err and "Copyright (c)" in err
    assert not (tmp_path / "r.csv").exists()  # nothing rejected, no file
    accounts = _rows(
        db_path,
        "SELECT name, external_id, employees, phone_e164, postcode, country, notes FROM account "
        "ORDER BY name",
    )
    assert accounts == [
        ("Acme Corporation", "0015g00000AbCdFAAA", None, "+14155550100", "94105", "US",
         "employees: 10-50"),
        ("Café Lumière SARL", "0015g00000AbCdGAAA", 35, None, "69002", "FR", None),
        ("Nordwind Logistik GmbH", "0015g00000AbCdEAAA", 1200, "+49403012345", "20457", "DE",
         "Freight forwarder; key account"),
    ]  # fmt: skip
    code, out, err = _invoke(
        db_path, "import", "deals", str(DATA / "salesforce_opportunities.csv"), "--dry-run"
    )
    assert code == 0, err
    # The dry run names each guess and what each account id resolved to.
    assert "line 3:   note: stage 'Prospecting' read as Lead In (a standard stage" in out
    assert "line 2:   note: account id 0015g00000AbCdEAAA is account Nordwind Logistik GmbH" in out
    assert "line 5:   note: close date '10/2/2026' read as month/day/year" in out
    assert "not imported: columns Opportunity Owner, Type, Lead Source, Fiscal Period" in err
    assert "Grand Totals (5 records)" in err
    code, _out, err = _invoke(
        db_path, "import", "deals", str(DATA / "salesforce_opportunities.csv")
    )
    assert code == 0, err
    assert _rows(db_path, DEALS) == [
        ("Acme pilot", "Acme Corporation", "Lead In", "open", 1250000, "USD", "2027-01-15", 10, None),
        ("Acme service contract", "Acme Corporation", "Closed Lost", "lost", 3000000, "USD",
         "2026-10-02", 0, "imported as lost"),
        ("Lumière espresso bar", "Café Lumière SARL", "Closed Won", "won", 840050, "EUR",
         "2026-11-20", 100, None),
        ("Nordwind fleet renewal", "Nordwind Logistik GmbH", "Negotiation", "open", 12500000,
         "EUR", "2027-03-31", 90, None),
        ("Nordwind warehouse scanners", "Nordwind Logistik GmbH", "Qualified", "open", 4000000,
         "EUR", "2027-06-30", 20, None),
    ]  # fmt: skip
    # A won deal is closed on its close date; every deal has its first stage recorded.
    assert _rows(db_path, "SELECT substr(closed_at, 1, 10) FROM deal WHERE status = 'won'") == [
        ("2026-11-20",)
    ]
    assert _rows(db_path, "SELECT count(*) FROM deal_stage_change") == [(5,)]
    # Importing the same file again adds nothing: each deal matches by name and account.
    code, _out, err = _invoke(
        db_path, "import", "deals", str(DATA / "salesforce_opportunities.csv")
    )
    assert code == 0, err
    assert "0 new, 0 to update, 5 matched" in err
    assert _rows(db_path, "SELECT count(*) FROM deal") == [(5,)]


def test_hubspot_companies_and_deals_unknown_stage_rejected_then_mapped(
    store: Store, db_path: Path, tmp_path: Path
) -> None:
    store.close()
    assert _invoke(db_path, "import", "accounts", str(DATA / "hubspot_companies.csv"))[0] == 0
    rejects = tmp_path / "hs.rejects.csv"
    code, out, err = _invoke(
        db_path, "import", "deals", str(DATA / "hubspot_deals.csv"), "--rejects", str(rejects)
    )
    assert code == 2
    assert (
        "line 5: rejected: stage: 'Holding Pattern' is not a stage of Sales (stages: Lead In, "
        "Qualified, Proposal, Negotiation, Closed Won, Closed Lost; map it with --stage-map "
        '"Holding Pattern=Stage")'
    ) in out
    assert "nothing was imported" in err
    assert _rows(db_path, "SELECT count(*) FROM deal") == [(0,)]
    assert "Holding Pattern" in rejects.read_text(encoding="utf-8")
    code, _out, err = _invoke(
        db_path, "import", "deals", str(DATA / "hubspot_deals.csv"),
        "--stage-map", "Holding Pattern=Qualified", "--currency", "GBP",
    )  # fmt: skip
    assert code == 0, err
    assert _rows(db_path, DEALS) == [
        ("Brightwave rebrand", "Brightwave Media", "Negotiation", "open", 1800000, "GBP",
         "2027-02-28", None, None),
        ("Brightwave retainer", "Brightwave Media", "Closed Won", "won", 6000000, "GBP",
         "2026-09-30", None, None),
        ("Kettle launch kit", "Kettle & Co", "Lead In", "open", 250000, "GBP", "2027-01-10", None,
         None),
        ("Mystery deal", "Kettle & Co", "Qualified", "open", 10000, "GBP", "2027-03-01", None,
         None),
    ]  # fmt: skip


def test_pipedrive_organizations_and_deals_with_status_and_row_named_errors(
    store: Store, db_path: Path, tmp_path: Path
) -> None:
    store.close()
    code, _out, err = _invoke(
        db_path, "import", "accounts", str(DATA / "pipedrive_organizations.csv")
    )
    assert code == 0, err
    assert _rows(db_path, "SELECT name, country, tags, employees FROM account ORDER BY name") == [
        ("Fjord Systems AS", "NO", '["hot-lead", "partner"]', 40),
        ("Tatra Tools s.r.o.", "CZ", "[]", None),
    ]
    copy = tmp_path / "deals.csv"
    copy.write_bytes((DATA / "pipedrive_deals.csv").read_bytes())
    code, out, _err = _invoke(db_path, "import", "deals", str(copy), "--skip-bad")
    assert code == 0
    assert "line 5: rejected: amount: 'twelve' is not an amount" in out
    assert _rows(db_path, DEALS) == [
        ("Fjord cloud migration", "Fjord Systems AS", "Proposal", "open", 4500000, "NOK",
         "2027-04-30", None, None),
        ("Fjord support plan", "Fjord Systems AS", "Closed Won", "won", 1200000, "NOK",
         "2026-11-15", None, None),
        ("Tatra tooling upgrade", "Tatra Tools s.r.o.", "Closed Lost", "lost", 990000, "CZK",
         "2026-12-01", None, "Budget cut"),
    ]  # fmt: skip
    rejects = (tmp_path / "deals.rejects.csv").read_text(encoding="utf-8").splitlines()
    assert rejects[0].endswith(",reason") and rejects[1].startswith("54,Tatra spare parts,")
    # Fixed and imported again: the row lands.
    fixed = tmp_path / "deals.rejects.csv"
    fixed.write_text(
        fixed.read_text(encoding="utf-8").replace(",twelve,", ",12000,"), encoding="utf-8"
    )
    code, _out, err = _invoke(db_path, "import", "deals", str(fixed))
    assert code == 0, err
    assert _rows(
        db_path,
        "SELECT amount_minor, currency, status FROM deal WHERE name = 'Tatra spare parts'",
    ) == [(1200000, "CZK", "open")]


def test_a_deal_whose_account_id_is_unknown_and_nameless_is_rejected(
    store: Store, db_path: Path, tmp_path: Path
) -> None:
    store.close()
    csv = tmp_path / "opps.csv"
    csv.write_text(
        "Id,Name,AccountId,StageName,Amount,CloseDate\n"
        "006A,Lonely deal,001MISSING,Prospecting,100,2027-01-01\n"
        "006B,Bad date,,Prospecting,100,31/31/2027\n",
        encoding="utf-8",
    )
    code, out, _err = _invoke(db_path, "import", "deals", str(csv), "--profile", "salesforce")
    assert code == 2
    assert "line 2: rejected: account id: 001MISSING is no account here (import the accounts" in out
    assert "line 3: rejected: close date: '31/31/2027' is not a date" in out
    assert _rows(db_path, "SELECT count(*) FROM deal") == [(0,)]


def test_bad_stage_map_and_profile_options_exit_2(store: Store, db_path: Path) -> None:
    store.close()
    code, _out, err = _invoke(
        db_path, "import", "deals", str(DATA / "hubspot_deals.csv"), "--stage-map", "X=Nowhere"
    )
    assert code == 2 and "'Nowhere' is not a stage of Sales" in err
    code, _out, err = _invoke(
        db_path, "import", "deals", str(DATA / "hubspot_deals.csv"), "--stage-map", "novalue"
    )
    assert code == 2 and "expected" in err
    code, _out, err = _invoke(
        db_path, "import", "accounts", str(DATA / "hubspot_companies.csv"), "--profile", "zoho"
    )
    assert code == 2 and "--profile must be one of" in err


def test_contacts_account_id_links_to_the_imported_account(
    store: Store, db_path: Path, tmp_path: Path
) -> None:
    store.close()
    assert _invoke(db_path, "import", "accounts", str(DATA / "salesforce_accounts.csv"))[0] == 0
    csv = tmp_path / "contacts.csv"
    csv.write_text(
        "Contact ID,First Name,Last Name,Email,Account ID,Account Name\n"
        "003A,Eva,Stern,eva@nordwind.example,0015g00000AbCdEAAA,Nordwind (old name)\n"
        "003B,Tom,Gray,tom@else.example,001UNKNOWN,Elsewhere Ltd\n",
        encoding="utf-8",
    )
    code, out, err = _invoke(db_path, "import", "csv", str(csv), "--dry-run")
    assert code == 0, err
    assert "account id 0015g00000AbCdEAAA is account Nordwind Logistik GmbH" in out
    assert "account id 001UNKNOWN is no account here" in out
    assert _invoke(db_path, "import", "csv", str(csv))[0] == 0
    assert _rows(
        db_path,
        "SELECT c.name, a.name FROM contact c JOIN account a ON a.id = c.account_id ORDER BY c.name",
    ) == [("Eva Stern", "Nordwind Logistik GmbH"), ("Tom Gray", "Elsewhere Ltd")]


def test_contacts_report_footers_are_skipped_not_imported(tmp_path: Path) -> None:
    csv = tmp_path / "report.csv"
    csv.write_text(
        '"First Name","Last Name","Email"\n"Ada","Lovelace","ada@example.com"\n""\n'
        '"Grand Totals (1 records)"\n""\n"Confidential Information - Do Not Distribute"\n'
        '"Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved."\n',
        encoding="utf-8",
    )
    source = read_csv(csv)
    assert [line for line, _cells in source.records] == [2]
    assert [line for line, _text in source.skipped] == [4, 6, 7]


@pytest.mark.parametrize(
    ("cells", "footer"),
    [
        (["Grand Totals (12 records)", "", "1,000.00"], True),
        (["Total", "", "1,234.00", "EUR 5"], True),
        (["Subtotal", "3"], True),
        (["Total", "Reed", "total@example.com"], False),  # a person named Total
        (["Grace", "Hopper"], False),
        (["Copyright © 2026 HubSpot, Inc."], True),
    ],
)
def test_report_footer_recognition(cells: list[str], footer: bool) -> None:
    assert (report_footer(cells) is not None) is footer


def test_close_dates_and_grouping_that_is_not_grouping() -> None:
    notes: list[str] = []
    assert parse_close_date("2027-03-31 00:00", notes) == date(2027, 3, 31)
    assert parse_close_date("31.03.2027", notes) == date(2027, 3, 31)
    assert parse_close_date("31/3/2027", notes) == date(2027, 3, 31)
    assert notes == []
    assert parse_close_date("4/3/2027", notes) == date(2027, 4, 3)
    assert notes == ["close date '4/3/2027' read as month/day/year"]
    with pytest.raises(BadMoney):
        parse_money("12.5.3", default_currency="EUR")  # was read as 1,253.00
    assert parse_money("1,23,456.00", default_currency="INR").minor == 12345600
    assert parse_money("1.234.567", default_currency="EUR").minor == 123456700


def test_a_deals_contact_person_links_only_when_one_contact_has_that_name(
    store: Store, db_path: Path, tmp_path: Path
) -> None:
    from crmtui.services.address_book.contacts import ContactCreate, create_contact

    with store.write() as tx:
        kari = create_contact(tx=tx, data=ContactCreate(name="Kari Nordmann"), region="NO").id
        for _ in range(2):
            create_contact(tx=tx, data=ContactCreate(name="Ola Hansen"), region="NO")
    store.close()
    csv = tmp_path / "deals.csv"
    csv.write_text(
        "Deal - Title,Deal - Organization,Deal - Contact person,Deal - Stage,Deal - Value,"
        "Deal - Currency\n"
        "Fjord audit,Fjord Systems AS,Kari Nordmann,Lead In,1000,NOK\n"
        "Fjord training,Fjord Systems AS,Ola Hansen,Lead In,500,NOK\n",
        encoding="utf-8",
    )
    code, out, err = _invoke(db_path, "import", "deals", str(csv), "--dry-run")
    assert code == 0, err
    assert (
        f"contact 'Kari Nordmann' is Kari Nordmann [{kari}] (the one contact of that name)" in out
    )
    assert "contact 'Ola Hansen' not linked: 2 contacts have that name" in out
    assert "account 'Fjord Systems AS' is new: it will be created" in out
    assert _invoke(db_path, "import", "deals", str(csv))[0] == 0
    assert _rows(db_path, "SELECT name, contact_id FROM deal ORDER BY name") == [
        ("Fjord audit", kari),
        ("Fjord training", None),
    ]
    # One account made for both rows, not one per row.
    assert _rows(db_path, "SELECT name FROM account") == [("Fjord Systems AS",)]


def test_deals_keep_their_source_id_so_a_renamed_deal_is_not_imported_twice(
    store: Store, db_path: Path, tmp_path: Path
) -> None:
    store.close()
    assert _invoke(db_path, "import", "accounts", str(DATA / "salesforce_accounts.csv"))[0] == 0
    code, _out, err = _invoke(
        db_path, "import", "deals", str(DATA / "salesforce_opportunities.csv")
    )
    assert code == 0, err
    assert ("0065g00000XyZ1AAA",) in _rows(db_path, "SELECT external_id FROM deal")
    # The same export a month later: one deal renamed in the source, one new deal that
    # shares a stored deal's name and account but has its own source id.
    text = (DATA / "salesforce_opportunities.csv").read_text(encoding="utf-8")
    lines = text.splitlines()
    renamed = lines[1].replace("Nordwind fleet renewal", "Nordwind fleet renewal (phase 1)")
    twin = lines[2].replace("0065g00000XyZ2AAA", "0065g00000XyZ9AAA")
    later = tmp_path / "later.csv"
    later.write_text("\n".join([lines[0], renamed, twin]) + "\n", encoding="utf-8")
    code, out, err = _invoke(db_path, "import", "deals", str(later), "--dry-run")
    assert code == 0, err
    assert "same external id as deal Nordwind fleet renewal [" in out + err
    code, _out, err = _invoke(db_path, "import", "deals", str(later))
    assert code == 0, err
    assert "1 new" in err
    assert _rows(db_path, "SELECT count(*) FROM deal WHERE external_id = '0065g00000XyZ9AAA'") == [
        (1,)
    ]
    assert _rows(db_path, "SELECT count(*) FROM deal WHERE name LIKE 'Nordwind fleet%'") == [(1,)]
    # The source id is a synced field: journaled in the deal's create op.
    (packed,) = _rows(
        db_path,
        "SELECT j.value FROM journal j JOIN deal d ON d.id = j.row_id "
        "WHERE j.entity = 'deal' AND j.op = 'create' AND d.external_id = '0065g00000XyZ9AAA'",
    )
    assert "0065g00000XyZ9AAA" in str(packed[0])
