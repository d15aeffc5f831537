import pandas as pd
import pytest

from plantrack.data import units


@pytest.mark.parametrize("from_unit,to_unit,factor", [
    ("亿元", "万亿元", 1e-4), ("万亿元", "亿元", 1e4), ("万元/人", "元/人", 1e4), ("%", "%", 1.0),
    ("万家", "家", 1e4), ("个", "家", 1.0), ("亿美元", "美元", 1e8), ("Mbps", "Mbps", 1.0),
])
def test_conversion_factors(from_unit, to_unit, factor):
    assert units.conversion_factor(from_unit, to_unit) == pytest.approx(factor)


@pytest.mark.parametrize("a,b", [("亿元", "亿美元"), ("%", "家"), ("位", "个"), ("万元/人", "万元")])
def test_incompatible_units_raise(a, b):
    with pytest.raises(units.UnitError):
        units.conversion_factor(a, b)


@pytest.mark.parametrize("bad", ["", "公顷X", "元/人/年", "bananas"])
def test_unknown_units_are_named(bad):
    with pytest.raises(units.UnitError):
        units.parse_unit(bad)


def test_currency_needs_a_rate_for_the_year():
    rates = pd.DataFrame(dict(from_currency=["USD"], to_currency=["CNY"], year=[2018], rate=[6.6]))
    assert units.convert(66.0, "亿元", "亿美元", year=2018, rates=rates) == pytest.approx(10.0)
    assert units.convert(10.0, "亿美元", "万亿元", year=2018, rates=rates) == pytest.approx(0.0066)
    with pytest.raises(units.UnitError):
        units.convert(66.0, "亿元", "亿美元", year=2017, rates=rates)
    with pytest.raises(units.UnitError):
        units.convert(66.0, "亿元", "亿美元", year=2018, rates=None)


def test_rank_and_currency_detection():
    assert units.is_rank("位") and not units.is_rank("%")
    assert units.currency_of("亿美元") == "USD" and units.currency_of("万元/人") == "CNY"
    assert units.currency_of("家") is None
