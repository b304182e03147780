"""Money as integer minor units plus an ISO 4217 currency: parse, check and format.

Amounts are never floats: "12,500.50 EUR" becomes (1250050, "EUR"), "1,000 JPY"
becomes (1000, "JPY") because the yen has no minor unit, and "1.5 KWD" becomes
(1500, "KWD") (three decimals). Pure Python, no imports beyond `re`, so the read
side can format amounts cheaply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Minor-unit exponents that are not 2 (ISO 4217; the list is short and stable).
_EXPONENT_NOT_2 = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0,
    "XPF": 0, "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    "CLF": 4, "UYW": 4,
}  # fmt: skip
# Active ISO 4217 codes with two decimals; an unknown code is refused, so a typo
# ("EUT") never becomes a currency of its own that no total can add up.
_EXPONENT_2 = frozenset(
    [
        "AED",
        "AFN",
        "ALL",
        "AMD",
        "ANG",
        "AOA",
        "ARS",
        "AUD",
        "AWG",
        "AZN",
        "BAM",
        "BBD",
        "BDT",
        "BGN",
        "BMD",
        "BND",
        "BOB",
        "BRL",
        "BSD",
        "BTN",
        "BWP",
        "BYN",
        "BZD",
        "CAD",
        "CDF",
        "CHF",
        "CNY",
        "COP",
        "CRC",
        "CUP",
        "CVE",
        "CZK",
        "DKK",
        "DOP",
        "DZD",
        "EGP",
        "ERN",
        "ETB",
        "EUR",
        "FJD",
        "FKP",
        "GBP",
        "GEL",
        "GHS",
        "GIP",
        "GMD",
        "GTQ",
        "GYD",
        "HKD",
        "HNL",
        "HTG",
        "HUF",
        "IDR",
        "ILS",
        "INR",
        "IRR",
        "JMD",
        "KES",
        "KGS",
        "KHR",
        "KPW",
        "KYD",
        "KZT",
        "LAK",
        "LBP",
        "LKR",
        "LRD",
        "LSL",
        "MAD",
        "MDL",
        "MGA",
        "MKD",
        "MMK",
        "MNT",
        "MOP",
        "MRU",
        "MUR",
        "MVR",
        "MWK",
        "MXN",
        "MYR",
        "MZN",
        "NAD",
        "NGN",
        "NIO",
        "NOK",
        "NPR",
        "NZD",
        "PAB",
        "PEN",
        "PGK",
        "PHP",
        "PKR",
        "PLN",
        "QAR",
        "RON",
        "RSD",
        "RUB",
        "SAR",
        "SBD",
        "SCR",
        "SDG",
        "SEK",
        "SGD",
        "SHP",
        "SLE",
        "SOS",
        "SRD",
        "SSP",
        "STN",
        "SVC",
        "SYP",
        "SZL",
        "THB",
        "TJS",
        "TMT",
        "TOP",
        "TRY",
        "TTD",
        "TWD",
        "TZS",
        "UAH",
        "USD",
        "UYU",
        "UZS",
        "VES",
        "WST",
        "XCD",
        "YER",
        "ZAR",
        "ZMW",
        "ZWL",
    ]
)
_SYMBOLS = {"€": "EUR", "£": "GBP", "$": "USD", "¥": "JPY", "₹": "INR", "₩": "KRW"}
_AMOUNT = re.compile(r"^-?\d[\d,.' \u00a0\u202f]*$")


class BadMoney(ValueError):
    """Text that cannot be read as an amount of money."""


MAX_MINOR = 10**14
"""The largest amount, in minor units (1 trillion EUR): 92,000 deals this size still sum
inside SQLite's 64-bit integers, which the pipeline and summaries add up."""


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount: integer minor units of an ISO 4217 currency."""

    minor: int
    currency: str

    def __str__(self) -> str:
        return format_money(self.minor, self.currency)


def exponent(currency: str) -> int:
    """Decimal places of a currency's minor unit (EUR 2, JPY 0, KWD 3)."""
    code = check_currency(currency)
    return _EXPONENT_NOT_2.get(code, 2)


def check_currency(currency: str) -> str:
    """An ISO 4217 code in upper case, or BadMoney."""
    code = currency.strip().upper()
    if code not in _EXPONENT_2 and code not in _EXPONENT_NOT_2:
        raise BadMoney(f"{currency!r} is not an ISO 4217 currency code (e.g. EUR, USD, GBP)")
    return code


def _split_currency(text: str, default_currency: str) -> tuple[str, str]:
    t = text.strip()
    for symbol, code in _SYMBOLS.items():
        if t.startswith(symbol) or t.endswith(symbol):
            return t.strip(symbol).strip(), code
    m = re.fullmatch(r"([A-Za-z]{3})\s*(.+)|(.+?)\s*([A-Za-z]{3})", t)
    if m:
        if m.group(1):
            return m.group(2), m.group(1)
        return m.group(3), m.group(4)
    return t, default_currency


def _decimal_parts(number: str) -> tuple[str, str]:
    """Whole and fraction digits; the last '.' or ',' is the decimal point unless
    the commas (or dots) group thousands ("12,500" is twelve thousand five hundred)."""
    n = re.sub(r"[' \u00a0\u202f]", "", number)
    if "," in n and "." in n:
        point = "." if n.rfind(".") > n.rfind(",") else ","
    elif n.count(",") == 1 and not re.fullmatch(r"-?\d{1,3},\d{3}", n):
        point = ","
    elif n.count(".") == 1 and not re.fullmatch(r"-?\d{1,3}\.\d{3}\.\d{3}", n):
        point = "."
    else:
        point = ""
    if point:
        whole, _, frac = n.rpartition(point)
    else:
        whole, frac = n, ""
    # A separator inside the whole part groups digits (three, or two in Indian lakh
    # grouping): "12.5.3" is not twelve hundred and fifty-three.
    if re.search(r"[.,](?!\d\d)", whole):
        raise BadMoney(f"{number!r} is not an amount")
    whole = whole.replace(",", "").replace(".", "")
    if not re.fullmatch(r"-?\d+", whole) or not re.fullmatch(r"\d*", frac):
        raise BadMoney(f"{number!r} is not an amount")
    return whole, frac


def parse_money(text: str, *, default_currency: str) -> Money:
    """Read "12,500.50 EUR", "EUR 12500.5", "€99", "12.500,50" or "12500" (default currency)."""
    if not text or not text.strip():
        raise BadMoney("empty amount")
    number, code = _split_currency(text, default_currency)
    currency = check_currency(code)
    if not _AMOUNT.match(number.strip()):
        raise BadMoney(f"{text!r} is not an amount (try 12500.50 or 12,500.50 EUR)")
    whole, frac = _decimal_parts(number.strip())
    places = _EXPONENT_NOT_2.get(currency, 2)
    if len(frac) > places:
        raise BadMoney(f"{text!r}: {currency} has {places} decimal places")
    negative = whole.startswith("-")
    digits = whole.lstrip("-") + frac.ljust(places, "0")
    if len(digits.lstrip("0")) > len(str(MAX_MINOR)):  # also keeps int() off huge strings
        raise BadMoney(f"{text!r} is more than the largest amount crm keeps")
    minor = int(digits)
    if negative:
        raise BadMoney(f"{text!r}: an amount cannot be negative")
    if minor > MAX_MINOR:
        limit = format_money(MAX_MINOR, currency)
        raise BadMoney(f"{text!r} is more than the largest amount crm keeps ({limit})")
    return Money(minor, currency)


def format_amount(minor: int, currency: str) -> str:
    """Minor units as a grouped decimal without the code: 1250050 EUR -> "12,500.50"."""
    places = _EXPONENT_NOT_2.get(currency.upper(), 2)
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**places)
    text = f"{whole:,}"
    return f"{sign}{text}.{frac:0{places}d}" if places else f"{sign}{text}"


def format_money(minor: int, currency: str) -> str:
    """Minor units with the code: 1250050, "EUR" -> "12,500.50 EUR"."""
    return f"{format_amount(minor, currency)} {currency.upper()}"


def compact_money(minor: int, currency: str) -> str:
    """A total short enough for a narrow column: 1.2M EUR, 48k EUR, 950 EUR."""
    try:
        value = minor / 10 ** exponent(currency)
    except ValueError:
        value = minor / 100
    for limit, suffix, places in ((1e9, "B", 1), (1e6, "M", 1), (1e3, "k", 0)):
        if abs(value) >= limit:
            return f"{value / limit:.{places}f}{suffix} {currency}"
    return f"{value:,.0f} {currency}"


CURRENCY_SIGNS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥"}
"""Currencies short enough as a sign for a narrow column's totals; the others keep their code."""


def signed_compact(minor: int, currency: str) -> str:
    """The shortest total: €481k, $1.2M, 950 CHF (a sign where there is one)."""
    number = compact_money(minor, currency).split()[0]
    symbol = CURRENCY_SIGNS.get(currency)
    return f"{symbol}{number}" if symbol else f"{number} {currency}"


def card_money(minor: int, currency: str) -> str:
    """A deal's amount without zero cents: 48,000 EUR, 1,250.50 EUR."""
    text = format_amount(minor, currency)
    if "." in text and set(text.split(".")[1]) == {"0"}:
        text = text.split(".")[0]
    return f"{text} {currency}"
