"""Quote PDF labels in the customer's language (en, de, fr, cs; English otherwise) and the
company's logo, checked by reading the PDF back with pypdf."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from crmtui.formats.quote_labels import LABEL_SETS, customer_language, labels_for
from crmtui.formats.quote_pdf import DROID_FALLBACK
from crmtui.store.database import open_store
from tests.test_quotes import _catalogue, _deal_with_lines, crm

pytestmark = pytest.mark.skipif(
    not DROID_FALLBACK.is_file() and os.environ.get("CRMTUI_REQUIRE_PG") != "1",
    # In CI (CRMTUI_REQUIRE_PG=1, .ci/run installs the font) a missing font fails the test.
    reason="fonts-droid-fallback not installed (.ci/run installs it)",
)
ACCOUNT = "株式会社 Dvořák & Søn Straße"  # the account `_deal_with_lines` makes


@pytest.fixture
def quote(db_path: Path) -> tuple[Path, str]:
    store = open_store(db_path)
    with store.write() as tx:
        _catalogue(tx)
        deal_id = _deal_with_lines(tx)
    store.close()
    code, out, err = crm(db_path, "quote", "new", deal_id)
    assert code == 0, err
    return db_path, out.strip().split(" v")[0]


def _config(text: str) -> None:
    Path(os.environ["CRMTUI_CONFIG"]).write_text(text, encoding="utf-8")


def _pdf(db: Path, number: str, target: Path) -> tuple[int, str, list[str], PdfReader | None]:
    code, _, err = crm(db, "quote", "pdf", number, "-o", str(target))
    if code != 0:
        return code, err, [], None
    reader = PdfReader(io.BytesIO(target.read_bytes()))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return code, err, [line.strip() for line in text.splitlines()], reader


def test_every_label_set_is_complete() -> None:
    for code, labels in LABEL_SETS.items():
        assert set(labels) == set(LABEL_SETS["en"]), code
    assert labels_for("de-AT")[0] == "de" and labels_for("CS")[0] == "cs"
    assert labels_for("it") == ("en", LABEL_SETS["en"]) and labels_for(None)[0] == "en"
    choices = {"jo@example.com": "fr", "acme": "de"}
    assert (
        customer_language(choices, "cs", contact=["x", "Jo@Example.com"], account=["Acme"]) == "fr"
    )
    assert customer_language(choices, "cs", contact=["x"], account=["ACME"]) == "de"
    assert customer_language(choices, "cs", contact=[None], account=[None]) == "cs"


@pytest.mark.parametrize(
    ("language", "title", "net", "tax", "total", "valid"),
    [
        ("de", "Angebot", "Netto", "USt.", "Gesamt", "Gültig bis"),
        ("fr", "Devis", "Total HT", "TVA", "Total TTC", "Valable jusqu'au"),
        ("cs", "Nabídka", "Bez DPH", "DPH", "Celkem", "Platnost do"),
    ],
)
def test_labels_follow_the_accounts_language(
    quote: tuple[Path, str], tmp_path: Path, language: str, title: str, net: str, tax: str,
    total: str, valid: str,
) -> None:  # fmt: skip
    db, number = quote
    _config(f'quote_language = "en"\n\n[quote_languages]\n"{ACCOUNT}" = "{language}"\n')
    code, err, lines, _ = _pdf(db, number, tmp_path / "q.pdf")
    assert code == 0, err
    assert f"{title} {number} v1" in lines
    assert f"{net} 1,085.70 €" in lines
    assert f"{tax} standard 19% 194.94 €" in lines
    assert f"{total} EUR 1,284.82 €" in lines
    assert any(line.startswith(valid) or f" {valid}: " in line for line in lines), lines
    assert "Quote" not in " ".join(lines)


def test_a_language_without_labels_prints_english(quote: tuple[Path, str], tmp_path: Path) -> None:
    db, number = quote
    _config('quote_language = "it"\n')
    code, err, lines, _ = _pdf(db, number, tmp_path / "q.pdf")
    assert code == 0, err
    assert f"Quote {number} v1" in lines and "Net 1,085.70 €" in lines
    assert "no quote labels in 'it'" in err


def test_logo_is_embedded(quote: tuple[Path, str], tmp_path: Path) -> None:
    db, number = quote
    for suffix, kind in (("png", "PNG"), ("jpg", "JPEG")):
        logo = tmp_path / f"logo.{suffix}"
        Image.new("RGB", (120, 60), (200, 30, 30)).save(logo, kind)
        _config(f'quote_logo = "{logo}"\n')
        code, err, lines, reader = _pdf(db, number, tmp_path / f"q-{suffix}.pdf")
        assert code == 0, err
        assert reader is not None and len(reader.pages[0].images) == 1
        assert f"Quote {number} v1" in lines


def test_a_missing_or_unreadable_logo_names_the_path(
    quote: tuple[Path, str], tmp_path: Path
) -> None:
    db, number = quote
    target = tmp_path / "q.pdf"
    missing = tmp_path / "nope.png"
    _config(f'quote_logo = "{missing}"\n')
    code, err, _, _ = _pdf(db, number, target)
    assert code == 2 and str(missing) in err and "no such file" in err
    assert "Traceback" not in err and not target.exists()
    fake = tmp_path / "logo.png"
    fake.write_text("not an image", encoding="utf-8")
    _config(f'quote_logo = "{fake}"\n')
    code, err, _, _ = _pdf(db, number, target)
    assert code == 2 and str(fake) in err and "not a PNG or JPEG" in err
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    _config(f'quote_logo = "{broken}"\n')
    code, err, _, _ = _pdf(db, number, target)
    assert code == 2 and str(broken) in err
    assert not target.exists()


def test_a_bad_language_table_is_a_config_error(quote: tuple[Path, str], tmp_path: Path) -> None:
    db, number = quote
    _config("quote_languages = 3\n")
    code, err, _, _ = _pdf(db, number, tmp_path / "q.pdf")
    assert code == 2 and "quote_languages" in err
