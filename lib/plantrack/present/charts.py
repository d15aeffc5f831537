"""Altair chart builders shared by the sector reports, the dashboard and researchers.

    from plantrack import charts
    charts.sector_chart(plan, "commerce", "en")            # each target's completion rate
    charts.achievement_chart(assessed_rows, "en")          # the same view of any assess() rows
    charts.status_counts_chart(assessed, plan.sectors)     # targets by status and sector
    charts.indicator_chart(plan, "online_sales", "en")     # history, targets by source, required path
    (chart_a | chart_b).save("x.png")                      # they combine (|, &, alt.vconcat/hconcat)

Every chart is in one language (zh or en; its words come from the message catalogue) and carries
its look inside (fonts, label widths, no frame), so charts combine and save to PNG/SVG offline
(vl-convert). top_level_spec() adds the layout a chart shown alone gets (the dashboard's views,
the reports). The dashboard's overview charts are built live=True: both languages and its filters
as Vega params, changed in place.
"""

from __future__ import annotations

import html
import json

import numpy as np
import pandas as pd

from plantrack.messages import check_lang, t
from plantrack.present import style


class _Altair:
    """altair, imported on first use: a reader's dashboard kernel imports this module for its
    constants and reads the specs from the cache (serve/plan_cache.py), without Altair."""

    def __getattr__(self, name):
        import altair

        return getattr(altair, name)


alt = _Altair()

STATUS_COLOURS = {s: style.colour(s) for s in style.LEVEL_STATUSES}  # the one palette
RATE_CAP = (
    300.0  # bars past 300% are drawn at 300% so the others stay readable; tooltips say the truth
)
FONT = (
    "Noto Sans CJK SC, Noto Sans SC, Source Han Sans SC, Microsoft YaHei, PingFang SC, sans-serif"
)


# A chart carries its look itself (fonts, label widths, no frame around the view): Vega-Lite allows
# these inside any chart, so the charts combine with alt.vconcat/alt.hconcat, `|` and `&`. Only the
# layout (autosize) belongs to the top level: top_level_spec() adds it where a chart is shown alone.
LABEL_LIMIT = 260  # px an axis label may take before it is cut with "…"
FIT_LABEL_LIMIT = {"expr": "max(90, containerSize()[0] * 0.4)"}  # 40% of a fitted chart's width


def _axis(fit: bool = False, **options) -> alt.Axis:
    limit = FIT_LABEL_LIMIT if fit else LABEL_LIMIT
    return alt.Axis(labelFont=FONT, titleFont=FONT, labelLimit=limit, **options)


def _legend(**options) -> alt.Legend:
    return alt.Legend(labelFont=FONT, titleFont=FONT, **options)


def _title(text, fit: bool = False) -> alt.TitleParams:
    # a title no wider than a phone's screen (Vega does not wrap titles)
    small = {"fontSize": 13, "anchor": "start"} if fit else {}
    return alt.TitleParams(text, font=FONT, **small)


def _framed(chart, fit: bool = False):
    """No frame around the view; fit: the chart takes its container's width (a phone's screen,
    not a fixed 520 px; top_level_spec then lays it out to that width)."""
    chart = chart.properties(view=alt.ViewBackground(stroke=None))
    return chart.properties(width="container") if fit else chart


def top_level_spec(chart) -> dict:
    """The Vega-Lite spec of a chart shown on its own (a dashboard view, a report, a file).

    Adds the layout, which Vega-Lite allows only at the top level: the view is laid out again on
    every update (labels change length with the language), and a chart whose width is
    "container" fits its container's width. A combination of charts gets the same."""
    spec = chart if isinstance(chart, dict) else chart.to_dict(validate=False)
    fit = spec.get("width") == "container"
    autosize = {"type": "fit-x" if fit else "pad", "contains": "padding", "resize": True}
    return {**spec, "autosize": spec.get("autosize", autosize)}


def for_export(chart: alt.Chart, title: str, lines: list[str]) -> dict:
    """A chart for a PNG/SVG file: fixed width, with its title, the filters, the source and the
    date written into the picture (a file travels without the page around it)."""
    spec = chart.to_dict(validate=False)
    spec["width"] = 520
    spec["autosize"] = {"type": "pad", "contains": "padding"}
    spec["title"] = {
        "text": title,
        "subtitle": lines,
        "anchor": "start",
        "subtitleColor": style.MUTED,
        "font": FONT,
        "subtitleFont": FONT,
    }
    return spec


MAX_BARS = 80  # more targets than this are drawn as a distribution, aggregated in pandas first

# A live chart (the dashboard's overview charts: live=True) carries both languages and four
# params: `lang`, and the dashboard's filters (empty values mean "all"); the dashboard changes a
# language or a filter by setting a param, and the Vega view recomputes in place, with no new
# spec. Its bars carry the click selection PICK. Every other chart is in one language, has no
# params, and combines with other charts (params of one name cannot be in two charts at once).
FILTER_EXPR = (
    "(length(sectors) == 0 || indexof(sectors, datum.sector) >= 0)"
    " && (status == '' || datum.status_id == status) && (year == 0 || datum.target_year == year)"
)
PICK = "pick"  # the click selection on the achievement bars: the dashboard opens that indicator


def _params(lang: str) -> list:
    return [
        alt.param(name="lang", value=lang),
        alt.param(name="sectors", value=[]),
        alt.param(name="status", value=""),
        alt.param(name="year", value=0),
    ]


def with_param_values(spec: dict, values: dict) -> dict:
    """A copy of a chart spec whose top-level params start at the given values."""
    params = [
        {**p, "value": values[p["name"]]} if p.get("name") in values else p
        for p in spec.get("params", [])
    ]
    return {**spec, "params": params}


def _literal(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


class _Texts:
    """A chart's words as Vega expressions: in both languages, chosen by the `lang` param (live),
    or in the chart's language only."""

    def __init__(self, lang: str, live: bool):
        self.lang, self.live = check_lang(lang), live

    def choose(self, zh: str, en: str) -> str:
        """Of two expressions, the one of the chart's language (live: chosen by `lang`)."""
        if self.live:
            return f"(lang == 'en' ? {en} : {zh})"
        return en if self.lang == "en" else zh

    def words(self, key: str, **fields) -> str:
        """A message of the catalogue, as an expression."""
        return self.choose(_literal(t(key, "zh", **fields)), _literal(t(key, "en", **fields)))

    def text(self, key: str):
        """A message for a title: a plain string, or (live) an expression."""
        return {"expr": self.words(key)} if self.live else t(key, self.lang)

    def status(self, status_expr: str) -> str:
        """The name of a status in the chart's language."""
        words = {lang: _literal({s: t(s, lang) for s in STATUS_COLOURS}) for lang in ("zh", "en")}
        return f"{self.choose(words['zh'], words['en'])}[{status_expr}]"

    def status_colour(self) -> alt.Color:
        """Colour by the `status` field (the status in the chart's language; see status())."""
        names = {lang: [t(s, lang) for s in STATUS_COLOURS] for lang in ("zh", "en")}
        domain = (
            {"expr": self.choose(*(_literal(names[lang]) for lang in ("zh", "en")))}
            if self.live
            else names[self.lang]
        )
        return alt.Color(
            "status:N",
            scale=alt.Scale(domain=domain, range=list(STATUS_COLOURS.values())),
            # One entry a row: Vega keeps a row's entry positions when labels change language.
            title=None,
            legend=_legend(orient="top", direction="vertical"),
        )

    def tooltip(self, rows: dict) -> dict:
        """A mark tooltip: {label key: Vega expression of the value}."""

        def one(lang):
            pairs = (f"{_literal(t(k, lang))}: {v}" for k, v in rows.items())
            return "{" + ", ".join(pairs) + "}"

        return {"expr": self.choose(one("zh"), one("en"))}

    def data(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The chart's rows: both languages' columns (live), else those of its language only."""
        if self.live:
            return frame
        other = "en" if self.lang == "zh" else "zh"
        return frame.drop(columns=[c for c in frame.columns if c.endswith(f"_{other}")])

    def filtered(self, chart):
        """Live: the rows the dashboard's filters keep."""
        return chart.transform_filter(FILTER_EXPR) if self.live else chart

    def params(self, chart):
        return chart.add_params(*_params(self.lang)) if self.live else chart


def row_notes(assessed: pd.DataFrame, found: pd.DataFrame | None = None) -> pd.DataFrame:
    """What the achievement chart's tooltips say of each assessed row, in each language: the
    target and actual in words with units (target_zh, actual_en…), the confidence mark (code and
    words) and, given the findings assess() used, the warning of those on its numbers (their
    positions in `found` in "findings")."""
    from plantrack.config import LANGUAGES
    from plantrack.judge.progress import findings_on_rows
    from plantrack.present.html import target_words, value_words

    touching = findings_on_rows(assessed, found) if found is not None else [[]] * len(assessed)
    confidence = assessed["confidence"].astype(str).to_numpy()
    notes = {"confidence": confidence, "findings": touching}
    rows = list(assessed.itertuples(index=False))
    for lang in LANGUAGES:
        notes[f"target_{lang}"] = [target_words(r, lang) for r in rows]
        notes[f"actual_{lang}"] = [value_words(r.actual_value, r.actual_unit, lang) for r in rows]
        notes[f"warning_{lang}"] = [
            "; ".join(f"⚠ {t(found.at[k, 'kind'], lang)}" for k in ks) for ks in touching
        ]
        notes[f"confidence_{lang}"] = [f"{t('confidence.' + c, lang)}" for c in confidence]
    return pd.DataFrame(notes, index=assessed.index)


def _percent(field: str) -> str:
    return f"(isValid(datum.{field}) ? format(datum.{field}, '.1f') + '%' : '—')"


def achievement_chart(
    assessed: pd.DataFrame,
    lang: str = "zh",
    notes: pd.DataFrame | None = None,
    fit: bool = False,
    *,
    live: bool = False,
) -> alt.LayerChart:
    """Every target's achievement (computed rate) against the 100% line, coloured by status.

    notes (optional, aligned with assessed; see row_notes): per language, the target and actual
    in words with their units (target_zh/target_en, actual_zh/actual_en), the warning of a finding
    on the row (warning_zh/warning_en, empty if none) and a confidence mark (confidence_zh/
    confidence_en); the tooltip shows them. Without notes the tooltip says the target and actual
    in the chart's language, with no warnings. A bar past RATE_CAP stops there with an arrow at
    its end; its true rate stands beside it and in the tooltip. With more than MAX_BARS targets it shows how many targets fall in
    each 10% band instead: the browser gets a few dozen aggregated rows, never one mark per target.
    fit: the chart takes its container's width. live: the dashboard's form (both languages,
    its filters and the click selection PICK as params; see FILTER_EXPR). Any other chart
    combines with others: alt.vconcat, alt.hconcat, `|`, `&`.
    """
    words = _Texts(lang, live)
    if len(assessed) > MAX_BARS:
        return _achievement_distribution(assessed, words, fit)
    years = assessed["target_year"].astype(str)
    data = pd.DataFrame(
        {
            "order": range(len(assessed)),
            "indicator_id": assessed["indicator_id"].to_numpy(),
            "sector": assessed["sector"].to_numpy(),
            "status_id": assessed["status"].to_numpy(),
            "target_year": assessed["target_year"].astype(int).to_numpy(),
            "name_zh": (assessed["name_zh"] + " (" + years + ")").to_numpy(),
            "name_en": (assessed["name_en"] + " (" + years + ")").to_numpy(),
            "rate": assessed["computed_rate"].clip(upper=RATE_CAP).fillna(0.0).to_numpy(),
            "computed": assessed["computed_rate"].round(1).to_numpy(),
            "reported": assessed["reported_rate"].to_numpy(),
        }
    )
    warned = notes is not None  # the caller's notes carry the findings' warnings
    if notes is None:
        notes = row_notes(assessed)
    for language in ("zh", "en"):
        for column in ("target", "actual", "warning", "confidence"):
            source = pd.Series(notes[f"{column}_{language}"])
            data[f"{column}_{language}"] = (
                source.astype(object).where(source.notna(), None).to_numpy()
            )
    data = words.data(data)
    capped = words.words("chart.capped", cap=f"{RATE_CAP:.0f}%")  # "(bar drawn to 300%)"
    actual = words.choose("datum.actual_zh", "datum.actual_en")
    fields = {
        "indicator": "datum.name",
        "target": words.choose("datum.target_zh", "datum.target_en"),
        "actual": f"(isValid({actual}) && {actual} != '' ? {actual} : {words.words('no_data')})",
        "computed_rate": f"{_percent('computed')} + (datum.computed > {RATE_CAP} ? ' ' + {capped} : '')",
        "reported_rate": _percent("reported"),
        "status": "datum.status",
    }
    fields["confidence"] = words.choose("datum.confidence_zh", "datum.confidence_en")
    if warned:
        fields["warning"] = f"({words.choose('datum.warning_zh', 'datum.warning_en')} || '—')"
    name = words.choose("datum.name_zh", "datum.name_en")
    bars = words.filtered(
        alt.Chart(data)
        .mark_bar(
            height=16, tooltip=words.tooltip(fields), **({"cursor": "pointer"} if live else {})
        )
        .encode(
            x=alt.X(
                "rate:Q",
                title=None,
                scale=alt.Scale(domain=[0, RATE_CAP]),
                axis=_axis(fit, labelExpr="datum.label + '%'"),
            ),
            y=alt.Y(
                "name:N", sort=alt.EncodingSortField("order", op="min"), title=None, axis=_axis(fit)
            ),
            color=words.status_colour(),
        )
    ).transform_calculate(name=name, status=words.status("datum.status_id"))
    if live:
        # Named here: Altair otherwise names the view by hashing its data's printed form, which
        # changes with the process (pandas prints a frame differently in a kernel), so the same
        # plan gave specs that differ from one process to the next.
        bars = bars.properties(name="bars").add_params(
            alt.selection_point(
                name=PICK, fields=["indicator_id"], on="click", clear="dblclick", empty=False
            )
        )
    # A bar past its cap says so: an arrow at its end (the bar goes on), its true rate beside it
    # and in the tooltip. A ⚠ beside a bar where a finding touches the row.
    arrows = words.filtered(
        alt.Chart(data)
        .transform_filter(f"datum.computed > {RATE_CAP}")
        .mark_point(
            shape="triangle-right", filled=True, size=60, opacity=1, color=style.PAPER, xOffset=-7
        )
        .encode(
            x=alt.X("rate:Q"),
            y=alt.Y("name:N", sort=alt.EncodingSortField("order", op="min")),
            description="capped:N",
        )
    ).transform_calculate(
        name=name,
        capped=f"datum.name + ': ' + format(datum.computed, '.0f') + '% ' + {capped}",
    )
    labels = words.filtered(
        alt.Chart(data)
        .mark_text(align="left", dx=3, fontSize=11, color=style.INK, font=FONT)
        .encode(
            x=alt.X("rate:Q"),
            y=alt.Y("name:N", sort=alt.EncodingSortField("order", op="min")),
            text="label:N",
        )
    ).transform_calculate(
        name=name,
        label=f"(datum.computed > {RATE_CAP} ? format(datum.computed, '.0f') + '%' : '')"
        f" + ({words.choose('datum.warning_zh', 'datum.warning_en')} ? ' ⚠' : '')",
    )
    line = (
        alt.Chart(pd.DataFrame({"x": [100.0]}))
        .mark_rule(color="#333", strokeDash=[4, 3])
        .encode(x="x:Q")
    )
    capped_rows = bool((assessed["computed_rate"] > RATE_CAP).any())
    layers = [bars, arrows, labels, line] if capped_rows else [bars, labels, line]
    chart = alt.layer(*layers).properties(
        width=520, height=alt.Step(24), title=_title(words.text("achievement_title"), fit)
    )
    return _framed(words.params(chart), fit)


def _achievement_distribution(assessed: pd.DataFrame, words: _Texts, fit: bool) -> alt.LayerChart:
    rate = assessed["computed_rate"].clip(upper=RATE_CAP)
    bands = pd.DataFrame({"band": (rate // 10 * 10).fillna(-10.0), "status_id": assessed["status"]})
    data = bands.groupby(["band", "status_id"]).size().reset_index(name="count")
    # a band in words: "90–100%"; the last one holds every rate from the cap up; no rate: "—"
    band = (
        f"(datum.band >= {RATE_CAP} ? '≥{RATE_CAP:.0f}%' : datum.band < 0 ? '—' : "
        "datum.band + '–' + (datum.band + 10) + '%')"
    )
    bars = (
        alt.Chart(data)
        .transform_calculate(status=words.status("datum.status_id"))
        .mark_bar(
            tooltip=words.tooltip(
                {"achievement": band, "status": "datum.status", "count": "datum.count"}
            )
        )
        .encode(
            x=alt.X(
                "band:Q",
                bin=alt.Bin(step=10, extent=[-10, RATE_CAP + 10]),
                title=None,
                axis=_axis(fit, labelExpr="datum.label + '%'"),
            ),
            y=alt.Y("count:Q", title=None, axis=_axis(fit)),
            color=words.status_colour(),
        )
    )
    line = (
        alt.Chart(pd.DataFrame({"x": [100.0]}))
        .mark_rule(color="#333", strokeDash=[4, 3])
        .encode(x="x:Q")
    )
    title = (
        {"expr": f"{words.words('achievement_title')} + ' · {len(assessed):,}'"}
        if words.live
        else f"{t('achievement_title', words.lang)} · {len(assessed):,}"
    )
    return _framed(
        words.params(
            alt.layer(bars, line).properties(width=520, height=260, title=_title(title, fit))
        ),
        fit,
    )


def sector_chart(
    plan, sector: str, lang: str = "zh", as_of: int | None = None, fit: bool = False
) -> alt.LayerChart:
    """Each target of one sector: its completion rate as a bar against the 100% line, coloured
    by status (the achievement chart of that sector, titled with the sector's name). Its
    tooltips give the target and actual in words, the confidence and the warnings where the
    sources disagree (findings), in the chart's language.

    plan: a Plan or a plan id; sector: one of plan.sector_ids(); as_of: judge with the actuals
    known by that year. Shows alone in a notebook, saves with .save("x.png"/"x.svg") offline and
    combines with other charts (alt.vconcat, `|`, `&`)."""
    from plantrack.data.package import load_plan
    from plantrack.errors import DataError
    from plantrack.judge.findings import findings
    from plantrack.judge.progress import assess

    check_lang(lang)
    plan = load_plan(plan) if isinstance(plan, str) else plan
    if sector not in plan.sector_ids():
        raise DataError(
            f"unknown sector {str(sector)[:40]!r} for plan {plan.plan_id}; "
            f"allowed: {', '.join(plan.sector_ids())}"
        )
    found = findings(plan)
    assessed = assess(plan, as_of=as_of, found=found)
    rows = assessed[assessed["sector"] == sector]
    chart = achievement_chart(rows, lang, row_notes(rows, found), fit)
    title = [plan.sector_name(sector, lang), t("achievement_title", lang)]
    if rows.empty:
        title.append(t("no_targets", lang))
    return chart.properties(title=_title(title, fit))


def status_counts_chart(
    assessed: pd.DataFrame,
    sectors: pd.DataFrame,
    lang: str = "zh",
    fit: bool = False,
    *,
    live: bool = False,
) -> alt.Chart:
    """How many targets are achieved / not achieved / without data, by sector.

    Counted in pandas by sector, status and year (a few dozen rows at most); Vega filters (live)
    and sums them. `sectors` is the plan's sector table, in the plan's order. fit, live: as for
    achievement_chart.
    """
    words = _Texts(lang, live)
    counts = (
        assessed.groupby(["sector", "status", "target_year"], sort=False)
        .size()
        .reset_index(name="count")
    )
    counts = counts.rename(columns={"status": "status_id"})
    names = sectors.set_index("sector_id")
    counts["order"] = counts["sector"].map({s: i for i, s in enumerate(sectors["sector_id"])})
    counts["target_year"] = counts["target_year"].astype(int)
    for language in ("zh", "en"):
        counts[f"sector_{language}"] = (
            counts["sector"].map(names[f"name_{language}"]).fillna(counts["sector"])
        )
    tooltip = words.tooltip(
        {"sector": "datum.sector_name", "status": "datum.status", "count": "datum.count"}
    )
    chart = (
        words.filtered(
            alt.Chart(words.data(counts))
            .mark_bar(tooltip=tooltip)
            .encode(
                x=alt.X("count:Q", title=None, axis=_axis(fit, tickMinStep=1)),
                y=alt.Y(
                    "sector_name:N",
                    sort=alt.EncodingSortField("order", op="min"),
                    title=None,
                    axis=_axis(fit),
                ),
                color=words.status_colour(),
            )
        )
        .transform_calculate(
            sector_name=words.choose("datum.sector_zh", "datum.sector_en"),
            status=words.status("datum.status_id"),
        )
        .transform_aggregate(count="sum(count)", groupby=["sector_name", "status", "order"])
    )
    return _framed(
        words.params(
            chart.properties(
                width=420, height=alt.Step(24), title=_title(words.text("counts_title"), fit)
            )
        ),
        fit,
    )


# The indicator chart's marks: actual values, each source's targets, the path a target required.
ACTUAL_STYLE = ("#1565c0", "circle")
TARGET_STYLES = {  # a target's source by its role (sources.csv): colour and shape
    "plan": ("#c62828", "diamond"),
    "evaluation": ("#8a4a00", "square"),
    "summary": ("#6a1b9a", "triangle-up"),
    "bulletin": ("#00695c", "triangle-down"),
    "context": ("#37474f", "cross"),
}
MORE_SHAPES = ("triangle-right", "triangle-left", "wedge", "circle")  # a second source of a role
PATH_STYLE = (style.MUTED, "stroke", [6, 4])  # dashed, as on the site


def _target_keys(targets: pd.DataFrame, sources: pd.DataFrame, lang: str) -> dict:
    """Each target source's legend entry and look, the plan's first: source id -> (label, colour,
    shape). The label is the source's role in words, with its title when two of the indicator's
    target sources share a role (the second one then gets another shape)."""
    sources = sources.set_index("source_id")
    roles = list(TARGET_STYLES)

    def role(i):
        return str(sources.at[i, "role"]) if i in sources.index else ""

    ids = sorted(
        dict.fromkeys(targets["source"].astype(str)),
        key=lambda i: roles.index(role(i)) if role(i) in roles else len(roles),
    )
    seen, spare, keys = set(), iter(MORE_SHAPES), {}
    for i in ids:
        word = t(f"chart.target_source.{role(i)}", lang)
        word = t("target", lang) if word.startswith("chart.") else word
        if sum(role(j) == role(i) for j in ids) > 1:
            title = sources.at[i, f"title_{lang}"] if i in sources.index else i
            word = f"{word}: {title}"
        colour, shape = TARGET_STYLES.get(role(i), (style.MUTED, None))
        if shape is None or role(i) in seen:
            shape = next(spare, "diamond")
        seen.add(role(i))
        keys[i] = (word, colour, shape)
    return keys


def indicator_chart(
    plan,
    indicator_id: str,
    lang: str = "zh",
    as_of: int | None = None,
    fit: bool = False,
    *,
    assessed: pd.DataFrame | None = None,
) -> alt.LayerChart:
    """One indicator's values over the years (in its unit), with its targets and the path each
    target required, and a legend naming them in the chart's language.

    Each target's mark says its source (the plan's own target, the evaluation's restatement, …)
    by colour and shape. The required path (dashed) runs from the trajectory's base year to the
    target, at the constant growth the target needed (judge.progress.required_paths; a straight
    line where a value is not above zero). assessed: the plan's assess() rows (as of `as_of`),
    if already computed; else they are. In English the unit is translated and a value is shown
    as a number with that unit; the Chinese chart shows each value as the source states it.
    fit: the chart takes its container's width. Combines with other charts (alt.vconcat, `|`…)."""
    from plantrack.judge.measures import corrected, measure_of
    from plantrack.judge.progress import (
        assess,
        comparable_actuals,
        pair_factors,
        required_paths,
    )
    from plantrack.present.html import unit_name, value_words

    check_lang(lang)
    indicators = plan.indicators.set_index("indicator_id")
    stated_unit = indicators.at[indicator_id, "unit"]
    unit = unit_name(stated_unit, lang)
    actuals = comparable_actuals(plan, indicators["unit"], as_of, indicator_id)
    actuals = actuals[actuals["value_converted"].notna()]
    titles = plan.sources.set_index("source_id")[f"title_{lang}"].astype(str)

    def said(frame):  # the value in words: as stated (zh), else number + translated unit
        if lang == "zh":
            return frame["stated"].astype(str)
        words = [value_words(v, u, lang) for v, u in zip(frame["value"], frame["unit"])]
        return pd.Series(words, index=frame.index, dtype=object)

    def source_titles(frame):
        return frame["source"].astype(str).map(titles).fillna(frame["source"].astype(str))

    actual_key, other_key = t("actual", lang), t("other_measure", lang)
    own = actuals["own_measure"].to_numpy(dtype=bool)

    def noted(frame):  # drawn at the value used: a corrected figure says so beside its words
        words = said(frame)
        if "correction_id" not in frame:
            return words
        return words.where(frame["correction_id"].isna(), words + f" ({t('corrected_note', lang)})")

    stated = noted(actuals)
    points = pd.DataFrame(
        {
            # a figure of another definition than the indicator's: drawn apart, never joined
            "series": np.where(own, "actual", "other"),
            "key": np.where(own, actual_key, other_key),
            "measure": measure_of(actuals).to_numpy(object),
            "year": actuals["year"].astype(int),
            "value": actuals["value_converted"],
            "source": source_titles(actuals),
            "stated": stated,
            "path": "",
        }
    )
    targets = corrected(plan).targets
    targets = targets[targets["indicator_id"] == indicator_id]
    factors = pair_factors(targets["unit"].array, [stated_unit] * len(targets))
    keys = _target_keys(targets, plan.sources, lang)
    first_source = next(iter(keys), None)
    marks = pd.DataFrame(
        {
            "series": "target",
            "key": targets["source"].astype(str).map(lambda i: keys[i][0]),
            "year": targets["target_year"].astype(int),
            "value": targets["value"] * factors,
            "source": source_titles(targets),
            "stated": noted(targets),
            "measure": "",
            "path": "",
            # the plan's own target drawn last and smaller, on a restatement of the same figure
            "size": targets["source"].astype(str).map(lambda i: 140 if i == first_source else 260),
        }
    ).dropna(subset=["year", "value"])
    marks = marks.sort_values("size", ascending=False, kind="stable")

    if assessed is None:
        assessed = assess(plan, as_of=as_of, flags=False)
    first = {}
    for year, value in zip(points["year"], points["value"]):
        first.setdefault(int(year), float(value))
    path_key = t("required_path", lang)
    mine = assessed[assessed["indicator_id"] == indicator_id]
    paths = pd.DataFrame(
        [
            {
                "series": "path",
                "key": path_key,
                "year": year,
                "value": value,
                "source": "",
                "stated": "",
                "measure": "",
                "path": f"{n}",
            }
            for n, (_, path) in enumerate(required_paths(mine, first, stated_unit))
            for year, value in path.items()
        ],
        columns=list(points.columns),
    )
    data = pd.concat([points, marks, paths], ignore_index=True)

    styles = [(actual_key, *ACTUAL_STYLE, [1, 0])] if own.any() else []
    styles += [(other_key, ACTUAL_STYLE[0], "square", [1, 0])] if not own.all() else []
    styles += [
        (k, c, s, [1, 0]) for k, c, s in dict.fromkeys(keys.values()) if k in set(marks["key"])
    ]
    styles += [(path_key, *PATH_STYLE)] if len(paths) else []
    domain = [k for k, *_ in styles]

    def scale(n):
        return alt.Scale(domain=domain, range=[x[n] for x in styles])

    legend = _legend(orient="bottom", direction="vertical", labelLimit=LABEL_LIMIT + 100)
    tooltip = [
        alt.Tooltip("year:O", title=t("year", lang)),
        alt.Tooltip("value:Q", title=f"{t('value', lang)} ({unit})"),
        alt.Tooltip("stated:N", title=t("stated_as", lang)),
        alt.Tooltip("source:N", title=t("source", lang)),
    ]
    base = alt.Chart(data).encode(
        x=alt.X("year:O", title=t("year", lang), axis=_axis(fit, labelAngle=0)),
        y=alt.Y("value:Q", title=unit, scale=alt.Scale(zero=True), axis=_axis(fit)),
        color=alt.Color("key:N", scale=scale(1), title=None, legend=legend),
    )
    path = (
        base.transform_filter(alt.datum.series == "path")
        .mark_line(strokeWidth=2)
        .encode(
            strokeDash=alt.StrokeDash("key:N", scale=scale(3), title=None, legend=legend),
            detail="path:N",
            tooltip=[
                alt.Tooltip("year:O", title=t("year", lang)),
                alt.Tooltip("value:Q", title=f"{path_key} ({unit})", format=",.4~r"),
            ],
        )
    )
    shape = alt.Shape("key:N", scale=scale(2), title=None, legend=legend)
    line = (
        base.transform_filter(alt.datum.series == "actual")
        .mark_line(point=True)
        .encode(shape=shape, detail="measure:N", tooltip=tooltip)
    )
    other = (
        base.transform_filter(alt.datum.series == "other")
        .mark_line(strokeWidth=1, point=alt.OverlayMarkDef(filled=False, size=70, strokeWidth=2))
        .encode(shape=shape, detail="measure:N", tooltip=tooltip)
    )
    target = (
        base.transform_filter(alt.datum.series == "target")
        .mark_point(filled=True)
        .encode(shape=shape, size=alt.Size("size:Q", scale=None), tooltip=tooltip)
    )
    name = indicators.at[indicator_id, f"name_{lang}"]
    # an empty layer would leave an unlabelled mark group in the SVG (axe: svg-img-alt)
    layers = [
        layer
        for layer, rows in (
            (path, len(paths)),
            (line, own.sum()),
            (other, (~own).sum()),
            (target, len(marks)),
        )
        if rows
    ]
    # The legend's scales stay inside this chart (resolved independent one level up): beside
    # another chart, Vega-Lite would otherwise merge them with that chart's colours and shapes.
    chart = (
        alt.layer(alt.layer(*(layers or [line])))
        .resolve_scale(color="independent", shape="independent", strokeDash="independent")
        .properties(width=420, height=220, title=_title([str(name), t("history_title", lang)], fit))
    )
    return _framed(chart, fit)


def static_bundle(chart: alt.Chart) -> dict:
    """A display bundle that renders with no network: inline SVG, with the Vega-Lite spec beside it."""
    import vl_convert as vlc

    spec = top_level_spec(chart.to_dict())
    svg = vlc.vegalite_to_svg(spec)
    spec_json = json.dumps(spec, ensure_ascii=False).replace("</", "<\\/")
    page = (
        f'<figure class="plantrack-chart">{svg}'
        f'<script type="application/vnd.vegalite.v5+json" class="vega-lite-spec">{spec_json}</script></figure>'
    )
    return {
        "text/html": page,
        "image/svg+xml": svg,
        "text/plain": html.unescape(
            spec.get("title", "chart") if isinstance(spec.get("title"), str) else "chart"
        ),
    }


def show_static(chart: alt.Chart) -> None:
    """Display a chart in a report notebook so that the exported HTML needs no CDN."""
    from IPython.display import display

    display(static_bundle(chart), raw=True)


def to_png(chart: alt.Chart | dict, scale: float = 2.0) -> bytes:
    """A chart (or a combination, or a spec) as PNG, drawn offline by vl-convert."""
    import vl_convert as vlc

    return vlc.vegalite_to_png(top_level_spec(chart), scale=scale)


def to_svg(chart: alt.Chart | dict) -> str:
    """A chart (or a combination, or a spec) as SVG, drawn offline by vl-convert."""
    import vl_convert as vlc

    return vlc.vegalite_to_svg(top_level_spec(chart))


def use_offline() -> None:
    """Render Altair charts in JupyterLab/Voilà with bundled JavaScript (no CDN)."""
    alt.renderers.enable("jupyter", offline=True)
