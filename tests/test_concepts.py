"""The shared concept vocabulary (data/concepts.csv) lines indicators up across plans."""

import pandas as pd
import pytest
from conftest import PLANS, ROOT

CONCEPTS = ROOT / "data" / "concepts.csv"
PLAN_IDS = sorted(p.name for p in PLANS.iterdir() if (p / "datapackage.json").exists())
# Concepts that at least two plans share, as the data stands (fibre_coverage,
# integration_index_rank, mobile_broadband_coverage); fewer means a concept was lost.
SHARED_AT_LEAST = 3


@pytest.fixture(scope="module")
def concepts() -> pd.DataFrame:
    return pd.read_csv(CONCEPTS, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def indicators() -> pd.DataFrame:
    frames = [
        pd.read_csv(PLANS / p / "indicators.csv", dtype=str, keep_default_na=False).assign(
            plan_id=p
        )
        for p in PLAN_IDS
    ]
    return pd.concat(frames, ignore_index=True)


def test_the_vocabulary_is_well_formed(concepts):
    assert list(concepts.columns) == ["concept_id", "name_zh", "name_en", "definition_en"]
    assert concepts["concept_id"].is_unique
    assert concepts["concept_id"].str.fullmatch(r"[a-z][a-z0-9_]*").all()
    for column in ("name_zh", "name_en", "definition_en"):
        assert (concepts[column].str.strip() != "").all(), column


def test_every_concept_used_exists(concepts, indicators):
    used = indicators[indicators["concept"] != ""]
    unknown = used[~used["concept"].isin(concepts["concept_id"])]
    assert unknown.empty, unknown[["plan_id", "indicator_id", "concept"]].to_dict("records")


def test_every_target_indicator_has_a_concept(indicators):
    targets = indicators[indicators["kind"] == "target"]
    missing = targets[targets["concept"] == ""]
    assert missing.empty, missing[["plan_id", "indicator_id"]].to_dict("records")


def test_every_concept_is_used(concepts, indicators):
    assert set(concepts["concept_id"]) <= set(indicators["concept"])


def test_concepts_line_up_across_plans(indicators):
    plans_per_concept = (
        indicators[indicators["concept"] != ""].groupby("concept")["plan_id"].nunique()
    )
    shared = sorted(plans_per_concept[plans_per_concept >= 2].index)
    assert len(shared) >= SHARED_AT_LEAST, shared
    # the example the vocabulary exists for: Zhejiang's 2017 fibre targets beside MIIT's 2018 one
    fibre = indicators[indicators["concept"] == "fibre_coverage"]
    assert {"zhejiang-internet-plus-2016", "china-miit-internet-plus-2015"} <= set(fibre["plan_id"])
