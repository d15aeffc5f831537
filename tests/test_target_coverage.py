"""Every quantified goal of the three plans is taken: an audit of the plans' goal sentences.

tests/data/plan_target_sentences.csv lists, for each sentence of the plan texts (seeds 001, 003,
004) that holds a number or a coverage word, what became of each such word: a `target` (a row of
the plan's targets.csv) or `excluded` with a reason (a date, a list count, a technology's name, an
action with no level...). The scan below finds those sentences again in the seeds, so a goal that
nobody looked at fails the test.
"""

import csv
import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import PLANS, seeds_or_skip

AUDIT = Path(__file__).parent / "data" / "plan_target_sentences.csv"
SEED_PLAN = {
    "001_333a4e6de7e84206.txt": ("zhejiang-internet-plus-2016", "plan-2016"),
    "003_c0096d65fa3bb14f.txt": ("china-miit-internet-plus-2015", "miit-2015"),
    "004_0971cde0679a37a9.txt": ("zhejiang-information-economy-2014", "guidance-2014"),
}
# Where each plan states its goals: 001 from its goals (一(三)) through its tasks and safeguards;
# 003 only the paragraphs on the MIIT plan (the rest is an encyclopedia article); 004 from its goals on.
SPANS = {
    "001_333a4e6de7e84206.txt": [("（三）发展目标", "浙江省人民政府办公厅")],
    "003_c0096d65fa3bb14f.txt": [("2015年12月14日，工信部印发", "[31]")],
    "004_0971cde0679a37a9.txt": [("（二）主要目标", None)],
}
# A number: Arabic digits, a Chinese numeral with a measure word (三大, 五年, 千家, 超亿元), or a rank word.
NUMBER = re.compile(
    r"[0-9０-９]+(?:[.．][0-9]+)?|[两二三四五六七八九十百千万亿]+(?:个|家|大|项|位|级|张|证|网|年|倍|成|兆|代|元|方面)|首位"
)
COVERAGE = re.compile(r"覆盖|普及|全面")


def sentences(text):
    """Sentences without their full stop, list markers (1. （三） 一、 ——) removed."""
    for part in re.split(r"[。！？\n]", text):
        sentence = re.sub(
            r"^\s*(?:[0-9]+[.．]|（[一二三四五六七八九十]+）|[一二三四五六七八九十]+、|--|——)",
            "",
            part,
        ).strip()
        if sentence:
            yield sentence


def goal_sentences(seed: str, text: str) -> list[str]:
    found = []
    for start, end in SPANS[seed]:
        i = text.index(start)
        j = text.index(end, i) if end else len(text)
        found += [s for s in sentences(text[i:j]) if NUMBER.search(s) or COVERAGE.search(s)]
    return found


@pytest.fixture(scope="module")
def audit() -> list[dict]:
    with open(AUDIT, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def seed_texts() -> dict:
    seeds = seeds_or_skip()
    return {name: (seeds / name).read_text(encoding="utf-8") for name in SEED_PLAN}


def test_every_row_is_quoted_from_its_seed(audit, seed_texts):
    assert audit
    for n, row in enumerate(audit, 2):
        assert row["seed"] in SEED_PLAN, (n, row["seed"])
        assert row["quote"] in seed_texts[row["seed"]], (n, row["quote"][:40])
        assert row["stated"] and row["stated"] in row["quote"], (n, row["stated"])
        assert row["plan_id"] == SEED_PLAN[row["seed"]][0], (n, row["plan_id"])
        assert row["disposition"] in ("target", "excluded"), (n, row["disposition"])


def test_no_goal_is_excluded_without_a_reason(audit):
    for n, row in enumerate(audit, 2):
        if row["disposition"] == "excluded":
            assert len(row["reason"].strip()) >= 10, (n, row["stated"])


def test_every_target_row_is_in_targets_csv(audit):
    targets = {
        plan: pd.read_csv(PLANS / plan / "targets.csv", dtype=str, keep_default_na=False)
        for plan, _ in SEED_PLAN.values()
    }
    for n, row in enumerate(audit, 2):
        if row["disposition"] != "target":
            continue
        t = targets[row["plan_id"]]
        match = t[
            (t["indicator_id"] == row["indicator_id"])
            & (t["target_year"] == row["target_year"])
            & (t["stated"] == row["stated"])
            & (t["quote"] == row["quote"])
        ]
        assert len(match) == 1, (n, row["indicator_id"], row["target_year"], row["stated"])


def test_every_plan_target_is_in_the_audit(audit):
    listed = {
        (r["plan_id"], r["indicator_id"], r["target_year"], r["stated"])
        for r in audit
        if r["disposition"] == "target"
    }
    for seed, (plan, source) in SEED_PLAN.items():
        targets = pd.read_csv(PLANS / plan / "targets.csv", dtype=str, keep_default_na=False)
        for t in targets[targets["source"] == source].itertuples():
            assert (plan, t.indicator_id, t.target_year, t.stated) in listed, (plan, t.indicator_id)


@pytest.mark.parametrize("seed", sorted(SEED_PLAN))
def test_every_number_and_coverage_word_of_a_goal_sentence_is_accounted_for(
    audit, seed_texts, seed
):
    """Each number or coverage word of each goal sentence lies inside the `stated` of a row on that sentence."""
    rows = [r for r in audit if r["seed"] == seed]
    missing = []
    for sentence in goal_sentences(seed, seed_texts[seed]):
        spans = []
        for row in rows:
            if row["quote"] != sentence:
                continue
            at = sentence.find(row["stated"])
            while at != -1:
                spans.append((at, at + len(row["stated"])))
                at = sentence.find(row["stated"], at + 1)
        for m in list(NUMBER.finditer(sentence)) + list(COVERAGE.finditer(sentence)):
            if not any(a <= m.start() and m.end() <= b for a, b in spans):
                missing.append((m.group(), sentence[:50]))
    assert not missing, missing


def test_the_scan_finds_the_known_goals(seed_texts):
    # The scan itself: sentences the issue named must be found (guards against a scan that finds nothing).
    found = {s for seed, text in seed_texts.items() for s in goal_sentences(seed, text)}
    for fragment in (
        "三大数据库全覆盖",
        "尽快实现省内骨干网全面支持IPv6",
        "4G网络全面覆盖城市和乡村",
        "实现全省宽带无线网络全覆盖",
        "前三位",
    ):
        assert any(fragment in s for s in found), fragment
