"""Decoding import files: decided per file, with a per-line fallback that is never silent.

UTF-8 (with or without BOM) and UTF-16 with a BOM are read as such; UTF-16 without
one is recognised by its zero bytes and read with a note. A file that
is not valid UTF-8 is read line by line: lines that are valid UTF-8 stay UTF-8,
and only the lines that are not are read as Windows-1252 (what Windows
spreadsheets and old Outlook save), with a note naming those lines. A file with
no UTF-8 multi-byte text at all is a Windows-1252 file, noted as such. One bad
byte never turns every name of a UTF-8 file into mojibake.
"""

from __future__ import annotations

from dataclasses import dataclass, field

_SHOWN_LINES = 10


class UndecodableError(ValueError):
    """A line is neither UTF-8 nor Windows-1252; the message names the line and byte."""


@dataclass
class Decoded:
    """A file's text, the encoding it was read in, and what had to be guessed."""

    text: str
    encoding: str
    note: str | None = None
    fallback_lines: list[int] = field(default_factory=list)


def _lines(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:_SHOWN_LINES])
    more = len(numbers) - _SHOWN_LINES
    return shown + (f" and {more} more" if more > 0 else "")


def _bomless_utf16(data: bytes) -> Decoded | None:
    """UTF-16 without a byte-order mark (some "Unicode text" exports): Latin text then has
    a zero byte at every other position, which no UTF-8 or Windows-1252 file has."""
    sample = data[:4096]
    if b"\x00" not in sample or len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    for zeros, other, codec in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if zeros.count(0) >= 0.9 * len(zeros) and other.count(0) <= 0.1 * len(other):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError:
                return None
            note = f"no byte-order mark: read as {codec.upper()} (every other byte is zero)"
            return Decoded(text, codec, note)
    return None


def decode_file(data: bytes) -> Decoded:
    """Decode an import file's bytes (see the module docstring); raises UndecodableError."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        bom = True
    else:
        bom = False
    if not bom and data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return Decoded(data.decode("utf-16"), "utf-16")
        except UnicodeDecodeError:
            pass  # not UTF-16 after all: read by lines below, and said so
    if not bom and (guessed := _bomless_utf16(data)) is not None:
        return guessed
    try:
        return Decoded(data.decode("utf-8"), "utf-8-sig" if bom else "utf-8")
    except UnicodeDecodeError:
        pass
    parts = data.split(b"\n")
    out: list[str] = []
    bad: list[int] = []
    utf8_text = False
    for number, part in enumerate(parts, 1):
        try:
            text = part.decode("utf-8")
            utf8_text = utf8_text or not part.isascii()
        except UnicodeDecodeError:
            try:
                text = part.decode("cp1252")
            except UnicodeDecodeError as exc:
                byte = part[exc.start : exc.start + 1].hex()
                raise UndecodableError(
                    f"line {number}: byte 0x{byte} cannot be decoded as UTF-8 or Windows-1252 "
                    "(save the file as UTF-8 and try again)"
                ) from exc
            bad.append(number)
        out.append(text)
    text = "\n".join(out)
    if not utf8_text:
        return Decoded(
            text, "cp1252", f"not UTF-8 (first at line {bad[0]}); read as Windows-1252", bad
        )
    return Decoded(
        text,
        "utf-8",
        f"UTF-8 file with lines that are not UTF-8, read as Windows-1252: lines {_lines(bad)}"
        " (check their accents)",
        bad,
    )
