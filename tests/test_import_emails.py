"""The import's email fast path gives exactly what `normalize_email` (email_validator) gives."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from crmtui.domain.validate import InvalidInput, normalize_email
from crmtui.formats import import_checks
from crmtui.formats.import_checks import check_email
from tests.budget import examples

# Characters of every kind the local part may hold: ASCII atext and dots, precomposed
# and decomposed accents, combining marks, other scripts, symbols and punctuation,
# spaces, format and control characters, and homoglyphs of "@" and "<".
_LOCAL_CHARS = (
    "abcXYZ019.!#$%&'*+/=?^_`{|}~-"
    "äöüëéèçñøåßÄÖÜÉŁłıİ"
    "\u0301\u0308\u0327"  # combining acute, diaeresis, cedilla
    "用户例子日本語ΑλφαБорис"
    "€©™«»¿¡·"
    "\u00a0\u2028\u200b\u200e\u0085\ufeff"  # NBSP, line separator, ZWSP, LRM, NEL, BOM
    "＠﹫＜\u212b\u2126"  # fullwidth and small at, fullwidth <, Angstrom and Ohm signs
    ' "<>@\\,;:()[]'
)
_ROLES = ["info", "Info", "SALES", "PostMaster", "www", "infos", "nfo"]


@st.composite
def addresses(draw: st.DrawFn) -> str:
    """Addresses near the edges of the fast path's shapes, and plenty beyond them."""
    if draw(st.booleans()):
        local = draw(st.text(st.sampled_from(_LOCAL_CHARS), min_size=0, max_size=12))
    elif draw(st.booleans()):
        local = draw(st.sampled_from(_ROLES))
    else:
        local = draw(st.text(st.characters(min_codepoint=0x80), min_size=1, max_size=6))
    if draw(st.integers(0, 9)) == 0:
        local = local * draw(st.integers(5, 30))  # around the 64-character limit
    labels = draw(
        st.lists(
            st.text("abcXYZ09-", min_size=1, max_size=8)
            | st.sampled_from(["example", "EXAMPLE", "bücher", "例子", "a" * 63, "a" * 64]),
            min_size=1,
            max_size=4,
        )
    )
    tld = draw(st.sampled_from(["com", "DE", "c", "co1", "localhost", "test", "invalid", "广告"]))
    domain = ".".join([*labels, tld])
    if draw(st.integers(0, 9)) == 0:
        domain = ".".join(["x" * 60] * 4) + ".com"  # around the 254-byte limit
    return f"{local}@{domain}"


def _outcome(check: object, address: str) -> str | None:
    try:
        return check(address)  # type: ignore[operator, no-any-return]
    except InvalidInput:
        return None


@settings(max_examples=examples(3000), deadline=None)
@given(addresses())
@example("0@00--0.com")  # "--" in a label's 3rd-4th places: IDNA's, refused
@example("zoë.12@example12.com")
@example("Zoë.Info@X.com")
@example("Info@Example.com")
@example("e\u0301x@example.com")  # decomposed: email_validator returns the NFC form
@example("\u0301x@example.com")  # a combining mark first is unsafe
@example("a\u00a0b@example.com")
@example("用户@example.com")
@example("ü" * 64 + "@example.com")
@example("ü" * 65 + "@example.com")
@example("\ud800@example.com")  # a lone surrogate (not UTF-8): refused, not a crash
@example("a\udfff.b@example.com")
@example("ü" * 63 + "@" + "b" * 60 + "." + "c" * 60 + "." + "d" * 60 + ".com")
def test_fast_email_check_equals_email_validator(address: str) -> None:
    assert _outcome(check_email, address) == _outcome(normalize_email, address)


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("zoë.12@Example12.com", "zoë.12@example12.com"),
        ("björn.7@example.com", "björn.7@example.com"),
        ("Info@Example.com", "info@example.com"),
        ("jose.garcía@x.es", "jose.garcía@x.es"),
    ],
)
def test_common_addresses_skip_email_validator(
    address: str, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def slow(text: str) -> str:
        raise AssertionError(f"{text!r} took the full check")

    monkeypatch.setattr(import_checks, "normalize_email", slow)
    assert check_email(address) == expected
