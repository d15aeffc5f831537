import plantrack
from plantrack.judge.findings import normalise_name


def kinds(found):
    return sorted(found["kind"])


def test_clean_plan_has_no_findings(make_plan):
    directory = make_plan(
        indicators=[dict(indicator_id="x", unit="个")],
        targets=[
            dict(indicator_id="x", target_year=2017, comparator=">=", value=10, unit="个"),
            dict(
                indicator_id="x",
                target_year=2017,
                comparator=">=",
                value=10,
                unit="个",
                source="review",
            ),
        ],
        actuals=[
            dict(indicator_id="x", year=2017, value=11, unit="个", reported_rate=110),
            dict(indicator_id="x", year=2018, value=12, unit="个"),
        ],
    )
    assert plantrack.findings(plantrack.load_plan(directory)).empty


def test_each_rule_fires_on_a_crafted_case(make_plan):
    directory = make_plan(
        indicators=[
            dict(indicator_id="sales", unit="万亿元"),
            dict(indicator_id="trade", unit="亿美元"),
            dict(indicator_id="firms", unit="家"),
        ],
        targets=[
            dict(
                indicator_id="sales",
                target_year=2017,
                comparator=">=",
                value=1.2,
                unit="万亿元",
                name_as_stated="网络销售额",
            ),
            dict(
                indicator_id="sales",
                target_year=2017,
                comparator=">=",
                value=12,
                unit="万亿元",
                source="review",
                name_as_stated="网络零售额(万亿元)",
            ),
            dict(indicator_id="firms", target_year=2017, comparator=">=", value=86, unit="家"),
            dict(
                indicator_id="firms",
                target_year=2017,
                comparator=">=",
                value=85,
                unit="家",
                source="review",
            ),
        ],
        actuals=[
            dict(
                indicator_id="sales",
                year=2017,
                value=13,
                unit="万亿元",
                reported_rate=130,
                name_as_stated="网络零售额(万亿元)",
            ),
            dict(
                indicator_id="sales",
                year=2018,
                value=16718.8,
                unit="亿元",
                name_as_stated="网络零售额",
            ),
            dict(indicator_id="trade", year=2018, value=574.4, unit="亿元"),
        ],
    )
    found = plantrack.findings(plantrack.load_plan(directory))
    by = {k: found[found["kind"] == k] for k in found["kind"]}
    assert set(by) == {
        "rate_mismatch",
        "target_mismatch",
        "wording_change",
        "currency_mismatch",
        "implausible_jump",
        "implausible_magnitude",
    }
    rate = by["rate_mismatch"].iloc[0]
    assert rate.indicator_id == "sales" and "108.3%" in rate.message_en and "130" in rate.message_zh
    mismatched = by["target_mismatch"].set_index("indicator_id")
    assert (
        mismatched.loc["sales", "severity"] == "error"
        and "10" in mismatched.loc["sales", "message_en"]
    )
    assert mismatched.loc["firms", "severity"] == "warning"
    assert by["currency_mismatch"].iloc[0].indicator_id == "trade"
    assert len(by["wording_change"]) == 1  # 网络零售额 and 网络零售 are one wording
    assert list(found["severity"])[0] == "error"  # most severe first
    assert found["message_zh"].str.len().gt(0).all() and found["message_en"].str.len().gt(0).all()


def test_name_normalisation_ignores_units_and_endings():
    assert normalise_name("全省网络零售额(万亿元)") == normalise_name("网络零售")
    assert normalise_name("全省5A、4A级景区免费WiFi覆盖率") in normalise_name(
        "全省5A、4A级景区免费WiFi接入"
    )
    assert normalise_name("网络销售额") != normalise_name("网络零售额")


def test_naming_an_indicator_in_english_is_no_wording_change(make_plan):
    # name_en is this project's translation, not a source's wording (e.g. a what-if row)
    directory = make_plan(
        indicators=[
            dict(indicator_id="sales", unit="万亿元", name_zh="网络零售额", name_en="Online sales")
        ],
        targets=[
            dict(
                indicator_id="sales",
                target_year=2017,
                comparator=">=",
                value=1,
                unit="万亿元",
                name_as_stated="网络零售额",
            )
        ],
        actuals=[
            dict(
                indicator_id="sales",
                year=2017,
                value=1,
                unit="万亿元",
                name_as_stated="Online sales",
            ),
            dict(
                indicator_id="sales",
                year=2018,
                value=1,
                unit="万亿元",
                name_as_stated="online SALES",
            ),
        ],
    )
    assert "wording_change" not in kinds(plantrack.findings(plantrack.load_plan(directory)))


def test_a_source_contradicting_itself_without_a_measure_is_a_finding(make_plan):
    # measure left blank (NA): the row measures its indicator, and still has a figure to compare
    directory = make_plan(
        indicators=[dict(indicator_id="sales", unit="亿元")],
        targets=[
            dict(indicator_id="sales", target_year=2017, comparator=">=", value=10, unit="亿元")
        ],
        actuals=[
            dict(indicator_id="sales", year=2017, value=11, unit="亿元", locator="p. 1"),
            dict(indicator_id="sales", year=2017, value=12, unit="亿元", locator="p. 2"),
        ],
    )
    plan = plantrack.load_plan(directory)
    assert plan.actuals["measure"].isna().all()
    found = plantrack.findings(plan)
    contradiction = found[found["kind"] == "self_contradiction"]
    assert len(contradiction) == 1
    assert (
        contradiction.iloc[0]["indicator_id"] == "sales" and contradiction.iloc[0]["year"] == 2017
    )
    assert (
        "11" in contradiction.iloc[0]["message_en"] and "12" in contradiction.iloc[0]["message_en"]
    )


def test_key_helpers_agree_with_sorting_whether_or_not_keys_are_in_order():
    import numpy as np
    from plantrack.judge.findings import _equal_keys, _first_of_each, _repeated

    rng = np.random.default_rng(0)
    shuffled = rng.integers(0, 50, 1000)
    for key in (shuffled, np.sort(shuffled), np.array([], dtype=np.int64)):
        _, first, inverse, counts = np.unique(
            key, return_index=True, return_inverse=True, return_counts=True
        )
        assert np.array_equal(_first_of_each(key), np.sort(first))
        assert np.array_equal(_repeated(key), counts[inverse] > 1)
        left = rng.integers(0, 60, 30)
        pairs = [(i, j) for i in range(len(left)) for j in range(len(key)) if left[i] == key[j]]
        at, of = _equal_keys(left, key)
        assert list(zip(at.tolist(), of.tolist())) == pairs
