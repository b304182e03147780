"""A quote as PDF, made on the laptop with fpdf2 and embedded Unicode fonts.

The main font is DejaVu Sans (Latin, Greek, Cyrillic: €, ř, ß); it has no CJK, so a
customer named 株式会社 needs a fallback font (`quote_fallback_fonts` in the config;
by default Droid Sans Fallback when it is installed, see docs/decisions.md). Every
character of the document is checked against the fonts before anything is drawn: a
character no font has is reported with where it is (`MissingGlyphs`), never drawn as
an empty box or dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crmtui.formats.quote_labels import FALLBACK, LABEL_SETS

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
DEJAVU_BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
DROID_FALLBACK = Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf")
SYMBOLS = {"EUR": "€", "GBP": "£", "USD": "$", "JPY": "¥", "CHF": "CHF", "INR": "₹"}


class MissingGlyphs(ValueError):
    """Characters of the document that no configured font can draw."""

    def __init__(self, missing: dict[str, list[str]]) -> None:
        where = "; ".join(f"{place}: {''.join(chars)}" for place, chars in missing.items())
        super().__init__(
            f"no font draws these characters ({where}); add a font that has them to "
            "quote_fallback_fonts in the config"
        )
        self.missing = missing


class FontMissing(ValueError):
    """A configured font file that is not there."""


@dataclass(frozen=True)
class QuoteLineText:
    """One line as printed."""

    sku: str
    description: str
    quantity: str
    unit_price: str
    discount: str
    tax: str
    net: str


@dataclass
class QuoteDocument:
    """Everything the PDF prints, already formatted (the renderer does no arithmetic)."""

    title: str
    number: str
    issued: str
    valid_until: str
    company_name: str
    company_address: str
    customer_name: str
    customer_address: str
    lines: list[QuoteLineText]
    totals: list[tuple[str, str]]
    """(label, amount) rows under the lines: net, each tax class, total."""
    terms: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    logo: Path | None = None
    """A PNG or JPEG printed at the top right (`check_logo` before drawing)."""

    def texts(self) -> dict[str, str]:
        """Every text the document prints, by where it is (for the glyph check)."""
        out = {
            "title": self.title, "number": self.number, "company": self.company_name,
            "company address": self.company_address, "customer": self.customer_name,
            "customer address": self.customer_address, "terms": self.terms,
        }  # fmt: skip
        for i, line in enumerate(self.lines, start=1):
            out[f"line {i}"] = " ".join(
                (line.sku, line.description, line.quantity, line.unit_price, line.discount,
                 line.tax, line.net)
            )  # fmt: skip
        for label, amount in self.totals:
            out[f"total {label}"] = f"{label} {amount}"
        for key, label in self.labels.items():
            out[f"label {key}"] = label
        return out


def _cmap(path: Path) -> set[int]:
    from fontTools.ttLib import TTFont

    with TTFont(str(path), lazy=True) as font:
        return set(font.getBestCmap())


def check_glyphs(doc: QuoteDocument, fonts: Sequence[Path]) -> None:
    """Raise MissingGlyphs when a character of the document is in none of the fonts."""
    covered: set[int] = set()
    for path in fonts:
        covered |= _cmap(path)
    missing: dict[str, list[str]] = {}
    for place, text in doc.texts().items():
        for ch in dict.fromkeys(text):
            if ch.isspace() or ord(ch) in covered:
                continue
            missing.setdefault(place, []).append(ch)
    if missing:
        raise MissingGlyphs(missing)


LABELS = LABEL_SETS[FALLBACK]
"""The English labels; a document's own `labels` (its customer's language) win."""
LOGO_WIDTH_MM = 40
LOGO_HEIGHT_MM = 20


class LogoError(ValueError):
    """The configured logo cannot be used (missing, unreadable, not a PNG or JPEG)."""


def check_logo(path: Path) -> None:
    """Raise LogoError naming `path` unless it is a readable PNG or JPEG file."""
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except FileNotFoundError:
        raise LogoError(f"quote_logo {path}: no such file") from None
    except IsADirectoryError:
        raise LogoError(f"quote_logo {path}: is a folder, not an image") from None
    except OSError as exc:
        raise LogoError(f"quote_logo {path}: cannot be read ({exc.strerror or exc})") from None
    if not (head.startswith(b"\x89PNG\r\n\x1a\n") or head.startswith(b"\xff\xd8\xff")):
        raise LogoError(f"quote_logo {path}: not a PNG or JPEG image")
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise LogoError(f"quote_logo {path}: the image cannot be read ({exc})") from None


def _draw_head(pdf: Any, doc: QuoteDocument, labels: dict[str, str]) -> None:
    """The logo, title, company, customer and dates above the lines."""
    if doc.logo is not None:
        # Top right, fitted in a box keeping its proportions; the title starts left of it.
        pdf.image(str(doc.logo), x=pdf.w - pdf.r_margin - LOGO_WIDTH_MM, y=pdf.t_margin,
                  w=LOGO_WIDTH_MM, h=LOGO_HEIGHT_MM, keep_aspect_ratio=True)  # fmt: skip
    pdf.set_font("Main", "B", 16)
    pdf.cell(0, 10, f"{doc.title} {doc.number}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Main", "", 10)
    pdf.multi_cell(0, 5, "\n".join(p for p in (doc.company_name, doc.company_address) if p),
                   new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    pdf.ln(4)
    pdf.set_font("Main", "B", 10)
    pdf.cell(0, 5, labels["to"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Main", "", 10)
    pdf.multi_cell(0, 5, "\n".join(p for p in (doc.customer_name, doc.customer_address) if p),
                   new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    pdf.ln(2)
    pdf.cell(0, 5, f"{labels['date']}: {doc.issued}    {labels['valid']}: {doc.valid_until}",
             new_x="LMARGIN", new_y="NEXT")  # fmt: skip


def render(doc: QuoteDocument, *, font: Path = DEJAVU, bold: Path | None = DEJAVU_BOLD,
           fallbacks: Sequence[Path] = ()) -> bytes:  # fmt: skip
    """The quote as PDF bytes, fonts embedded (subset); MissingGlyphs before drawing."""
    from fpdf import FPDF

    for path in (font, *([bold] if bold else []), *fallbacks):
        if not path.is_file():
            raise FontMissing(f"font file {path} not found")
    if doc.logo is not None:
        check_logo(doc.logo)
    labels = {**LABELS, **doc.labels}
    doc.labels = labels
    check_glyphs(doc, [font, *fallbacks])
    pdf = FPDF(format="A4")
    pdf.set_title(f"{doc.title} {doc.number}")
    pdf.set_creator("crmtui")
    pdf.add_font("Main", "", str(font))
    pdf.add_font("Main", "B", str(bold if bold else font))
    names = []
    for i, path in enumerate(fallbacks):
        name = f"Fallback{i}"
        pdf.add_font(name, "", str(path))
        pdf.add_font(name, "B", str(path))
        names.append(name)
    if names:
        pdf.set_fallback_fonts(names, exact_match=False)
    pdf.add_page()
    _draw_head(pdf, doc, labels)
    pdf.ln(4)
    pdf.set_font("Main", "", 9)
    head = [
        labels[k] for k in ("sku", "description", "quantity", "price", "discount", "tax", "net")
    ]
    with pdf.table(col_widths=(18, 62, 14, 26, 14, 24, 30),
                   text_align=("LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT", "LEFT", "RIGHT")) as table:  # fmt: skip
        table.row(head)
        for line in doc.lines:
            table.row([line.sku, line.description, line.quantity, line.unit_price, line.discount,
                       line.tax, line.net])  # fmt: skip
    pdf.ln(3)
    for i, (label, amount) in enumerate(doc.totals):
        last = i == len(doc.totals) - 1
        pdf.set_font("Main", "B" if last else "", 10)
        pdf.cell(140, 6, label, align="R")
        pdf.cell(0, 6, amount, align="R", new_x="LMARGIN", new_y="NEXT")
    if doc.terms:
        pdf.ln(4)
        pdf.set_font("Main", "B", 10)
        pdf.cell(0, 5, labels["terms"], new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Main", "", 9)
        pdf.multi_cell(0, 5, doc.terms, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
