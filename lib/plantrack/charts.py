"""Altair chart builders shared by the sector reports, the dashboard and researchers."""
from __future__ import annotations

import html
import json

import altair as alt
import pandas as pd

from .i18n import t

STATUS_COLOURS = {"achieved": "#2e7d32", "not_achieved": "#c62828", "no_data": "#9e9e9e",
                  "not_comparable": "#ef6c00"}
RATE_CAP = 300.0     # bars past 300% are drawn at 300% so the others stay readable; tooltips say the truth
FONT = "Noto Sans CJK SC, Noto Sans SC, Source Han Sans SC, Microsoft YaHei, PingFang SC, sans-serif"


def _status_scale(lang: str) -> alt.Scale:
    return alt.Scale(domain=[t(s, lang) for s in STATUS_COLOURS], range=list(STATUS_COLOURS.values()))


def _themed(chart: alt.Chart) -> alt.Chart:
    return chart.configure(font=FONT).configure_view(stroke=None).configure_axis(labelLimit=260)


MAX_BARS = 80   # more targets than this are drawn as a distribution, aggregated in pandas first


FILTER_PARAMS = ("sectors", "status", "year")
# Filters a reader sets in the dashboard, applied inside the Vega view: changing one updates a
# signal, not the whole spec. Empty values mean "all".
FILTER_EXPR = ("(length(sectors) == 0 || indexof(sectors, datum.sector) >= 0)"
               " && (status == '' || datum.status_id == status) && (year == 0 || datum.target_year == year)")


def _with_filters(chart, _unused=None):
    """The chart's marks filtered by the dashboard's params (declared once, at the top)."""
    params = [alt.param(name="sectors", value=[]), alt.param(name="status", value=""), alt.param(name="year", value=0)]
    return chart.transform_filter(FILTER_EXPR), params


def achievement_chart(assessed: pd.DataFrame, lang: str = "zh", filters: bool = False) -> alt.Chart:
    """Every target's achievement (computed rate) against the 100% line, coloured by status.

    With more than MAX_BARS targets it shows how many targets fall in each 10% band instead:
    the browser gets a few dozen aggregated rows, never one mark per target. filters=True adds
    the dashboard's sector/status/year params, so the view filters without a new spec.
    """
    if len(assessed) > MAX_BARS:
        return _achievement_distribution(assessed, lang)
    data = pd.DataFrame({
        "order": range(len(assessed)),
        "indicator_id": assessed["indicator_id"].to_numpy(),
        "sector": assessed["sector"].to_numpy(),
        "status_id": assessed["status"].to_numpy(),
        "target_year": assessed["target_year"].astype(int).to_numpy(),
        "name": (assessed[f"name_{lang}"] + " (" + assessed["target_year"].astype(str) + ")").to_numpy(),
        "rate": assessed["computed_rate"].clip(upper=RATE_CAP).fillna(0.0).to_numpy(),
        "computed": assessed["computed_rate"].round(1).to_numpy(),
        "reported": assessed["reported_rate"].to_numpy(),
        "status": assessed["status"].map(lambda s: t(s, lang)).to_numpy(),
        "target": assessed["target_stated"].to_numpy(),
        "actual": assessed["actual_stated"].fillna(t("no_data", lang)).to_numpy(),
    })
    bars = alt.Chart(data).mark_bar(height=16).encode(
        x=alt.X("rate:Q", title=t("achievement", lang), scale=alt.Scale(domain=[0, RATE_CAP])),
        y=alt.Y("name:N", sort=alt.EncodingSortField("order", op="min"), title=None),
        color=alt.Color("status:N", scale=_status_scale(lang), title=t("status", lang),
                        legend=alt.Legend(orient="top")),
        tooltip=[alt.Tooltip("name:N", title=t("indicator", lang)), alt.Tooltip("target:N", title=t("target", lang)),
                 alt.Tooltip("actual:N", title=t("actual", lang)),
                 alt.Tooltip("computed:Q", title=t("computed_rate", lang)),
                 alt.Tooltip("reported:Q", title=t("reported_rate", lang)),
                 alt.Tooltip("status:N", title=t("status", lang))])
    params = []
    if filters:
        bars, params = _with_filters(bars, None)
    line = alt.Chart(pd.DataFrame({"x": [100.0]})).mark_rule(color="#333", strokeDash=[4, 3]).encode(x="x:Q")
    chart = alt.layer(bars, line).properties(width=520, height=alt.Step(24), title=t("achievement_title", lang))
    return _themed(chart.add_params(*params) if params else chart)


def _achievement_distribution(assessed: pd.DataFrame, lang: str) -> alt.Chart:
    rate = assessed["computed_rate"].clip(upper=RATE_CAP)
    bands = pd.DataFrame({"band": (rate // 10 * 10).fillna(-10.0), "status": assessed["status"]})
    data = bands.groupby(["band", "status"]).size().reset_index(name="count")
    data["status"] = data["status"].map(lambda x: t(x, lang))
    bars = alt.Chart(data).mark_bar().encode(
        x=alt.X("band:Q", bin=alt.Bin(step=10, extent=[-10, RATE_CAP + 10]), title=t("achievement", lang)),
        y=alt.Y("count:Q", title=t("count", lang)),
        color=alt.Color("status:N", scale=_status_scale(lang), title=t("status", lang), legend=alt.Legend(orient="top")),
        tooltip=[alt.Tooltip("band:Q", title=t("achievement", lang)), alt.Tooltip("status:N", title=t("status", lang)),
                 alt.Tooltip("count:Q", title=t("count", lang))])
    line = alt.Chart(pd.DataFrame({"x": [100.0]})).mark_rule(color="#333", strokeDash=[4, 3]).encode(x="x:Q")
    title = f"{t('achievement_title', lang)} · {len(assessed):,}"
    return _themed(alt.layer(bars, line).properties(width=520, height=260, title=title))


def status_counts_chart(assessed: pd.DataFrame, sector_names: dict, lang: str = "zh", filters: bool = False) -> alt.Chart:
    """How many targets are achieved / not achieved / without data, by sector.

    Counted in pandas by sector, status and year (a few dozen rows at most), summed by Vega.
    """
    counts = assessed.groupby(["sector", "status", "target_year"], sort=False).size().reset_index(name="count")
    order = {s: i for i, s in enumerate(sector_names)}   # the plan's own order of sectors
    counts = counts.rename(columns={"status": "status_id"})
    counts["order"] = counts["sector"].map(order)
    counts["target_year"] = counts["target_year"].astype(int)
    counts["sector_name"] = counts["sector"].map(sector_names).fillna(counts["sector"])
    counts["status_label"] = counts["status_id"].map(lambda s: t(s, lang))
    chart = alt.Chart(counts).mark_bar().encode(
        x=alt.X("sum(count):Q", title=t("count", lang), axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("sector_name:N", sort=alt.EncodingSortField("order", op="min"), title=None),
        color=alt.Color("status_label:N", scale=_status_scale(lang), title=t("status", lang),
                        legend=alt.Legend(orient="top")),
        tooltip=[alt.Tooltip("sector_name:N", title=t("sector", lang)),
                 alt.Tooltip("status_label:N", title=t("status", lang)),
                 alt.Tooltip("sum(count):Q", title=t("count", lang))])
    if filters:
        chart, params = _with_filters(chart, None)
        chart = chart.add_params(*params)
    return _themed(chart.properties(width=420, height=alt.Step(24), title=t("counts_title", lang)))


def indicator_chart(plan, indicator_id: str, lang: str = "zh", as_of: int | None = None) -> alt.Chart:
    """One indicator's values over the years (in its unit), with its targets marked."""
    from .progress import comparable_actuals

    indicators = plan.indicators.set_index("indicator_id")
    unit = indicators.at[indicator_id, "unit"]
    actuals = comparable_actuals(plan, indicators["unit"], as_of)
    actuals = actuals[(actuals["indicator_id"] == indicator_id) & actuals["value_converted"].notna()]
    points = pd.DataFrame({"year": actuals["year"].astype(int), "value": actuals["value_converted"],
                           "kind": t("actual", lang), "source": actuals["source"], "stated": actuals["stated"]})
    targets = plan.targets[plan.targets["indicator_id"] == indicator_id]
    factors = []
    from . import units
    for u in targets["unit"]:
        try:
            factors.append(units.conversion_factor(u, unit))
        except units.UnitError:
            factors.append(float("nan"))
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
