"""The import's phone fast path gives exactly what `normalize_phone` (phonenumbers) gives."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from phonenumbers import phonenumberutil as pu

from crmtui.domain.validate import InvalidInput, normalize_phone
from crmtui.formats.import_checks import _fast_e164, check_phone, national_candidate
from tests.budget import examples

REGIONS = ["DE", "AT", "CH", "FR", "ES", "IT", "GB", "NL", "PL", "SE", "NO", "US", "BR", "AR",
           "MX", "JP", "CN", "IN", "RU", "AU", "SM", "VA", "KR", "ZA"]  # fmt: skip


def _slow(typed: str, region: str) -> str | None:
    try:
        return normalize_phone(typed, region=region).e164
    except InvalidInput:
        return None


def _spaced(draw: st.DrawFn, digits: str) -> str:
    """Digits split into groups by single spaces, as people type them."""
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(digits) - 1)), max_size=4)))
    parts, last = [], 0
    for cut in cuts:
        if cut < len(digits):
            parts.append(digits[last:cut])
            last = cut
    parts.append(digits[last:])
    return " ".join(p for p in parts if p)


@st.composite
def typed_numbers(draw: st.DrawFn) -> str:
    """National, IDD and +country numbers of the shapes CRM exports hold, and noise."""
    body = draw(st.text("0123456789", min_size=1, max_size=16))
    kind = draw(st.sampled_from(["national", "trunk", "plus", "idd", "own-code", "raw"]))
    if kind == "trunk":
        body = "0" + body
    elif kind == "idd":
        body = draw(st.sampled_from(["00", "011", "0011", "010", "001", "8 10"])) + body
    elif kind == "own-code":
        body = draw(st.sampled_from(["49", "33", "39", "1", "44", "7"])) + body
    text = _spaced(draw, body.replace(" ", ""))
    return "+" + text if kind == "plus" else text


@settings(max_examples=examples(4000), deadline=None)
@given(typed_numbers(), st.sampled_from(REGIONS))
@example("030 2000123", "DE")
@example("+49 151 30000001", "DE")
@example("01 2000123", "FR")
@example("91 2000123", "ES")
@example("01 2000123", "AT")
@example("06 12345678", "IT")
@example("0011 49 30 123456", "AU")
@example("00 0049 30 1234567", "DE")
def test_the_fast_path_agrees_with_phonenumbers(typed: str, region: str) -> None:
    fast = _fast_e164(typed, region)
    if fast is not None:
        assert fast == _slow(typed, region)
    # And whatever path it takes, check_phone answers as normalize_phone does.
    try:
        got: str | None = check_phone(typed, region).e164
    except InvalidInput:
        got = None
    assert got == _slow(typed, region)


@settings(max_examples=examples(500), deadline=None)
@given(typed_numbers())
def test_the_parse_steps_the_fast_path_skips_change_nothing_for_its_shape(typed: str) -> None:
    # Building the national number, the viability check and the extension search:
    # for digits and single spaces they keep the text (or refuse what the fast path
    # then refuses on length).
    assert pu._build_national_number_for_parsing(typed) == typed
    assert pu._maybe_strip_extension(typed) == ("", typed)
    digits = typed.replace(" ", "").lstrip("+")
    if len(digits) >= 3:
        assert pu._is_viable_phone_number(typed)
    assert pu._normalize(typed.lstrip("+")) == digits


def test_the_fast_path_takes_every_kind_of_number_in_the_benchmark() -> None:
    # bench/imports.py: national numbers with area codes in four countries, German mobiles.
    cases = [("030 2000123", "DE"), ("040 2099999", "DE"), ("01 2012345", "FR"),
             ("04 2012345", "FR"), ("91 2012345", "ES"), ("01 2012345", "AT"),
             ("+49 151 30000001", "DE"), ("+49 151 30099999", "FR")]  # fmt: skip
    for typed, region in cases:
        assert _fast_e164(typed, region) == phonenumbers.format_number(
            phonenumbers.parse(typed, region), phonenumbers.PhoneNumberFormat.E164
        )


@pytest.mark.parametrize(
    ("typed", "region"),
    [("030-2000123", "DE"), ("(030) 2000123", "DE"), ("+49 30 1234567 ext. 5", "DE"),
     ("49 30 1234567", "DE"), ("12", "DE"), ("+999 1234567", "DE"), ("0049 30 1234567", "XX")],
)  # fmt: skip
def test_other_shapes_take_the_full_path(typed: str, region: str) -> None:
    assert _fast_e164(typed, region) is None
    try:
        got: str | None = check_phone(typed, region).e164
    except InvalidInput:
        got = None
    assert got == _slow(typed, region)


def test_a_rejected_phone_names_the_field_as_before() -> None:
    with pytest.raises(InvalidInput) as err:
        check_phone("0301", "DE", "mobile")
    assert err.value.field == "mobile" and "not a possible number" in err.value.message


ALL_REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)


def _metadata(region: str) -> object:
    return pu.PhoneMetadata.metadata_for_region(region, None)


@st.composite
def national_numbers(draw: st.DrawFn) -> tuple[str, str]:
    """A region and a digit string, often starting with that region's national prefix."""
    region = draw(st.sampled_from(ALL_REGIONS))
    body = draw(st.text("0123456789", max_size=17))
    metadata = _metadata(region)
    prefix = getattr(metadata, "national_prefix", None) or ""
    lead = draw(st.sampled_from(["", prefix, "0", "1", "15", "044", "9"]))
    return region, (lead + body)[:17]


@settings(max_examples=examples(6000), deadline=None)
@given(national_numbers())
@example(("AR", "0111512345678"))  # a transform rule with its carrier group
@example(("MX", "0445512345678"))
@example(("BR", "0211134567890"))
@example(("DE", "0302000123"))
@example(("FR", "042000001"))
def test_national_prefix_strip_equals_phonenumbers(case: tuple[str, str]) -> None:
    region, number = case
    metadata = _metadata(region)
    assert (
        national_candidate(number, metadata)
        == (pu._maybe_strip_national_prefix_carrier_code(number, metadata)[1])
    )


def test_national_prefix_strip_equals_phonenumbers_on_every_example_number() -> None:
    # Every region's own example numbers, with and without its national prefix.
    checked = 0
    for region in ALL_REGIONS:
        metadata = _metadata(region)
        prefix = metadata.national_prefix or ""
        for desc in (metadata.general_desc, metadata.fixed_line, metadata.mobile):
            example_number = getattr(desc, "example_number", None)
            if not example_number:
                continue
            for number in (example_number, prefix + example_number, "0" + example_number):
                expected = pu._maybe_strip_national_prefix_carrier_code(number, metadata)[1]
                assert national_candidate(number, metadata) == expected, (region, number)
                checked += 1
    assert checked > 500
