"""Altair chart builders shared by the sector reports, the dashboard and researchers."""
from __future__ import annotations

import html
import json

import altair as alt
import pandas as pd

from plantrack.messages import t
from plantrack.present import style

STATUS_COLOURS = {s: style.colour(s) for s in style.LEVEL_STATUSES}   # the one palette
RATE_CAP = 300.0     # bars past 300% are drawn at 300% so the others stay readable; tooltips say the truth
FONT = "Noto Sans CJK SC, Noto Sans SC, Source Han Sans SC, Microsoft YaHei, PingFang SC, sans-serif"


def _themed(chart: alt.Chart) -> alt.Chart:
    # resize: lay the view out again on every update, as labels change length with the language
    return (chart.properties(autosize=alt.AutoSizeParams(type="pad", resize=True))
            .configure(font=FONT).configure_view(stroke=None).configure_axis(labelLimit=260))


MAX_BARS = 80   # more targets than this are drawn as a distribution, aggregated in pandas first

# The overview charts carry both languages and four params: `lang`, and the dashboard's filters
# (empty values mean "all"). The dashboard changes a language or a filter by setting a param; the
# Vega view recomputes in place, with no new spec.
FILTER_EXPR = ("(length(sectors) == 0 || indexof(sectors, datum.sector) >= 0)"
               " && (status == '' || datum.status_id == status) && (year == 0 || datum.target_year == year)")


def _params(lang: str) -> list:
    return [alt.param(name="lang", value=lang), alt.param(name="sectors", value=[]),
            alt.param(name="status", value=""), alt.param(name="year", value=0)]


def with_param_values(spec: dict, values: dict) -> dict:
    """A copy of a chart spec whose top-level params start at the given values."""
    params = [{**p, "value": values[p["name"]]} if p.get("name") in values else p for p in spec.get("params", [])]
    return {**spec, "params": params}


def _in_lang(zh: str, en: str) -> str:
    """A Vega expression choosing between two expressions by the `lang` param."""
    return f"(lang == 'en' ? {en} : {zh})"


def _words(key: str) -> str:
    return _in_lang(json.dumps(t(key, "zh"), ensure_ascii=False), json.dumps(t(key, "en"), ensure_ascii=False))


def _text(key: str) -> dict:
    return {"expr": _words(key)}


def _status_word(status_expr: str) -> str:
    words = {lang: json.dumps({s: t(s, lang) for s in STATUS_COLOURS}, ensure_ascii=False) for lang in ("zh", "en")}
    return f"{_in_lang(words['zh'], words['en'])}[{status_expr}]"


def _status_colour() -> alt.Color:
    """Colour by the `status` field (the status in the chart's language; see _status_word)."""
    domain = {lang: json.dumps([t(s, lang) for s in STATUS_COLOURS], ensure_ascii=False) for lang in ("zh", "en")}
    return alt.Color("status:N", scale=alt.Scale(domain={"expr": _in_lang(domain["zh"], domain["en"])},
                                                 range=list(STATUS_COLOURS.values())),
                     # One entry a row: Vega keeps a row's entry positions when labels change language.
                     title=None, legend=alt.Legend(orient="top", direction="vertical"))


def _tooltip(rows: dict) -> dict:
    """A mark tooltip in the current language: {label key: Vega expression of the value}."""
    def one(lang):
        return "{" + ", ".join(f"{json.dumps(t(k, lang), ensure_ascii=False)}: {v}" for k, v in rows.items()) + "}"
    return {"expr": _in_lang(one("zh"), one("en"))}


def _percent(field: str) -> str:
    return f"(isValid(datum.{field}) ? format(datum.{field}, '.1f') + '%' : '—')"


def achievement_chart(assessed: pd.DataFrame, lang: str = "zh") -> alt.Chart:
    """Every target's achievement (computed rate) against the 100% line, coloured by status.

    With more than MAX_BARS targets it shows how many targets fall in each 10% band instead:
    the browser gets a few dozen aggregated rows, never one mark per target.
    """
    if len(assessed) > MAX_BARS:
        return _achievement_distribution(assessed, lang)
    years = assessed["target_year"].astype(str)
    data = pd.DataFrame({
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
        "target": assessed["target_stated"].to_numpy(),
        "actual": assessed["actual_stated"].to_numpy(),
    })
    tooltip = _tooltip({"indicator": "datum.name", "target": "datum.target",
                        "actual": f"(isValid(datum.actual) ? datum.actual : {_words('no_data')})",
                        "computed_rate": _percent("computed"), "reported_rate": _percent("reported"),
                        "status": "datum.status"})
    bars = alt.Chart(data).mark_bar(height=16, tooltip=tooltip).encode(
        x=alt.X("rate:Q", title=None, scale=alt.Scale(domain=[0, RATE_CAP]), axis=alt.Axis(labelExpr="datum.label + '%'")),
        y=alt.Y("name:N", sort=alt.EncodingSortField("order", op="min"), title=None),
        color=_status_colour(),
    ).transform_filter(FILTER_EXPR).transform_calculate(name=_in_lang("datum.name_zh", "datum.name_en"),
                                                         status=_status_word("datum.status_id"))
    line = alt.Chart(pd.DataFrame({"x": [100.0]})).mark_rule(color="#333", strokeDash=[4, 3]).encode(x="x:Q")
    chart = alt.layer(bars, line).properties(width=520, height=alt.Step(24),
                                             title=alt.TitleParams(_text("achievement_title")))
    return _themed(chart.add_params(*_params(lang)))


def _achievement_distribution(assessed: pd.DataFrame, lang: str) -> alt.Chart:
    rate = assessed["computed_rate"].clip(upper=RATE_CAP)
    bands = pd.DataFrame({"band": (rate // 10 * 10).fillna(-10.0), "status_id": assessed["status"]})
    data = bands.groupby(["band", "status_id"]).size().reset_index(name="count")
    bars = alt.Chart(data).transform_calculate(status=_status_word("datum.status_id")).mark_bar(
        tooltip=_tooltip({"achievement": "datum.band", "status": "datum.status", "count": "datum.count"})).encode(
        x=alt.X("band:Q", bin=alt.Bin(step=10, extent=[-10, RATE_CAP + 10]), title=None,
                axis=alt.Axis(labelExpr="datum.label + '%'")),
        y=alt.Y("count:Q", title=None),
        color=_status_colour())
    line = alt.Chart(pd.DataFrame({"x": [100.0]})).mark_rule(color="#333", strokeDash=[4, 3]).encode(x="x:Q")
    title = {"expr": f"{_words('achievement_title')} + ' · {len(assessed):,}'"}
    return _themed(alt.layer(bars, line).properties(width=520, height=260, title=alt.TitleParams(title))
                   .add_params(*_params(lang)))


def status_counts_chart(assessed: pd.DataFrame, sectors: pd.DataFrame, lang: str = "zh") -> alt.Chart:
    """How many targets are achieved / not achieved / without data, by sector.

    Counted in pandas by sector, status and year (a few dozen rows at most); Vega filters and
    sums them. `sectors` is the plan's sector table, in the plan's order.
    """
    counts = assessed.groupby(["sector", "status", "target_year"], sort=False).size().reset_index(name="count")
    counts = counts.rename(columns={"status": "status_id"})
    names = sectors.set_index("sector_id")
    counts["order"] = counts["sector"].map({s: i for i, s in enumerate(sectors["sector_id"])})
    counts["target_year"] = counts["target_year"].astype(int)
    for language in ("zh", "en"):
        counts[f"sector_{language}"] = counts["sector"].map(names[f"name_{language}"]).fillna(counts["sector"])
    tooltip = _tooltip({"sector": "datum.sector_name", "status": "datum.status", "count": "datum.count"})
    chart = alt.Chart(counts).mark_bar(tooltip=tooltip).encode(
        x=alt.X("count:Q", title=None, axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("sector_name:N", sort=alt.EncodingSortField("order", op="min"), title=None),
        color=_status_colour(),
    ).transform_filter(FILTER_EXPR).transform_calculate(
        sector_name=_in_lang("datum.sector_zh", "datum.sector_en"), status=_status_word("datum.status_id")
    ).transform_aggregate(count="sum(count)", groupby=["sector_name", "status", "order"])
    return _themed(chart.properties(width=420, height=alt.Step(24), title=alt.TitleParams(_text("counts_title")))
                   .add_params(*_params(lang)))


def indicator_chart(plan, indicator_id: str, lang: str = "zh", as_of: int | None = None) -> alt.Chart:
    """One indicator's values over the years (in its unit), with its targets marked."""
    from plantrack.judge.progress import comparable_actuals, pair_factors

    indicators = plan.indicators.set_index("indicator_id")
    unit = indicators.at[indicator_id, "unit"]
    actuals = comparable_actuals(plan, indicators["unit"], as_of, indicator_id)
    actuals = actuals[actuals["value_converted"].notna()]
    points = pd.DataFrame({"year": actuals["year"].astype(int), "value": actuals["value_converted"],
                           "kind": t("actual", lang), "source": actuals["source"], "stated": actuals["stated"]})
    targets = plan.targets[plan.targets["indicator_id"] == indicator_id]
    factors = pair_factors(targets["unit"].array, [unit] * len(targets))
    marks = pd.DataFrame({"year": targets["target_year"].astype(int), "value": targets["value"] * factors,
                          "kind": t("target", lang), "source": targets["source"], "stated": targets["stated"]}).dropna()
    data = pd.concat([points, marks], ignore_index=True)
    tooltip = [alt.Tooltip("year:O", title=t("year", lang)), alt.Tooltip("value:Q", title=f"{t('value', lang)} ({unit})"),
               alt.Tooltip("stated:N", title=t("quote", lang)), alt.Tooltip("source:N", title=t("source", lang))]
    base = alt.Chart(data).encode(x=alt.X("year:O", title=t("year", lang), axis=alt.Axis(labelAngle=0)),
                                  y=alt.Y("value:Q", title=unit, scale=alt.Scale(zero=True)))
    line = base.transform_filter(alt.datum.kind == t("actual", lang)).mark_line(point=True, color="#1565c0") \
        .encode(tooltip=tooltip)
    target = base.transform_filter(alt.datum.kind == t("target", lang)) \
        .mark_point(shape="diamond", size=140, filled=True, color="#c62828").encode(tooltip=tooltip)
    name = indicators.at[indicator_id, f"name_{lang}"]
    return _themed(alt.layer(target, line).properties(width=420, height=220, title=f"{name} — {t('history_title', lang)}"))


def static_bundle(chart: alt.Chart) -> dict:
    """A display bundle that renders with no network: inline SVG, with the Vega-Lite spec beside it."""
    import vl_convert as vlc

    spec = chart.to_dict()
    svg = vlc.vegalite_to_svg(spec)
    spec_json = json.dumps(spec, ensure_ascii=False).replace("</", "<\\/")
    page = (f'<figure class="plantrack-chart">{svg}'
            f'<script type="application/vnd.vegalite.v5+json" class="vega-lite-spec">{spec_json}</script></figure>')
    return {"text/html": page, "image/svg+xml": svg, "text/plain": html.unescape(spec.get("title", "chart")
                                                                               if isinstance(spec.get("title"), str) else "chart")}


def show_static(chart: alt.Chart) -> None:
    """Display a chart in a report notebook so that the exported HTML needs no CDN."""
    from IPython.display import display
    display(static_bundle(chart), raw=True)


def to_png(chart: alt.Chart, scale: float = 2.0) -> bytes:
    import vl_convert as vlc
    return vlc.vegalite_to_png(chart.to_dict(), scale=scale)


def to_svg(chart: alt.Chart) -> str:
    import vl_convert as vlc
    return vlc.vegalite_to_svg(chart.to_dict())


def use_offline() -> None:
    """Render Altair charts in JupyterLab/Voilà with bundled JavaScript (no CDN)."""
    alt.renderers.enable("jupyter", offline=True)
