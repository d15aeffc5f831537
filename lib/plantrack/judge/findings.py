"""Data-quality findings: where the sources disagree with each other or with arithmetic.

Every rule is general (no list of known cases): it runs on any plan laid out the same way.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from plantrack.config import LANGUAGES
from plantrack.data import units
from plantrack.judge.measures import other_measure
from plantrack.judge.progress import (
    _converted,
    _factorize,
    _indicator_codes,
    completion_rate,
    one_string_dtype,
    pair_factors,
    primary_targets,
    rate_threshold,
)
from plantrack.messages import t

RATE_TOLERANCE_PP = 1.5  # reported rates are rounded to whole percents
JUMP_FACTOR = 3.0  # a value more than 3x (or under 1/3) the previous year's
MAGNITUDE_FACTOR = 5.0  # an actual more than 5x (or under 1/5) its target
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
COLUMNS = [
    "plan_id",
    "indicator_id",
    "sector",
    "name_zh",
    "name_en",
    "kind",
    "severity",
    "message_zh",
    "message_en",
    "sources",
    "year",
]

_GENERIC = re.compile(r"全省|全国|实现|[（(][^）)]*[）)]|[\s、，,.。“”\"'·]")
_SUFFIX = re.compile(r"(覆盖率|实现率|完成率|率|额|数)$")


def normalise_name(name: str) -> str:
    """The core of an indicator name: without unit brackets, 全省/全国, punctuation, 额/率 endings."""
    return _SUFFIX.sub("", _GENERIC.sub("", str(name)))


def _fmt(x: float) -> str:
    return f"{x:,.4g}" if abs(x) < 1e4 else f"{x:,.0f}"


def findings(plan) -> pd.DataFrame:
    """Where the sources disagree: one row per finding, most severe first.

    plan: a Plan, a plan id, or a list of them (one table, told apart by plan_id).
    Columns: plan_id, indicator_id, sector, name_zh, name_en, kind (rate_mismatch,
    target_mismatch, wording_change, unit_mismatch, currency_mismatch, implausible_jump,
    implausible_magnitude, self_contradiction), severity (error/warning/info), message_zh,
    message_en (from the message catalogue), sources (comma-separated source ids), year.
    Findings are about the figures as the sources state them (before corrections).
    """
    if isinstance(plan, (list, tuple)):
        return pd.concat([findings(p) for p in plan], ignore_index=True)
    if isinstance(plan, str):
        from plantrack.data.package import load_plan

        plan = load_plan(plan)
    return plan_findings(plan)


def plan_findings(plan, converted: tuple[np.ndarray, np.ndarray] | None = None) -> pd.DataFrame:
    """findings() of one Plan. converted: the actuals' indicator codes and values in their
    indicator's unit (progress._converted) when the caller has them for this very plan."""
    indicators = plan.indicators.set_index("indicator_id")
    if converted is None:
        ind, values, _ = _converted(plan.actuals, indicators["unit"], plan.rates)
        converted = ind, values
    # Each target's and actual's indicator as its position in `indicators` (-1: unknown), once.
    at = {
        "targets": _indicator_codes(plan.targets["indicator_id"], indicators.index),
        "actuals": converted[0],
    }
    rows: list[dict] = []

    def add(indicator_id, kind, severity, fields, sources, year=None, template=None):
        # The message comes from the catalogue (finding.<kind>); a field given per language is a dict.
        text = {
            lang: t(
                template or f"finding.{kind}",
                lang,
                **{k: (v[lang] if isinstance(v, dict) else v) for k, v in fields.items()},
            )
            for lang in LANGUAGES
        }
        zh, en = text["zh"], text["en"]
        # looked up per finding: a plan may have many indicators and few findings
        sector, name_zh, name_en = (
            indicators.loc[indicator_id, ["sector", "name_zh", "name_en"]]
            if indicator_id in indicators.index
            else ("", indicator_id, indicator_id)
        )
        rows.append(
            dict(
                plan_id=plan.plan_id,
                indicator_id=indicator_id,
                sector=sector,
                name_zh=name_zh,
                name_en=name_en,
                kind=kind,
                severity=severity,
                message_zh=zh,
                message_en=en,
                sources=", ".join(dict.fromkeys(sources)),
                year=year,
            )
        )

    _reported_rates(plan, indicators, add)
    _targets_between_sources(plan, add)
    _wording(plan, at, add)
    _units(plan, indicators, at, add)
    _contradictions(plan, add)
    _jumps_and_magnitudes(plan, indicators, at, converted[1], add)
    out = pd.DataFrame(rows, columns=COLUMNS)
    out["year"] = out["year"].astype("Int64")
    order = out["severity"].map(SEVERITY_ORDER)
    return one_string_dtype(
        out.assign(_o=order)
        .sort_values(["_o", "indicator_id"], kind="stable")
        .drop(columns="_o")
        .reset_index(drop=True)
    )


def _reference_target(
    targets: pd.DataFrame, indicator_id: str, year: int, source: str, plan_source
):
    """The target a reported rate was computed against: the same document's own, else the plan's."""
    same = targets[(targets["indicator_id"] == indicator_id) & (targets["target_year"] == year)]
    for preferred in (source, plan_source):
        hit = same[same["source"] == preferred]
        if len(hit):
            return hit.iloc[0]
    return same.iloc[0] if len(same) else None


def _reported_rates(plan, indicators, add):
    actuals = plan.actuals
    rated = actuals.loc[  # the columns read below only: a million rows' other texts stay put
        actuals["reported_rate"].notna().to_numpy(),
        ["indicator_id", "year", "value", "unit", "source", "reported_rate"],
    ]
    for a in rated.itertuples(index=False):
        target = _reference_target(plan.targets, a.indicator_id, a.year, a.source, plan.plan_source)
        if target is None:
            continue
        try:
            actual = units.convert(a.value, a.unit, target["unit"], year=a.year, rates=plan.rates)
        except units.UnitError:
            continue  # reported as a unit finding instead
        direction = indicators.at[a.indicator_id, "direction"]
        threshold = float(
            rate_threshold(
                target["comparator"], target["value"], target["value_high"], direction == "higher"
            )
        )
        if actual <= 0 or threshold <= 0:
            continue
        computed = float(completion_rate(actual, threshold, direction == "higher"))
        if abs(computed - a.reported_rate) <= RATE_TOLERANCE_PP:
            continue
        relative = abs(computed - a.reported_rate) / max(abs(a.reported_rate), 1e-9)
        pair = (
            f"{_fmt(actual)} / {_fmt(threshold)}"
            if direction == "higher"
            else f"{_fmt(threshold)} / {_fmt(actual)}"
        )
        add(
            a.indicator_id,
            "rate_mismatch",
            "error" if relative > 0.10 else "warning",
            dict(
                year=a.year,
                reported=_fmt(a.reported_rate),
                pair=pair,
                unit=target["unit"],
                computed=f"{computed:.1f}",
            ),
            [a.source, target["source"]],
            a.year,
        )


def _targets_between_sources(plan, add):
    targets = plan.targets
    several = targets.groupby(["indicator_id", "target_year"])["source"].transform("nunique") > 1
    for (indicator_id, year), group in targets[several].groupby(
        ["indicator_id", "target_year"], sort=False
    ):
        first = (
            group[group["source"] == plan.plan_source].iloc[0]
            if (group["source"] == plan.plan_source).any()
            else group.iloc[0]
        )
        for other in group[group["source"] != first["source"]].itertuples(index=False):
            try:
                value = units.convert(
                    other.value, other.unit, first["unit"], year=int(year), rates=plan.rates
                )
            except units.UnitError:
                continue
            if math.isclose(value, first["value"], rel_tol=1e-6):
                continue
            ratio = value / first["value"] if first["value"] else math.inf
            power_of_ten = (
                ratio > 0
                and math.isfinite(ratio)
                and abs(math.log10(ratio) - round(math.log10(ratio))) < 0.01
                and round(math.log10(ratio)) != 0
            )
            severity = "error" if power_of_ten else "warning"
            hint = (
                {
                    lang: t("finding.target_mismatch.magnitude_hint", lang, ratio=f"{ratio:g}")
                    for lang in LANGUAGES
                }
                if power_of_ten
                else dict.fromkeys(LANGUAGES, "")
            )
            add(
                indicator_id,
                "target_mismatch",
                severity,
                dict(
                    year=year,
                    source_a=first["source"],
                    stated_a=first["stated"],
                    source_b=other.source,
                    stated_b=other.stated,
                    unit_b=other.unit,
                    hint=hint,
                ),
                [first["source"], other.source],
                int(year),
            )


def _wording(plan, at, add):

    english = _folded(plan.indicators["name_en"])
    rows = pd.concat(
        [_named_rows(getattr(plan, table), at[table], english) for table in ("targets", "actuals")],
        ignore_index=True,
    ).drop_duplicates()
    several = rows.groupby("indicator_id")["name_as_stated"].transform("nunique") > 1
    for indicator_id, group in rows[several].groupby("indicator_id", sort=False):
        from_plan = group[group["source"] == plan.plan_source]
        reference = (from_plan if len(from_plan) else group).iloc[0]
        ref_core = normalise_name(reference["name_as_stated"])
        seen = set()
        for other in group.itertuples(index=False):
            core = normalise_name(other.name_as_stated)
            if (
                other.source == reference["source"]
                or core in seen
                or core in ref_core
                or ref_core in core
            ):
                continue
            seen.add(core)
            add(
                indicator_id,
                "wording_change",
                "warning",
                dict(
                    source_a=reference["source"],
                    name_a=reference["name_as_stated"],
                    source_b=other.source,
                    name_b=other.name_as_stated,
                ),
                [reference["source"], other.source],
            )


def _folded(texts) -> pd.Series:
    """Texts as compared for a change of wording: without surrounding white space, casefolded."""
    return pd.Series(texts).astype(str).str.strip().str.casefold()


def _named_rows(frame: pd.DataFrame, at: np.ndarray, english: pd.Series) -> pd.DataFrame:
    """A table's distinct (indicator_id, name_as_stated, source), in the order they first occur,
    but for rows that name the indicator in English (at: each row's indicator position; english:
    _folded name_en of each indicator) or not at all: the English name is this project's
    translation, not a source's wording, so such a row is no change of wording.

    Each distinct name is read once; the rows are compared by integer codes.
    """
    name_codes, names = _factorize(frame["name_as_stated"])
    named = np.append((pd.Series(names).astype(str).str.strip() != "").to_numpy(dtype=bool), False)
    # One code per distinct folded text: a name is the English name when their codes are equal.
    same, _ = pd.factorize(pd.concat([english, _folded(names)], ignore_index=True))
    english_code = np.append(same[: len(english)], -1)  # -1: an unknown indicator
    name_code = np.append(same[len(english) :], -2)  # -2: no name
    keep = np.flatnonzero(named[name_codes] & (name_code[name_codes] != english_code[at]))
    key = np.zeros(len(keep), dtype=np.int64)  # distinct (indicator, name, source) by codes
    for codes in (_factorize(frame["indicator_id"])[0], name_codes, _factorize(frame["source"])[0]):
        codes = np.asarray(codes, dtype=np.int64)[keep]
        key = key * (int(codes.max(initial=0)) + 2) + codes + 1
    columns = frame[["indicator_id", "name_as_stated", "source"]]  # copy three columns, not all
    return columns.iloc[keep[_first_of_each(key)]].astype({"indicator_id": str, "source": str})


def _sort_order(key: np.ndarray) -> np.ndarray | None:
    """The positions that sort `key`, equal keys in place; None when it is in order already (the
    plan files are written by indicator, then year): then there is nothing to sort or copy."""
    if np.all(key[1:] >= key[:-1]):
        return None
    return np.argsort(key, kind="stable")


def _first_of_each(key: np.ndarray) -> np.ndarray:
    """The position of each distinct key's first occurrence, in the order they occur."""
    order = _sort_order(key)
    ordered = key if order is None else key[order]
    starts = np.ones(len(key), dtype=bool)
    starts[1:] = ordered[1:] != ordered[:-1]
    return np.flatnonzero(starts) if order is None else np.sort(order[starts])


def _repeated(key: np.ndarray) -> np.ndarray:
    """True where a key occurs more than once."""
    order = _sort_order(key)
    ordered = key if order is None else key[order]
    same_as_next = ordered[1:] == ordered[:-1]
    repeated = np.zeros(len(key), dtype=bool)
    repeated[1:] |= same_as_next
    repeated[:-1] |= same_as_next
    if order is None:
        return repeated
    out = np.empty(len(key), dtype=bool)
    out[order] = repeated
    return out


def _contradictions(plan, add):
    """One source giving two different figures for the same thing (indicator, measure, year)."""

    actuals = plan.actuals
    if actuals.empty:
        return
    # Rows that share indicator, measure, year and source, found with integer codes (1M rows: cheap).
    codes = [
        np.asarray(_factorize(actuals[c])[0], dtype=np.int64) for c in ("indicator_id", "source")
    ]
    codes.append(_measure_codes(actuals))
    codes.append(actuals["year"].to_numpy(dtype=np.int64))
    key = np.zeros(len(actuals), dtype=np.int64)
    for c in codes:  # in place: a million-row key is not copied at each step
        key *= int(c.max()) + 2
        key += c + 1
    several = _repeated(key)
    if not several.any():
        return
    rows = actuals[several]
    # Grouped by the key, not the columns: a groupby drops rows whose measure is missing.
    for _, group in rows.groupby(key[several], sort=False):
        first = group.iloc[0]
        indicator_id, year, source = first["indicator_id"], first["year"], first["source"]
        values = {}
        for r in group.itertuples(index=False):
            try:
                values.setdefault(
                    round(units.convert(r.value, r.unit, group["unit"].iloc[0]), 9), r.stated
                )
            except units.UnitError:
                values.setdefault((r.value, r.unit), r.stated)
        if len(values) > 1:
            stated = list(values.values())
            add(
                indicator_id,
                "self_contradiction",
                "warning",
                dict(year=int(year), source=source, stated_a=stated[0], stated_b=stated[1]),
                [source],
                int(year),
            )


def _measure_codes(actuals: pd.DataFrame) -> np.ndarray:
    """Each row's measure as a code: 0 where it measures its indicator (measure blank, missing or
    the indicator's id: see judge.measures.measure_of), else 1 + the code of its measure's text."""
    codes = np.zeros(len(actuals), dtype=np.int64)
    if "measure" in actuals:
        other = np.flatnonzero(other_measure(actuals))
        if len(other):
            codes[other] = pd.factorize(actuals["measure"].iloc[other])[0] + 1
    return codes


def _units_of(position: np.ndarray, indicators: pd.DataFrame, index: pd.Index) -> pd.Series:
    """The unit of each row's indicator (position: in `indicators`, -1 unknown), by integer codes
    (a million rows: no string hashing)."""

    unit_codes, unit_names = pd.factorize(indicators["unit"])
    codes = np.where(position >= 0, np.append(unit_codes, -1)[position], -1)
    return pd.Series(pd.Categorical.from_codes(codes, categories=pd.Index(unit_names)), index=index)


def _units(plan, indicators, at, add):

    for table in ("targets", "actuals"):
        frame = getattr(plan, table)
        year_col = "target_year" if table == "targets" else "year"
        indicator_units = _units_of(at[table], indicators, frame.index)
        bad = np.isnan(pair_factors(frame["unit"].array, indicator_units.array))
        if not bad.any():
            continue
        for r, unit in zip(frame[bad].itertuples(index=False), indicator_units[bad]):
            year = getattr(r, year_col)
            both_money = units.currency_of(r.unit) and units.currency_of(unit)
            rate = units.currency_rate(r.unit, unit, year, plan.rates) if both_money else None
            kind = "currency_mismatch" if both_money else "unit_mismatch"
            tail = "finding.unit_mismatch.converted" if rate else "finding.unit_mismatch.no_rate"
            add(
                r.indicator_id,
                kind,
                "info" if rate else "warning",
                dict(
                    year=year,
                    unit=r.unit,
                    indicator_unit=unit,
                    what={lang: t(f"finding.what.{table}", lang) for lang in LANGUAGES},
                    tail={lang: t(tail, lang) for lang in LANGUAGES},
                ),
                [r.source],
                int(year),
                template="finding.unit_mismatch",
            )


def _jumps_and_magnitudes(plan, indicators, at, converted, add):

    rank_units = {u for u in indicators["unit"].unique() if units.is_rank(u)}
    ranks = set(indicators.index[indicators["unit"].isin(rank_units)])
    is_rank = np.append(indicators.index.isin(list(ranks)), True)  # code -1 (unknown) is skipped
    # Arrays of codes and values (a million actuals: no frame copies); frames only for the hits.
    all_actuals = plan.actuals
    ind = at["actuals"]
    years = all_actuals["year"].to_numpy(dtype=np.int64)
    with np.errstate(invalid="ignore"):
        usable = np.flatnonzero(~np.isnan(converted) & (converted > 0) & ~is_rank[ind])
    targets = primary_targets(plan)
    targets = targets[~targets["indicator_id"].isin(ranks)]
    target_ind = _indicator_codes(targets["indicator_id"], indicators.index)
    target_years = targets["target_year"].to_numpy(dtype=np.int64)
    target_key, actual_key = _year_keys((target_ind, target_years), (ind, years))
    by_key = _sort_order(actual_key[usable])
    order = usable if by_key is None else usable[by_key]  # by indicator, then year
    i, y, v = ind[order], years[order], converted[order]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = v[1:] / v[:-1]
    jump = (
        (i[1:] == i[:-1]) & (y[1:] > y[:-1]) & ((ratio >= JUMP_FACTOR) | (ratio <= 1 / JUMP_FACTOR))
    )
    unit_of = indicators["unit"]
    sources = all_actuals["source"]
    for k in np.flatnonzero(jump):
        previous, current = order[k], order[k + 1]
        indicator_id = indicators.index[ind[current]]
        unit = unit_of[indicator_id]
        add(
            indicator_id,
            "implausible_jump",
            "warning",
            dict(
                year_a=int(years[previous]),
                value_a=_fmt(converted[previous]),
                unit=unit,
                year_b=int(years[current]),
                value_b=_fmt(converted[current]),
                ratio=f"{ratio[k]:.2f}",
            ),
            [sources.iloc[previous], sources.iloc[current]],
            int(years[current]),
        )
    # Each target with the usable actuals of its indicator in its year, paired by integer keys.
    at, of = _equal_keys(target_key, actual_key[usable])
    if not len(at):
        return
    of = usable[of]
    to_target = pair_factors(
        _units_of(target_ind, indicators, targets.index).array, targets["unit"].array
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = converted[of] * to_target[at] / targets["value"].to_numpy(dtype=float)[at]
    odd = (ratio >= MAGNITUDE_FACTOR) | (ratio <= 1 / MAGNITUDE_FACTOR)
    hits = zip(
        targets.iloc[at[odd]].itertuples(index=False),
        all_actuals[["year", "value", "unit", "source"]].iloc[of[odd]].itertuples(index=False),
        ratio[odd],
    )
    for target, actual, ratio_ in hits:
        add(
            target.indicator_id,
            "implausible_magnitude",
            "error",
            dict(
                year=actual.year,
                stated_t=target.stated,
                value=_fmt(actual.value),
                unit=actual.unit,
                ratio=f"{ratio_:.1f}",
            ),
            [actual.source, target.source],
            int(actual.year),
        )


def _year_keys(*pairs: tuple[np.ndarray, np.ndarray]) -> list[np.ndarray]:
    """One integer key per (indicator code, year), the same for equal pairs in every array given:
    ordered by indicator, then year."""
    years = np.concatenate([y for _, y in pairs])
    first = int(years.min()) if len(years) else 0
    span = int(years.max()) - first + 1 if len(years) else 1
    return [(codes.astype(np.int64) + 1) * span + (y - first) for codes, y in pairs]


def _equal_keys(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The (left, right) positions of equal keys, in a merge's order: by left position, then by
    right position."""
    order = _sort_order(right)
    ordered = right if order is None else right[order]
    low = np.searchsorted(ordered, left, "left")
    counts = np.searchsorted(ordered, left, "right") - low
    at = np.repeat(np.arange(len(left)), counts)
    within = np.arange(len(at)) - np.repeat(np.cumsum(counts) - counts, counts)
    positions = np.repeat(low, counts) + within  # in `ordered`
    return at, positions if order is None else order[positions]
