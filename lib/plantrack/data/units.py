"""Units as the sources state them (万亿元, 亿美元, 万元/人, %, 位 ...) converted with pint.

A stated unit is a Chinese magnitude word (万, 亿, 万亿 ...) in front of a base unit, and
may have a denominator after '/'. Currencies are their own dimensions, so yuan never
silently converts to dollars: that needs a rate from the plan's rates.csv.
"""

from __future__ import annotations

import functools
import math

MAGNITUDES = {
    "万亿": 1e12,
    "千亿": 1e11,
    "百亿": 1e10,
    "亿": 1e8,
    "千万": 1e7,
    "百万": 1e6,
    "万": 1e4,
    "千": 1e3,
    "百": 1e2,
}
# Classifiers for counted things all map to one 'item' dimension: the indicator says what is counted.
BASE_UNITS = {
    "元": "CNY",
    "人民币": "CNY",
    "美元": "USD",
    "家": "item",
    "个": "item",
    "项": "item",
    "户": "item",
    "台": "item",
    "所": "item",
    "辆": "item",
    "件": "item",
    "份": "item",
    "条": "item",
    "座": "item",
    "套": "item",
    "笔": "item",
    "张": "item",
    "次": "item",
    "人次": "item",
    "县": "item",
    "场": "item",
    "场次": "item",
    "家次": "item",
    "例": "item",
    "门": "item",
    "路": "item",
    "人": "person",
    "名": "person",
    "%": "percent",
    "％": "percent",
    "位": "rank",
    "名次": "rank",
    "点": "index_point",
    "Mbps": "megabit / second",
    "Gbps": "gigabit / second",
    # 兆 alone is bandwidth as Chinese network speeds are written (千兆到校 = 1000 Mbps to
    # each school, 百兆 = 100 Mbps); 兆瓦, 兆字节 ... are other words and stay unknown.
    "兆": "megabit / second",
    "亩": "mu",
    "分钟": "minute",
    "小时": "hour",
    "天": "day",
    "日": "day",
    "升": "liter",
    "吨": "metric_ton",
}
CURRENCIES = {"CNY", "USD"}

DEFINITIONS = (
    "CNY = [currency_CNY]",
    "USD = [currency_USD]",
    "item = [item]",
    "person = [person]",
    "rank = [rank]",
    "index_point = [index_point]",
    # The Chinese land unit: 1 亩 = 10000/15 m² (15 亩 = 1 hectare).
    "mu = 10000 / 15 * meter ** 2",
)


@functools.cache
def registry():
    """pint's unit registry with the project's units, built on first use (building it and
    importing pint take about a second: commands that never convert a unit do not pay it)."""
    import pint

    ureg = pint.UnitRegistry()
    for definition in DEFINITIONS:
        ureg.define(definition)
    return ureg


class UnitError(ValueError):
    """A unit that cannot be read, or two units that cannot be compared."""


def _parse_part(text: str):
    text = text.strip()
    if text in BASE_UNITS:
        return registry().Quantity(1, BASE_UNITS[text])
    for word, factor in MAGNITUDES.items():
        if text.startswith(word) and text[len(word) :].strip() in BASE_UNITS:
            return factor * registry().Quantity(1, BASE_UNITS[text[len(word) :].strip()])
    raise UnitError(
        f"unknown unit '{text}' (known: {', '.join(sorted(BASE_UNITS))}, "
        f"optionally after {', '.join(MAGNITUDES)})"
    )


@functools.lru_cache(maxsize=None)
def parse_unit(text: str):
    """'万元/人' -> Quantity(10000, CNY/person). The magnitude is kept in the number."""
    if not isinstance(text, str) or not text.strip():
        raise UnitError("the unit is empty")
    parts = text.split("/")
    if len(parts) > 2:
        raise UnitError(f"unit '{text}' has more than one '/'")
    quantity = _parse_part(parts[0])
    if len(parts) == 2:
        quantity = quantity / _parse_part(parts[1])
    return quantity


def currency_of(unit: str) -> str | None:
    """The currency a stated unit is in ('亿美元' -> 'USD'), or None."""
    dims = parse_unit(unit).dimensionality
    found = [c for c in CURRENCIES if f"[currency_{c}]" in dims]
    return found[0] if found else None


def conversion_factor(from_unit: str, to_unit: str) -> float:
    """The number to multiply a value in from_unit by to express it in to_unit.

    Raises UnitError when the dimensions differ (including two different currencies).
    """
    factor = factor_or_nan(from_unit, to_unit)
    if math.isnan(factor):
        raise UnitError(f"'{from_unit}' cannot be converted to '{to_unit}'")
    return factor


@functools.lru_cache(maxsize=None)
def factor_or_nan(from_unit: str, to_unit: str) -> float:
    """conversion_factor, NaN where the units cannot convert. Cached both ways: an impossible
    pair (currencies, counts against amounts) is asked for again and again by the checks."""
    from pint import DimensionalityError

    try:
        source, target = parse_unit(from_unit), parse_unit(to_unit)
        return float((source / target).to("dimensionless").magnitude)
    except (DimensionalityError, UnitError):
        return math.nan


def convert(
    value: float, from_unit: str, to_unit: str, *, year: int | None = None, rates=None
) -> float:
    """Convert a value between stated units; currencies only through a rate table.

    rates: a DataFrame with from_currency, to_currency, year, rate (the plan's rates.csv).
    """
    try:
        return value * conversion_factor(from_unit, to_unit)
    except UnitError:
        rate = currency_rate(from_unit, to_unit, year, rates)
        if rate is None:
            raise
        # Swap the currency word, then convert magnitudes within the target currency.
        return (
            value
            * rate
            * conversion_factor(_with_currency(from_unit, currency_of(to_unit)), to_unit)
        )


def _with_currency(unit: str, currency: str) -> str:
    for word, code in (("美元", "USD"), ("人民币", "CNY"), ("元", "CNY")):
        if word in unit:
            return unit.replace(word, "美元" if currency == "USD" else "元")
    return unit


def currency_rate(from_unit: str, to_unit: str, year: int | None, rates) -> float | None:
    """The rate from from_unit's currency to to_unit's currency in that year, or None."""
    source, target = currency_of(from_unit), currency_of(to_unit)
    if rates is None or source is None or target is None or source == target or year is None:
        return None
    hit = rates[
        (rates["from_currency"] == source)
        & (rates["to_currency"] == target)
        & (rates["year"] == year)
    ]
    if len(hit):
        return float(hit["rate"].iloc[0])
    back = rates[
        (rates["from_currency"] == target)
        & (rates["to_currency"] == source)
        & (rates["year"] == year)
    ]
    if len(back) and not math.isclose(float(back["rate"].iloc[0]), 0.0):
        return 1.0 / float(back["rate"].iloc[0])
    return None


def is_rank(unit: str) -> bool:
    return "[rank]" in parse_unit(unit).dimensionality
