"""The dashboard notebooks/summary.ipynb shows (in JupyterLab or served by Voilà).

All of it is ipywidgets + Altair (rendered by JupyterChart with bundled JavaScript, so no
request leaves the machine). Filtering and language changes re-render from tables computed
once per plan.
"""
from __future__ import annotations

import base64
import functools
import html
import json
import os

from plantrack.serve import kernel as _kernel  # noqa: F401  first: what the reader's kernel loads (see there)
import altair as alt
import ipywidgets as w
import pandas as pd

from plantrack.present import charts
from plantrack.judge.findings import findings
from plantrack.data.package import load_plan, plan_dir, plan_title, survey_plans
from plantrack.errors import DataError
from plantrack.messages import t
from plantrack.judge.progress import LEVEL_STATUSES, assess
from plantrack.present.html import cell, rate, value_with_unit
from plantrack.present.export import spreadsheet_safe

SVG = {"renderer": "svg"}
STYLE = """<style>
.pt-app{font-family:'Noto Sans CJK SC','Noto Sans SC','Source Han Sans SC','Microsoft YaHei',sans-serif;max-width:1180px}
.pt-app h1{font-size:24px;margin:4px 0}.pt-app h2{font-size:18px;margin:14px 0 6px}
.pt-cards{display:flex;gap:10px;flex-wrap:wrap}.pt-controls{gap:16px}
.pt-card{border-radius:6px;padding:8px 14px;min-width:120px;color:#fff}
.pt-card b{display:block;font-size:26px}
.pt-achieved{background:#2e7d32}.pt-not_achieved{background:#c62828}.pt-no_data{background:#757575}.pt-not_comparable{background:#ef6c00}
.pt-app table{border-collapse:collapse;font-size:13px}
.pt-app th,.pt-app td{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
.pt-app th{background:#f3f5f7}
.pt-app blockquote{border-left:3px solid #90a4ae;margin:4px 0;padding:2px 10px;color:#37474f}
.pt-muted{color:#607d8b;font-size:12px}
.pt-s-achieved{color:#2e7d32;font-weight:600}.pt-s-not_achieved{color:#c62828;font-weight:600}
.pt-s-no_data{color:#757575}.pt-s-not_comparable{color:#ef6c00;font-weight:600}
.pt-sev-error{color:#c62828;font-weight:600}.pt-sev-warning{color:#ef6c00}
.pt-error{background:#fff3e0;border:1px solid #ef6c00;padding:10px;border-radius:6px}
</style>"""


@functools.lru_cache(maxsize=8)
def _computed(plan_id: str, content_hash: str):
    """assess + findings once per plan version; every widget change reuses them."""
    plan = load_plan(plan_id)
    return plan, assess(plan), findings(plan)


def plan_tables(plan_id: str):
    from plantrack.data.package import plan_dir, _read_descriptor, content_hash
    directory = plan_dir(plan_id)
    return _computed(plan_id, content_hash(directory, _read_descriptor(directory)))


def filter_assessed(assessed: pd.DataFrame, sectors=(), status: str | None = None, year=None) -> pd.DataFrame:
    """The rows a reader asked for: no sector chosen means every sector."""
    rows = assessed
    if sectors:
        rows = rows[rows["sector"].isin(list(sectors))]
    if status:
        rows = rows[rows["status"] == status]
    if year:
        rows = rows[rows["target_year"] == int(year)]
    return rows


def counts_by_status(rows: pd.DataFrame) -> dict:
    counts = rows["status"].value_counts()
    return {s: int(counts.get(s, 0)) for s in LEVEL_STATUSES}


def indicator_card_html(plan, assessed: pd.DataFrame, found: pd.DataFrame, indicator_id: str, lang: str) -> str:
    """Everything about one indicator, each number beside its quoted source sentence."""
    info = plan.indicators.set_index("indicator_id").loc[indicator_id]
    sources = plan.sources.set_index("source_id")
    title_col = "title_zh" if lang == "zh" else "title_en"

    def cite(source_id):
        if source_id in sources.index:
            return f"{cell(sources.at[source_id, title_col])} <span class='pt-muted'>({cell(sources.at[source_id, 'file'])})</span>"
        return cell(source_id)

    parts = [f"<h2 class='pt-card-title'>{cell(info[f'name_{lang}'])}</h2>",
             f"<p class='pt-muted'>{t('sector', lang)}: {cell(plan.sector_name(info['sector'], lang))} · {cell(info['unit'])}</p>"]
    if isinstance(info.get("definition"), str) and info["definition"]:
        parts.append(f"<p><b>{t('definition', lang)}:</b> {cell(info['definition'])}</p>")
    for _, target in plan.targets[plan.targets["indicator_id"] == indicator_id].iterrows():
        parts.append(f"<p><b>{t('target', lang)} {target.target_year}:</b> {cell(target.stated)} — {cite(target.source)}</p>"
                     f"<blockquote class='pt-quote'>{cell(target.quote)}</blockquote>")
    for _, actual in plan.actuals[plan.actuals["indicator_id"] == indicator_id].sort_values("year").iterrows():
        reported = f" · {t('reported_rate', lang)} {actual.reported_rate:g}%" if pd.notna(actual.reported_rate) else ""
        parts.append(f"<p><b>{t('actual', lang)} {actual.year}:</b> {cell(value_with_unit(actual.value, actual.unit))}{reported} — "
                     f"{cite(actual.source)}</p><blockquote class='pt-quote'>{cell(actual.quote)}</blockquote>")
    for _, row in assessed[assessed["indicator_id"] == indicator_id].iterrows():
        numbers = []
        for key, fmt in (("trajectory_cagr_observed", "{:.1%}"), ("trajectory_cagr_required", "{:.1%}"),
                         ("trajectory_ratio", "{:.2f}"), ("trajectory_base_year", "{}"), ("trajectory_current_year", "{}")):
            value = row[key]
            if value is not None and not pd.isna(value):
                numbers.append(f"{t(key.replace('trajectory_', ''), lang)} {fmt.format(value)}")
        reported = "" if pd.isna(row.reported_rate) else f"{row.reported_rate:g}%"
        parts.append(
            f"<p><b>{row.target_year}:</b> <span class='pt-s-{row.status}'>{t(row.status, lang)}</span> · "
            f"{t('computed_rate', lang)} {rate(row.computed_rate) or '—'} · {t('reported_rate', lang)} {reported or '—'} · "
            f"{t('trajectory', lang)}: {t(row.trajectory_status, lang)}"
            + (f" ({'; '.join(numbers)})" if numbers else "") + "</p>")
    mine = found[found["indicator_id"] == indicator_id]
    if len(mine):
        items = "".join(f"<li class='pt-sev-{f.severity}'>{t(f.kind, lang)}: {cell(f[f'message_{lang}'])}</li>"
                        for _, f in mine.iterrows())
        parts.append(f"<p><b>{t('findings', lang)}</b></p><ul>{items}</ul>")
    return "".join(parts)


MAX_TABLE_ROWS = 200       # the CSV download always has every row
MAX_INDICATOR_OPTIONS = 1000


def targets_table_html(rows: pd.DataFrame, lang: str) -> str:
    more = len(rows) - MAX_TABLE_ROWS
    rows = rows.head(MAX_TABLE_ROWS)
    head = "".join(f"<th>{t(k, lang)}</th>" for k in ("sector", "indicator", "target_year", "target", "actual",
                                                      "computed_rate", "reported_rate", "status", "trajectory"))
    body = "".join(
        f"<tr data-indicator='{cell(r.indicator_id)}'><td>{cell(r.sector_name)}</td><td>{cell(getattr(r, f'name_{lang}'))}</td>"
        f"<td>{r.target_year}</td><td>{cell(r.target_stated)}</td>"
        f"<td>{cell(value_with_unit(r.actual_value, r.actual_unit)) or t('no_data', lang)}</td>"
        f"<td>{rate(r.computed_rate)}</td>"
        f"<td>{'' if pd.isna(r.reported_rate) else f'{r.reported_rate:g}%'}</td>"
        f"<td class='pt-s-{r.status}'>{t(r.status, lang)}</td><td>{t(r.trajectory_status, lang)}</td></tr>"
        for r in rows.itertuples(index=False))
    note = f"<p class='pt-muted'>+ {more:,} ({t('download_csv', lang)})</p>" if more > 0 else ""
    return f"<table class='pt-table'><tr>{head}</tr>{body}</table>{note}"


def gaps_html(rows: pd.DataFrame, lang: str) -> str:
    """Targets with no actual yet."""
    gaps = rows[rows["status"] == "no_data"].head(MAX_TABLE_ROWS)
    if not len(gaps):
        return "<p>—</p>"
    return "<ul>" + "".join(f"<li>{cell(r.sector_name)} · {cell(getattr(r, f'name_{lang}'))} ({r.target_year}): "
                            f"{t('target', lang)} {cell(r.target_stated)}</li>" for r in gaps.itertuples(index=False)) + "</ul>"


def findings_html(found: pd.DataFrame, lang: str) -> str:
    if not len(found):
        return f"<p>{t('no_findings', lang)}</p>"
    head = "".join(f"<th>{t(k, lang)}</th>" for k in ("severity", "indicator", "finding", "message"))
    body = "".join(f"<tr><td class='pt-sev-{f.severity}'>{t(f.severity, lang)}</td><td>{cell(getattr(f, f'name_{lang}'))}</td>"
                   f"<td>{t(f.kind, lang)}</td><td>{cell(getattr(f, f'message_{lang}'))}</td></tr>"
                   for f in found.itertuples(index=False))
    return f"<table><tr>{head}</tr>{body}</table>"


def table_csv(rows: pd.DataFrame) -> bytes:
    columns = ["plan_id", "sector", "indicator_id", "name_zh", "name_en", "target_year", "comparator", "target_value",
               "target_unit", "target_stated", "actual_year", "actual_value", "actual_unit", "computed_rate",
               "reported_rate", "status", "trajectory_status", "target_source", "target_quote", "actual_source",
               "actual_quote"]
    # BOM: Excel opens Chinese text correctly; spreadsheet_safe: no cell starts like a formula
    return spreadsheet_safe(rows[columns]).to_csv(index=False).encode("utf-8-sig")


def broken_plans_html(broken: dict, lang: str) -> str:
    """A notice naming each plan folder that cannot be read (empty when there is none)."""
    if not broken:
        return ""
    items = "".join(f"<li><b>{html.escape(name)}</b>: {html.escape(reason)}</li>" for name, reason in broken.items())
    return f"<div class='pt-error'>{t('broken_plans', lang)}<ul>{items}</ul></div>"


def _download_link(data: bytes, filename: str, mime: str, label: str, css: str) -> str:
    encoded = base64.b64encode(data).decode("ascii")
    return f"<a class='{css}' download='{html.escape(filename)}' href='data:{mime};base64,{encoded}'>⬇ {html.escape(label)}</a>"


class Dashboard:
    """The widget app. `Dashboard(plan_id, lang).widget` is what Voilà shows."""

    def __init__(self, plan_id: str | None = None, lang: str = "zh"):
        charts_offline()
        self.plan_id = plan_id or os.environ.get("PLANTRACK_PLAN") or "zhejiang-internet-plus-2016"
        self.lang = lang if lang in ("zh", "en") else "zh"
        # One broken plan folder must not take the dashboard down: the good plans, and a notice naming it.
        good, self.broken_plans = survey_plans()
        self.good_plans = good
        if self.plan_id in self.broken_plans and self.good_plans:
            self.plan_id = self.good_plans[0]
        plan_dir(self.plan_id)   # an unknown plan is a reader-facing sentence, before any widget exists
        self._quiet = False
        self._chart_key = None
        self.title = w.HTML()
        self.plan_select = w.Dropdown(options=[(p, p) for p in self._plan_ids()], value=self.plan_id,
                                      layout=w.Layout(width="420px"))
        self.lang_select = w.ToggleButtons(options=[("中文", "zh"), ("English", "en")], value=self.lang)
        self.sector_select = w.SelectMultiple(rows=6, layout=w.Layout(width="260px"))
        self.status_select = w.Dropdown(layout=w.Layout(width="220px"))
        self.year_select = w.Dropdown(layout=w.Layout(width="220px"))
        self.indicator_select = w.Dropdown(layout=w.Layout(width="520px"))
        for widget, css in ((self.plan_select, "pt-plan"), (self.lang_select, "pt-lang"), (self.sector_select, "pt-sector"),
                            (self.status_select, "pt-status"), (self.year_select, "pt-year"),
                            (self.indicator_select, "pt-indicator")):
            widget.add_class(css)
        self.cards = w.HTML().add_class("pt-counts")
        # SVG rather than canvas: crisp text, and a reader's browser can search it.
        self.counts_chart = alt.JupyterChart(alt.Chart(pd.DataFrame()).mark_point(), embed_options=SVG)
        self.achievement_chart = alt.JupyterChart(alt.Chart(pd.DataFrame()).mark_point(), embed_options=SVG)
        self.achievement_chart.add_class("pt-achievement")
        self.table = w.HTML().add_class("pt-targets")
        self.gaps = w.HTML().add_class("pt-gaps")
        self.card = w.HTML().add_class("pt-card-body")
        self.card_chart = alt.JupyterChart(alt.Chart(pd.DataFrame()).mark_point(), embed_options=SVG)
        self.card_chart.layout.display = "none"
        self.findings_box = w.HTML().add_class("pt-findings")
        self.downloads = w.HTML().add_class("pt-downloads")
        self.chart_button = w.Button(icon="")
        self.chart_button.add_class("pt-chart-download")
        self.chart_links = w.HTML()
        self.message = w.HTML().add_class("pt-message")
        self.notice = w.HTML(broken_plans_html(self.broken_plans, self.lang)).add_class("pt-broken-plans")
        self.card_heading = w.HTML()   # other headings travel inside their section's HTML: fewer messages

        self.plan_select.observe(self._on_plan, "value")
        self.lang_select.observe(self._on_lang, "value")
        for control in (self.sector_select, self.status_select, self.year_select):
            control.observe(self._on_filter, "value")
        self.indicator_select.observe(self._on_indicator, "value")
        self.chart_button.on_click(self._on_chart_download)

        controls = w.HBox([w.VBox([self.plan_select, self.lang_select]), self.sector_select,
                           w.VBox([self.status_select, self.year_select])], layout=w.Layout(flex_flow="row wrap")
                          ).add_class("pt-controls")
        self.widget = w.VBox([
            w.HTML(STYLE), self.title, controls, self.message, self.notice,
            self.cards, w.HBox([self.counts_chart, self.achievement_chart],
                                                           layout=w.Layout(flex_flow="row wrap")),
            self.downloads, w.HBox([self.chart_button, self.chart_links]),
            self.table,
            self.gaps,
            self.card_heading, self.indicator_select, self.card, self.card_chart,
            self.findings_box,
        ]).add_class("pt-app")
        self._load_plan()

    def _plan_ids(self) -> list[str]:
        """The bundled plans, and the one shown if it was given as a directory."""
        plans = self.good_plans
        return plans if self.plan_id in plans else [self.plan_id, *plans]

    # ---- state changes -------------------------------------------------------------
    def _guard(fn):
        """A callback that fails shows the reader a sentence, never a traceback."""
        @functools.wraps(fn)
        def wrapper(self, *args, **kwargs):
            if self._quiet:
                return
            try:
                self.message.value = ""
                return fn(self, *args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - the reader sees a plain message instead
                reason = exc.reason if isinstance(exc, DataError) else f"{type(exc).__name__}: {exc}"
                self.message.value = (f"<div class='pt-error'>{t('error_reader', self.lang)}"
                                      f"{html.escape(str(reason))}</div>")
        return wrapper

    @_guard
    def _on_plan(self, change):
        self.plan_id = change["new"]
        self._load_plan()

    @_guard
    def _on_lang(self, change):
        self.lang = change["new"]
        self.notice.value = broken_plans_html(self.broken_plans, self.lang)
        self._relabel()
        self.refresh()
        self._show_card()

    @_guard
    def _on_filter(self, change):
        self.refresh()

    @_guard
    def _on_indicator(self, change):
        self._show_card()

    @_guard
    def _on_chart_download(self, _):
        chart = charts.achievement_chart(self.rows(), self.lang)
        self.chart_links.value = (
            _download_link(charts.to_png(chart), "plantrack-achievement.png", "image/png", "PNG", "pt-png") + " &nbsp; "
            + _download_link(charts.to_svg(chart).encode("utf-8"), "plantrack-achievement.svg", "image/svg+xml", "SVG", "pt-svg"))

    # ---- rendering -------------------------------------------------------------------
    def _load_plan(self):
        self.plan, self.assessed, self.found = plan_tables(self.plan_id)
        self._relabel()
        self.refresh()
        self._show_card()

    def _relabel(self):
        """Every visible word in the current language; keeps the reader's choices."""
        lang, plan = self.lang, self.plan
        self._quiet = True
        try:
            chosen_sectors, chosen_status = self.sector_select.value, self.status_select.value
            chosen_year, chosen_indicator = self.year_select.value, self.indicator_select.value
            _relabel_choices(self.plan_select, [(plan_title(p, lang), p) for p in self._plan_ids()], self.plan_id,
                             t("plan", lang))
            _relabel_choices(self.sector_select, [(plan.sector_name(s, lang), s) for s in plan.sector_ids()],
                             tuple(s for s in chosen_sectors if s in plan.sector_ids()), t("sector", lang))
            _relabel_choices(self.status_select, [(t("all", lang), "")] + [(t(s, lang), s) for s in LEVEL_STATUSES],
                             chosen_status or "", t("status", lang))
            years = sorted(set(int(y) for y in self.assessed["target_year"]))
            _relabel_choices(self.year_select, [(t("all", lang), 0)] + [(str(y), y) for y in years],
                             chosen_year if chosen_year in years else 0, t("target_year", lang))
            named = plan.indicators.sort_values("sector", key=lambda s: s.map({k: i for i, k in enumerate(plan.sector_ids())}),
                                                kind="stable").head(MAX_INDICATOR_OPTIONS)
            sector_names = plan.sector_names(lang)
            _relabel_choices(self.indicator_select, [(t("pick_indicator", lang), "")] + [
                (f"{sector_names.get(s, s)} · {n}", i) for s, n, i in zip(named["sector"], named[f"name_{lang}"], named["indicator_id"])],
                chosen_indicator if chosen_indicator in set(named["indicator_id"]) else "", t("indicator", lang))
            self.chart_button.description = f"{t('download_png', lang)} / SVG"
        finally:
            self._quiet = False
        self.title.value = (f"<h1 class='pt-title'>{cell(plan.title(lang))}</h1><p class='pt-muted'>"
                            f"{cell(plan.issuer if lang == 'zh' else plan.issuer_en)} · {cell(plan.issued)} · "
                            f"{cell(t('method_text', lang))}</p>")
        self.card_heading.value = f"<h2>{t('indicator_card', lang)}</h2>"

    def rows(self) -> pd.DataFrame:
        rows = filter_assessed(self.assessed, self.sector_select.value, self.status_select.value or None,
                               self.year_select.value or None)
        return rows.assign(sector_name=rows["sector"].map(self.plan.sector_names(self.lang)))

    def refresh(self):
        lang, rows = self.lang, self.rows()
        counts = counts_by_status(rows)
        self.cards.value = f"<h2>{t('summary_heading', lang)}</h2><div class='pt-cards'>" + "".join(
            f"<div class='pt-card pt-{s}' data-status='{s}'><b class='pt-count' data-status='{s}'>{n}</b>{t(s, lang)}</div>"
            for s, n in counts.items()) + "</div>"
        self._draw_charts(rows)
        self.table.value = f"<h2>{t('targets_heading', lang)}</h2>" + targets_table_html(rows, lang)
        self.gaps.value = f"<h2>{t('gaps', lang)}</h2>" + gaps_html(rows, lang)
        found = self.found
        if self.sector_select.value:
            found = found[found["sector"].isin(self.sector_select.value)]
        self.findings_box.value = f"<h2>{t('findings', lang)}</h2>" + findings_html(found, lang)
        self.downloads.value = _download_link(table_csv(rows), f"plantrack-{self.plan_id}.csv", "text/csv",
                                              t("download_csv", lang), "pt-csv")
        self.chart_links.value = ""

    def _draw_charts(self, rows: pd.DataFrame) -> None:
        """Both overview charts. A small plan's charts hold every target in both languages, sent once
        per plan; a filter or language change only sets the views' params (Vega recomputes in place).
        A large plan's achievement chart is an aggregate of the filtered rows, drawn anew."""
        small = len(self.assessed) <= charts.MAX_BARS
        params = {"lang": self.lang, "sectors": list(self.sector_select.value),
                  "status": self.status_select.value or "", "year": int(self.year_select.value or 0)}
        specs = overview_specs(self.plan_id, self.plan.content_hash)
        views = {"counts": self.counts_chart}
        if small:
            views["achievement"] = self.achievement_chart
        else:
            show(self.achievement_chart, charts.achievement_chart(rows, self.lang))
        key = (self.plan_id, self.plan.content_hash)
        for name, view in views.items():
            with view.hold_sync():
                if key != self._chart_key:
                    # A new spec starts from the reader's choices: the view reads its params from it.
                    view.spec = charts.with_param_values(specs[name], params)
                view._params = params
        self._chart_key = key

    def _show_card(self):
        indicator_id = self.indicator_select.value
        if not indicator_id:
            self.card.value = f"<p class='pt-muted'>{t('pick_indicator', self.lang)}</p>"
            self.card_chart.layout.display = "none"
            return
        self.card.value = indicator_card_html(self.plan, self.assessed, self.found, indicator_id, self.lang)
        show(self.card_chart, charts.indicator_chart(self.plan, indicator_id, self.lang))
        self.card_chart.layout.display = None


def _relabel_choices(control, options: list, value, description: str) -> None:
    """New option labels, value and description for a control, sent to the browser as one message."""
    with control.hold_sync():
        control.options = options
        control.value = value
        control.description = description


@functools.lru_cache(maxsize=16)
def overview_specs(plan_id: str, content_hash: str) -> dict:
    """The two filterable, bilingual overview charts of a plan, as Vega-Lite dicts (built once)."""
    plan, assessed, _ = _computed(plan_id, content_hash)
    specs = {"counts": charts.status_counts_chart(assessed, plan.sectors)}
    if len(assessed) <= charts.MAX_BARS:
        specs["achievement"] = charts.achievement_chart(assessed)
    return {name: chart.to_dict(validate=False) for name, chart in specs.items()}


def show(view: alt.JupyterChart, chart: alt.Chart) -> None:
    """Send a chart's spec to its view without re-validating it against the Vega-Lite schema.

    The builders in charts.py make valid specs (tests render them with vl-convert); schema
    validation on every widget change cost half of the time a reader waits.
    """
    view.spec = chart.to_dict(validate=False)


# A chart view's module under Voilà: it imports the bundle the server serves, resolved against
# the page's own origin (the kernel does not know the address the reader used).
CHART_MODULE = """const bundle = await import(new URL(%s, window.location.origin).href);
export default bundle.default;
"""


@functools.lru_cache(maxsize=1)
def charts_offline() -> None:
    """JupyterChart's JavaScript with no CDN: under Voilà, one file the server serves for every
    chart; elsewhere (JupyterLab), the bundle inline in each chart."""
    from plantrack.serve.server import served_chart_bundle_url
    url = served_chart_bundle_url()
    if url:
        alt.JupyterChart._esm = CHART_MODULE % json.dumps(url)
    else:
        alt.JupyterChart.enable_offline()


def app(plan_id: str | None = None, lang: str = "zh"):
    """The dashboard widget; on bad input, a sentence for the reader instead of a traceback."""
    try:
        return Dashboard(plan_id, lang).widget
    except Exception as exc:  # noqa: BLE001
        reason = exc.reason if isinstance(exc, DataError) else f"{type(exc).__name__}: {exc}"
        return w.HTML(f"{STYLE}<div class='pt-error pt-message'>{t('error_reader', lang)}{html.escape(str(reason))}</div>")
