import pandas as pd
import pytest
from plantrack.data import units


@pytest.mark.parametrize(
    "from_unit,to_unit,factor",
    [
        ("亿元", "万亿元", 1e-4),
        ("万亿元", "亿元", 1e4),
        ("万元/人", "元/人", 1e4),
        ("%", "%", 1.0),
        ("万家", "家", 1e4),
        ("个", "家", 1.0),
        ("亿美元", "美元", 1e8),
        ("Mbps", "Mbps", 1.0),
    ],
)
def test_conversion_factors(from_unit, to_unit, factor):
    assert units.conversion_factor(from_unit, to_unit) == pytest.approx(factor)


@pytest.mark.parametrize(
    "a,b", [("亿元", "亿美元"), ("%", "家"), ("位", "个"), ("万元/人", "万元")]
)
def test_incompatible_units_raise(a, b):
    with pytest.raises(units.UnitError):
        units.conversion_factor(a, b)


@pytest.mark.parametrize("bad", ["", "公顷X", "元/人/年", "bananas"])
def test_unknown_units_are_named(bad):
    with pytest.raises(units.UnitError):
        units.parse_unit(bad)


@pytest.mark.parametrize(
    "from_unit,to_unit,factor",
    [
        # Counted things: events, firm-visits, meetings, cases, courses, video channels.
        ("场次", "次", 1.0),
        ("万家次", "家次", 1e4),
        ("场", "个", 1.0),
        ("万例", "例", 1e4),
        ("门", "项", 1.0),
        ("路", "个", 1.0),
        ("千路", "路", 1e3),
        # 1 亩 = 666.67 m²: 15 亩 make a hectare, so 万亩 = 666.67 hectares = 6.6667 km².
        ("亩", "亩", 1.0),
        ("万亩", "亩", 1e4),
        # 兆 in 千兆到校、百兆到班 is Mbps.
        ("千兆", "Mbps", 1e3),
        ("百兆", "兆", 1e2),
        ("千兆", "Gbps", 1.0),
        ("小时", "分钟", 60.0),
        ("天", "小时", 24.0),
        ("日", "分钟", 1440.0),
    ],
)
def test_new_unit_conversion_factors(from_unit, to_unit, factor):
    assert units.conversion_factor(from_unit, to_unit) == pytest.approx(factor)


def test_mu_is_an_area_in_square_metres():
    assert units.parse_unit("亩").to("meter ** 2").magnitude == pytest.approx(666.6667, rel=1e-6)
    assert units.parse_unit("万亩").to("kilometer ** 2").magnitude == pytest.approx(
        6.666667, rel=1e-6
    )
    assert units.parse_unit("分钟").to("second").magnitude == pytest.approx(60.0)


@pytest.mark.parametrize(
    "a,b", [("亩", "个"), ("分钟", "场次"), ("兆", "亩"), ("兆", "分钟"), ("例", "人")]
)
def test_new_units_keep_their_dimension(a, b):
    with pytest.raises(units.UnitError):
        units.conversion_factor(a, b)


@pytest.mark.parametrize("bad", ["兆瓦", "兆字节", "平方亩"])
def test_words_built_on_new_units_stay_unknown(bad):
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
