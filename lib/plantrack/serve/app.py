"""The dashboard notebooks/summary.ipynb shows (in JupyterLab or served by Voilà).

All of it is ipywidgets + Vega-Lite views (serve/chart_view.py: Altair's JupyterChart in the
browser, with bundled JavaScript, so no request leaves the machine). Its HTML comes from the
Jinja templates in present/templates/html/dashboard/ and its look from the shared stylesheet and
palette. Filtering and language changes re-render from tables computed once per plan. The
judged tables and the chart specs (present/charts.py) are computed once per plan version and read
from the cache (serve/plan_cache.py): a reader's kernel imports neither Altair nor pint, except
Altair for a PNG/SVG download.

The address is the view: ?lang= ?plan= ?sector= ?status= ?year= ?indicator= open a view (read
after Voilà hands the preheated kernel the reader's request), and the view writes its own
query into a hidden element that the page's script (serve/server.py) copies into the address.
"""

from __future__ import annotations

from plantrack.serve import kernel as _kernel  # noqa: F401  first: what the reader's kernel loads (see there)

# isort: split

import base64
import datetime
import functools
import html
import os
from urllib.parse import parse_qs, urlencode

import ipywidgets as w
import pandas as pd

from plantrack.config import DEFAULT_LANG, LANGUAGES, default_plan
from plantrack.data.package import (
    check_plan,
    judged,
    list_plans,
    load_plan,
    plan_dir,
    plan_title,
    survey_plans,
)
from plantrack.errors import DataError
from plantrack.judge.findings import findings
from plantrack.judge.progress import (
    LEVEL_STATUSES,
    TRAJECTORY_STATUSES,
    assess,
)
from plantrack.messages import t
from plantrack.present import charts
from plantrack.present.export import spreadsheet_safe
from plantrack.present.html import (
    mark_zh,
    rate,
    render,
    statement,
    stylesheet,
    unit_name,
    value_words,
)
from plantrack.serve import chart_view, plan_cache

# SVG rather than canvas: crisp text, and a reader's browser can search it. No Vega action menu:
# the dashboard has its own downloads, and the menu's words are English only.
EMBED = {"renderer": "svg", "actions": False}
MAX_TABLE_ROWS = 200  # the CSV download always has every row
MAX_INDICATOR_OPTIONS = 1000
NO_SECTOR = "\u0000"  # the charts' sector filter when the reader cleared every sector


def page_style() -> str:
    from markupsafe import Markup

    return render(
        "dashboard/style.html.j2", stylesheet=Markup(stylesheet())
    )  # our CSS: not escaped


@functools.lru_cache(maxsize=8)
def _computed(plan_id: str, content_hash: str):
    """assess + findings (+ each row's words, warnings and confidence) once per plan version
    (serve/plan_cache.py: computed by the first process that needs them, then read by all)."""
    plan = load_plan(plan_id)

    def judge():
        found = findings(plan)
        assessed = assess(plan, found=found)
        return assessed, found, charts.row_notes(assessed, found)

    assessed, found, notes = plan_cache.frames(plan.plan_id, plan.content_hash, "judged", judge)
    return plan, assessed, found, notes


def judge_plans_elsewhere(plan_id: str) -> None:
    """Under Voilà, plan versions never validated before are validated in a forked copy of the
    reader's kernel (Frictionless: about 27 MiB it would keep), which leaves the verdicts in the
    cache; the kernel then reads the validated tables."""
    if _kernel.under_voila():
        plans = [*list_plans(), plan_id]
        if not all(judged(p) for p in plans):
            _kernel.in_fork(lambda: [survey_plans(), check_plan(plan_id)], timeout=900)


def plan_tables(plan_id: str):
    from plantrack.data.package import _read_descriptor, content_hash

    directory = plan_dir(plan_id)
    return _computed(plan_id, content_hash(directory, _read_descriptor(directory)))


def filter_assessed(
    assessed: pd.DataFrame, sectors=(), status: str | None = None, year=None
) -> pd.DataFrame:
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


def data_as_of(plan) -> int | None:
    """The latest year any actual is for: the "data as of" a reader sees."""
    years = pd.to_numeric(plan.actuals["year"], errors="coerce").dropna()
    return int(years.max()) if len(years) else None


def _source_words(plan, lang: str):
    sources = plan.sources.set_index("source_id")
    title_col = "title_zh" if lang == "zh" else "title_en"

    def cite(source_id):
        if source_id in sources.index:
            return str(sources.at[source_id, title_col]), str(sources.at[source_id, "file"])
        return str(source_id), ""

    return cite


def indicator_card(plan, assessed, found, notes, indicator_id: str, lang: str) -> dict:
    """Everything about one indicator, each number beside its quoted source sentence (template data)."""
    info = plan.indicators.set_index("indicator_id").loc[indicator_id]
    cite = _source_words(plan, lang)
    definition = info.get("definition")
    card = {
        "info": {
            "name": info[f"name_{lang}"],
            "sector_name": plan.sector_name(info["sector"], lang),
            "unit": unit_name(info["unit"], lang),
            "definition": definition if isinstance(definition, str) and definition else "",
        },
        "targets": [],
        "actuals": [],
        "results": [],
        "findings": [],
    }
    for target in plan.targets[plan.targets["indicator_id"] == indicator_id].itertuples(
        index=False
    ):
        source, file = cite(target.source)
        text = (
            target.stated
            if lang == "zh"
            else statement(
                target.comparator,
                target.value,
                getattr(target, "value_high", None),
                target.unit,
                lang,
            )
        )
        card["targets"].append(
            {
                "year": target.target_year,
                "text": text,
                "source": source,
                "file": file,
                "quote": target.quote,
            }
        )
    for actual in (
        plan.actuals[plan.actuals["indicator_id"] == indicator_id]
        .sort_values("year")
        .itertuples(index=False)
    ):
        source, file = cite(actual.source)
        card["actuals"].append(
            {
                "year": actual.year,
                "text": value_words(actual.value, actual.unit, lang),
                "reported_rate": ""
                if pd.isna(actual.reported_rate)
                else f"{actual.reported_rate:g}%",
                "source": source,
                "file": file,
                "quote": actual.quote,
            }
        )
    mine = assessed["indicator_id"] == indicator_id
    for row, confidence in zip(
        assessed[mine].itertuples(index=False), notes.loc[mine, "confidence"]
    ):
        numbers = []
        for key, fmt in (
            ("trajectory_cagr_observed", "{:.1%}"),
            ("trajectory_cagr_required", "{:.1%}"),
            ("trajectory_ratio", "{:.2f}"),
            ("trajectory_base_year", "{}"),
            ("trajectory_current_year", "{}"),
        ):
            value = getattr(row, key)
            if value is not None and not pd.isna(value):
                numbers.append(f"{t(key.replace('trajectory_', ''), lang)} {fmt.format(value)}")
        card["results"].append(
            {
                "target_year": row.target_year,
                "status": row.status,
                "trajectory_status": row.trajectory_status,
                "computed": rate(row.computed_rate),
                "reported": "" if pd.isna(row.reported_rate) else f"{row.reported_rate:g}%",
                "numbers": numbers,
                "confidence": confidence,
                "confidence_reasons": getattr(row, f"confidence_reasons_{lang}"),
            }
        )
    for f in found[found["indicator_id"] == indicator_id].itertuples(index=False):
        card["findings"].append(
            {"severity": f.severity, "kind": f.kind, "message": getattr(f, f"message_{lang}")}
        )
    return card


CSV_COLUMNS = [
    "plan_id",
    "sector",
    "indicator_id",
    "name_zh",
    "name_en",
    "target_year",
    "comparator",
    "target_value",
    "target_unit",
    "target_stated",
    "actual_year",
    "actual_value",
    "actual_unit",
    "computed_rate",
    "reported_rate",
    "status",
    "trajectory_status",
    "confidence",
    "findings",
    "target_source",
    "target_quote",
    "actual_source",
    "actual_quote",
]


def csv_table(
    rows: pd.DataFrame, lang: str = DEFAULT_LANG, notes: pd.DataFrame | None = None, plan=None
) -> pd.DataFrame:
    """The table as its CSV download has it: headers, sectors, statuses and confidence in the
    reader's language; values, units and quotes as the sources state them; no cell a spreadsheet
    would read as a formula."""
    out = rows.copy()
    out["status"] = out["status"].map(lambda s: t(s, lang))
    out["trajectory_status"] = out["trajectory_status"].map(lambda s: t(s, lang))
    if plan is not None:
        out["sector"] = out["sector"].map(plan.sector_names(lang)).fillna(out["sector"])
    if notes is not None:
        out["confidence"] = notes.loc[rows.index, "confidence"].map(
            lambda c: t(f"confidence.{c}", lang)
        )
        out["findings"] = notes.loc[rows.index, f"warning_{lang}"].str.replace(
            "⚠ ", "", regex=False
        )
    else:
        out["confidence"] = out["findings"] = ""
    out = out[CSV_COLUMNS].rename(columns={c: t(f"csv.{c}", lang) for c in CSV_COLUMNS})
    return spreadsheet_safe(out)


def csv_bytes(table: pd.DataFrame) -> bytes:
    return table.to_csv(index=False).encode("utf-8-sig")  # BOM: Excel opens Chinese text correctly


def table_csv(
    rows: pd.DataFrame, lang: str = DEFAULT_LANG, notes: pd.DataFrame | None = None, plan=None
) -> bytes:
    """The filtered table as CSV (see csv_table)."""
    return csv_bytes(csv_table(rows, lang, notes, plan))


def broken_plans_html(broken: dict, lang: str) -> str:
    """A notice naming each plan folder that cannot be read (empty when there is none)."""
    if not broken:
        return ""
    items = "".join(
        f"<li><b>{html.escape(name)}</b>: {html.escape(reason)}</li>"
        for name, reason in broken.items()
    )
    return f"<div class='pt-error'>{t('broken_plans', lang)}<ul>{items}</ul></div>"


def _download_link(data: bytes, filename: str, mime: str, label: str, css: str) -> str:
    encoded = base64.b64encode(data).decode("ascii")
    return (
        f"<a class='{css}' download='{html.escape(filename)}' href='data:{mime};base64,{encoded}'>"
        f"<span aria-hidden='true'>⬇</span> {html.escape(label)}</a>"
    )


def _chart_view(css: str) -> chart_view.ChartView:
    view = chart_view.ChartView(embed_options=EMBED)
    view.add_class("pt-chart").add_class(css)
    view.layout.width = "100%"
    return view


class Dashboard:
    """The widget app. `Dashboard(plan_id, lang).widget` is what Voilà shows."""

    def __init__(self, plan_id: str | None = None, lang: str = DEFAULT_LANG):
        charts_offline()
        self.plan_id = plan_id or default_plan()
        self.lang = lang if lang in LANGUAGES else DEFAULT_LANG
        judge_plans_elsewhere(self.plan_id)
        # One broken plan folder must not take the dashboard down: the good plans, and a notice naming it.
        good, self.broken_plans = survey_plans()
        self.good_plans = good
        if self.plan_id in self.broken_plans and self.good_plans:
            self.plan_id = self.good_plans[0]
        plan_dir(
            self.plan_id
        )  # an unknown plan is a reader-facing sentence, before any widget exists
        self._quiet = False
        self._chart_key = None
        self.sectors_chosen: tuple = ()  # ticked sectors; every sector ticked means no filter
        self.title = w.HTML().add_class("pt-title-box")
        self.plan_select = w.Dropdown()
        self.lang_select = w.ToggleButtons(
            options=[("中文", "zh"), ("English", "en")], value=self.lang
        )
        self.sector_label = w.HTML()
        self.sector_boxes: dict[str, w.Checkbox] = {}
        self.sector_box = w.Box().add_class("pt-sector-box")
        self.sector_all = w.Button().add_class("pt-sector-all")
        self.sector_clear = w.Button().add_class("pt-sector-clear")
        self.status_select = w.Dropdown()
        self.year_select = w.Dropdown()
        self.indicator_select = w.Dropdown()
        for widget, css in (
            (self.plan_select, "pt-plan"),
            (self.lang_select, "pt-lang"),
            (self.status_select, "pt-status"),
            (self.year_select, "pt-year"),
            (self.indicator_select, "pt-indicator"),
        ):
            widget.add_class(css)
        self.cards = w.HTML().add_class("pt-counts")
        self.key = w.HTML().add_class("pt-key-box")
        self.counts_chart = _chart_view("pt-counts-chart")
        self.achievement_chart = _chart_view("pt-achievement")
        self.charts_alt = w.HTML().add_class("pt-charts-alt")
        self.table = w.HTML().add_class("pt-targets")
        self.monitoring = w.HTML().add_class("pt-monitoring")
        self.gaps = w.HTML().add_class("pt-gaps")
        self.card = w.HTML().add_class("pt-card-body")
        self.card_chart = _chart_view("pt-card-chart")
        self.card_chart.layout.display = "none"
        self.card_alt = w.HTML().add_class("pt-card-alt")
        self.findings_box = w.HTML().add_class("pt-findings")
        self.downloads = w.HTML().add_class("pt-downloads")
        self.chart_button = w.Button(icon="").add_class("pt-chart-download")
        self.chart_links = w.HTML().add_class("pt-chart-links")
        self.message = w.HTML().add_class("pt-message")
        self.notice = w.HTML(broken_plans_html(self.broken_plans, self.lang)).add_class(
            "pt-broken-plans"
        )
        self.card_heading = w.HTML()
        self.view = w.HTML().add_class("pt-view")

        self.plan_select.observe(self._on_plan, "value")
        self.lang_select.observe(self._on_lang, "value")
        for control in (self.status_select, self.year_select):
            control.observe(self._on_filter, "value")
        self.indicator_select.observe(self._on_indicator, "value")
        self.sector_all.on_click(self._on_sector_all)
        self.sector_clear.on_click(self._on_sector_clear)
        self.chart_button.on_click(self._on_chart_download)
        chart_view.on_point_selection(self.achievement_chart, charts.PICK, self._on_pick)

        sector_group = w.VBox(
            [
                self.sector_label,
                self.sector_box,
                w.HBox([self.sector_all, self.sector_clear]).add_class("pt-sector-actions"),
            ]
        ).add_class("pt-sector")
        controls = w.Box(
            [
                w.VBox([self.plan_select, self.lang_select]),
                sector_group,
                w.VBox([self.status_select, self.year_select]),
            ]
        ).add_class("pt-controls")
        self.widget = (
            w.VBox(
                [
                    w.HTML(page_style()),
                    self.view,
                    self.title,
                    controls,
                    self.message,
                    self.notice,
                    self.cards,
                    self.key,
                    w.Box([self.counts_chart, self.achievement_chart]).add_class("pt-charts"),
                    self.charts_alt,
                    self.downloads,
                    w.HBox([self.chart_button, self.chart_links]),
                    self.table,
                    self.monitoring,
                    self.gaps,
                    self.card_heading,
                    self.indicator_select,
                    self.card,
                    self.card_chart,
                    self.card_alt,
                    self.findings_box,
                ]
            )
            .add_class("pt-app")
            .add_class("plantrack")
        )
        self._load_plan()

    def _plan_ids(self) -> list[str]:
        """The bundled plans, and the one shown if it was given as a directory."""
        plans = self.good_plans
        return plans if self.plan_id in plans else [self.plan_id, *plans]

    # ---- the address ------------------------------------------------------------------
    def query(self, **changes) -> str:
        """The query string of the current view (with `changes`): what a shared link opens."""
        sectors = self.sectors_filter()
        state = {
            "lang": self.lang,
            "plan": self.plan_id if self.plan_id in self.good_plans else None,
            "sector": ",".join(sectors) if sectors and sectors != (NO_SECTOR,) else None,
            "status": self.status_select.value or None,
            "year": self.year_select.value or None,
            "indicator": self.indicator_select.value or None,
        }
        state.update(changes)
        return urlencode({k: v for k, v in state.items() if v})

    def open(self, query: str) -> "Dashboard":
        """Show the view a query string names (?lang=en&plan=…&sector=a,b&status=…&year=…&indicator=…).
        Values that name nothing in the plan are ignored: the reader gets the nearest view."""
        asked = {k: v[-1] for k, v in parse_qs(query or "", keep_blank_values=False).items()}
        self._quiet = True
        try:
            if asked.get("lang") in LANGUAGES:
                self.lang = asked["lang"]
                self.lang_select.value = self.lang
            if asked.get("plan") in self.good_plans and asked["plan"] != self.plan_id:
                self.plan_id = asked["plan"]
                self.plan, self.assessed, self.found, self.notes = plan_tables(self.plan_id)
                self._build_sectors()
            sectors = tuple(
                s for s in asked.get("sector", "").split(",") if s in self.plan.sector_ids()
            )
            self._tick(sectors or tuple(self.plan.sector_ids()))
        finally:
            self._quiet = False
        self._relabel()
        self._quiet = True
        try:
            if asked.get("status") in LEVEL_STATUSES:
                self.status_select.value = asked["status"]
            if asked.get("year", "").isdigit() and int(asked["year"]) in [
                v for _, v in self.year_select.options
            ]:
                self.year_select.value = int(asked["year"])
            self._indicator_options()
            if asked.get("indicator") in {v for _, v in self.indicator_select.options if v}:
                self.indicator_select.value = asked["indicator"]
        finally:
            self._quiet = False
        self._chart_key = None  # the page reads a chart's params from its spec: send it anew
        self.refresh()
        self._show_card()
        return self

    def _write_view(self):
        title = f"{self.plan.title(self.lang)} · {t('dashboard_title', self.lang)}"
        self.view.value = render(
            "dashboard/view.html.j2", query=self.query(), lang=self.lang, title=title
        )

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
                reason = (
                    exc.reason if isinstance(exc, DataError) else f"{type(exc).__name__}: {exc}"
                )
                self.message.value = (
                    f"<div class='pt-error' role='alert'>{html.escape(t('error_reader', self.lang))}"
                    f"{html.escape(str(reason))}</div>"
                )

        return wrapper

    @_guard
    def _on_plan(self, change):
        self.plan_id = change["new"]
        self._load_plan()

    @_guard
    def _on_lang(self, change):
        self.lang = change["new"]
        self.notice.value = broken_plans_html(self.broken_plans, self.lang)
        self._relabel_header()
        self.refresh()  # the content before the controls' many small relabels
        self._relabel_controls()
        self._show_card()

    @_guard
    def _on_filter(self, change):
        self.refresh()

    @_guard
    def _on_sector(self, change):
        self.sectors_chosen = tuple(s for s, box in self.sector_boxes.items() if box.value)
        self.refresh()

    @_guard
    def _on_sector_all(self, _):
        self._tick(tuple(self.sector_boxes))
        self.refresh()

    @_guard
    def _on_sector_clear(self, _):
        self._tick(())
        self.refresh()

    @_guard
    def _on_indicator(self, change):
        self._show_card()
        self._write_view()

    @_guard
    def _on_pick(self, store: list):
        """A click on a bar of the achievement chart opens that indicator's details."""
        picked = [s["values"][0] for s in store if s.get("values")]
        if picked and picked[0] in {v for _, v in self.indicator_select.options}:
            self.indicator_select.value = picked[0]

    @_guard
    def _on_chart_download(self, _):
        lang, rows = self.lang, self.rows()
        chart = charts.achievement_chart(rows, lang, self.notes.loc[rows.index])
        cite = _source_words(self.plan, lang)
        sources = ", ".join(
            dict.fromkeys(cite(s)[0] for s in rows["actual_source"].dropna().astype(str) if s)
        ) or self.plan.title(lang)
        lines = [
            t("export_filters", lang, filters=self.filter_words()),
            t("export_source", lang, sources=sources),
            t(
                "export_made",
                lang,
                year=data_as_of(self.plan),
                date=datetime.date.today().isoformat(),
            ),
        ]
        spec = charts.for_export(
            chart, f"{self.plan.title(lang)} — {t('achievement_title', lang)}", lines
        )
        name = f"plantrack-{self.plan_id}-{lang}"
        self.chart_links.value = (
            _download_link(charts.to_png(spec), f"{name}.png", "image/png", "PNG", "pt-png")
            + " &nbsp; "
            + _download_link(
                charts.to_svg(spec).encode("utf-8"), f"{name}.svg", "image/svg+xml", "SVG", "pt-svg"
            )
        )

    def filter_words(self) -> str:
        lang, words = self.lang, []
        sectors = self.sectors_filter()
        if sectors == (NO_SECTOR,):
            words.append(f"{t('sector', lang)}: —")
        elif sectors:
            words.append(
                f"{t('sector', lang)}: "
                + ", ".join(self.plan.sector_name(s, lang) for s in sectors)
            )
        if self.status_select.value:
            words.append(f"{t('status', lang)}: {t(self.status_select.value, lang)}")
        if self.year_select.value:
            words.append(f"{t('target_year', lang)}: {self.year_select.value}")
        return "; ".join(words) or t("no_filter", lang)

    # ---- rendering -------------------------------------------------------------------
    def _load_plan(self):
        self.plan, self.assessed, self.found, self.notes = plan_tables(self.plan_id)
        self._build_sectors()
        self._relabel()
        self.refresh()
        self._show_card()

    def _build_sectors(self):
        """One checkbox per sector of the plan (a tap ticks one: no Ctrl-click), all ticked."""
        for box in self.sector_boxes.values():
            box.unobserve(self._on_sector, "value")
        self.sector_boxes = {
            s: w.Checkbox(value=True, indent=False).add_class(f"pt-sector-{s}")
            for s in self.plan.sector_ids()
        }
        for box in self.sector_boxes.values():
            box.observe(self._on_sector, "value")
        self.sector_box.children = tuple(self.sector_boxes.values())
        self.sectors_chosen = tuple(self.sector_boxes)

    def _tick(self, sectors: tuple) -> None:
        """Tick exactly these sectors, with one refresh afterwards (not one per box)."""
        quiet, self._quiet = self._quiet, True
        try:
            for s, box in self.sector_boxes.items():
                box.value = s in sectors
        finally:
            self._quiet = quiet
        self.sectors_chosen = tuple(s for s in self.sector_boxes if s in sectors)

    def sectors_filter(self) -> tuple:
        """The sectors rows are filtered by: () for all, (NO_SECTOR,) when none is ticked."""
        if len(self.sectors_chosen) == len(self.sector_boxes):
            return ()
        return self.sectors_chosen or (NO_SECTOR,)

    def _relabel(self):
        """Every visible word in the current language; keeps the reader's choices."""
        self._relabel_header()
        self._relabel_controls()

    def _relabel_header(self):
        lang, plan = self.lang, self.plan
        self.title.value = render(
            "dashboard/header.html.j2",
            lang=lang,
            title=plan.title(lang),
            issuer=plan.issuer if lang == "zh" else plan.issuer_en,
            issued=plan.issued,
            as_of=data_as_of(plan),
        )
        self.key.value = render(
            "dashboard/key.html.j2",
            lang=lang,
            as_of=data_as_of(plan),
            level=LEVEL_STATUSES,
            trajectory=TRAJECTORY_STATUSES,
        )
        self.card_heading.value = (
            f"<h2 id='pt-card-h'>{html.escape(t('indicator_card', lang))}</h2>"
        )

    def _relabel_controls(self):
        """The controls' labels and choices (many small messages: sent after the content)."""
        lang, plan = self.lang, self.plan
        self._quiet = True
        try:
            chosen_status, chosen_year = self.status_select.value, self.year_select.value
            _relabel_choices(
                self.plan_select,
                [(plan_title(p, lang), p) for p in self._plan_ids()],
                self.plan_id,
                t("plan", lang),
            )
            names = plan.sector_names(lang)
            for s, box in self.sector_boxes.items():
                box.description = str(names.get(s, s))
            self.sector_label.value = f"<span class='widget-label pt-sector-label'>{html.escape(t('sector', lang))}</span>"
            self.sector_all.description = t("all_sectors", lang)
            self.sector_clear.description = t("clear_sectors", lang)
            _relabel_choices(
                self.status_select,
                [(t("all", lang), "")] + [(t(s, lang), s) for s in LEVEL_STATUSES],
                chosen_status or "",
                t("status", lang),
            )
            years = sorted(set(int(y) for y in self.assessed["target_year"]))
            _relabel_choices(
                self.year_select,
                [(t("all", lang), 0)] + [(str(y), y) for y in years],
                chosen_year if chosen_year in years else 0,
                t("target_year", lang),
            )
            self._indicator_options()
            self.chart_button.description = f"{t('download_png', lang)} / SVG"
        finally:
            self._quiet = False

    def _indicator_choices(self) -> list[tuple]:
        """The indicator list's (label, id) in this view: the indicators of the ticked sectors
        (also the labels the tables' links name, see _label)."""
        lang, sectors = self.lang, self.sectors_filter()
        every = self._rows()["choices"]
        named = [(label, i) for label, i, s in every if not sectors or s in sectors]
        options = [(t("pick_indicator", lang), ""), *named[:MAX_INDICATOR_OPTIONS]]
        self._option_labels = {i: label for label, i in options}
        return options

    def _indicator_options(self, options: list[tuple] | None = None):
        """The indicator list holds the indicators of the ticked sectors only (options: this
        view's _indicator_choices, when the caller has them)."""
        lang, options = self.lang, options or self._indicator_choices()
        chosen = self.indicator_select.value
        quiet, self._quiet = self._quiet, True
        try:
            _relabel_choices(
                self.indicator_select,
                options,
                chosen if chosen in self._option_labels else "",
                t("indicator", lang),
            )
        finally:
            self._quiet = quiet

    def prepare_languages(self) -> None:
        """Build the rows of every language (reader_rows) before they are asked for."""
        for lang in LANGUAGES:
            reader_rows(self.plan_id, self.plan.content_hash, lang)

    def _rows(self) -> dict:
        return reader_rows(self.plan_id, self.plan.content_hash, self.lang)

    def rows(self) -> pd.DataFrame:
        """The judged rows the filters select (their words are in the prebuilt rows)."""
        return filter_assessed(
            self.assessed,
            self.sectors_filter(),
            self.status_select.value or None,
            self.year_select.value or None,
        )

    def _table_rows(self, rows: pd.DataFrame) -> list[dict]:
        """The targets table's rows (built once per plan and language) with this view's links."""
        built = self._rows()["targets"]
        return self._linked([built[i] for i in self._positions(rows)[:MAX_TABLE_ROWS]])

    def _positions(self, rows: pd.DataFrame):
        """Where the filtered rows sit in the plan's judged table (and so in its prebuilt rows)."""
        return self.assessed.index.get_indexer(rows.index)

    def _linked(self, rows: list[dict]) -> list[dict]:
        """Prebuilt rows, each with the link that opens its indicator in this view (the query's
        last key is the indicator: the rest of the view's query is built once)."""
        view = self.query(indicator=None)
        return [
            {
                **row,
                "href": "?"
                + "&".join(filter(None, [view, urlencode({"indicator": row["indicator_id"]})])),
                "label": self._label(row["indicator_id"]),
            }
            for row in rows
        ]

    def _label(self, indicator_id: str) -> str:
        """The indicator list's label for an indicator: the page's script picks the option by it."""
        return self._option_labels.get(indicator_id, "")

    def _monitoring_rows(self) -> list[dict]:
        """Indicators without a target in the ticked sectors: their latest value, as stated."""
        sectors = self.sectors_filter()
        built = self._rows()["monitoring"]
        return self._linked(
            [r for r in built if not sectors or r["sector"] in sectors][:MAX_TABLE_ROWS]
        )

    def refresh(self):
        """Everything the filters select. What a reader looks at first is sent first (the counts,
        the charts, the table); the indicator list, a long message, last."""
        choices = self._indicator_choices()  # first: the tables' links name these labels
        lang, rows = self.lang, self.rows()
        counts = counts_by_status(rows)
        self.cards.value = render(
            "dashboard/summary.html.j2",
            lang=lang,
            counts=list(counts.items()),
            no_sector=self.sectors_filter() == (NO_SECTOR,),
        )
        self._draw_charts(rows)
        self.charts_alt.value = (
            f"<p class='pt-alt'>{html.escape(t('chart_alt.achievement', lang, n=len(rows), **counts))}"
            "</p>"
        )
        self.table.value = render(
            "dashboard/targets.html.j2",
            lang=lang,
            rows=self._table_rows(rows),
            more=len(rows) - MAX_TABLE_ROWS,
        )
        self.monitoring.value = render(
            "dashboard/monitoring.html.j2", lang=lang, rows=self._monitoring_rows()
        )
        built = self._rows()
        gaps = rows[rows["status"] == "no_data"].head(MAX_TABLE_ROWS)
        self.gaps.value = render(
            "dashboard/gaps.html.j2",
            lang=lang,
            rows=[built["targets"][i] for i in self._positions(gaps)],
        )
        found = self.found
        sectors = self.sectors_filter()
        if sectors:
            found = found[found["sector"].isin(sectors)]
        self.findings_box.value = render(
            "dashboard/findings.html.j2",
            lang=lang,
            rows=self._linked(
                [
                    {
                        "severity": f.severity,
                        "indicator_id": f.indicator_id,
                        "name": getattr(f, f"name_{lang}"),
                        "kind": f.kind,
                        "message": getattr(f, f"message_{lang}"),
                    }
                    for f in found.itertuples(index=False)
                ]
            ),
        )
        self.downloads.value = _download_link(
            csv_bytes(built["csv"].iloc[self._positions(rows)]),
            f"plantrack-{self.plan_id}-{lang}.csv",
            "text/csv",
            t("download_csv", lang),
            "pt-csv",
        )
        self.chart_links.value = ""
        self._write_view()
        shown = self.indicator_select.value
        self._indicator_options(choices)
        if self.indicator_select.value != shown:  # its sector was filtered out
            self._show_card()

    def _draw_charts(self, rows: pd.DataFrame) -> None:
        """Both overview charts. A small plan's charts hold every target in both languages, sent once
        per plan; a filter or language change only sets the views' params (Vega recomputes in place).
        A large plan's achievement chart is an aggregate of the filtered rows, drawn anew."""
        small = len(self.assessed) <= charts.MAX_BARS
        params = {
            "lang": self.lang,
            "sectors": list(self.sectors_filter()),
            "status": self.status_select.value or "",
            "year": int(self.year_select.value or 0),
        }
        specs = overview_specs(self.plan_id, self.plan.content_hash)
        views = {"counts": self.counts_chart}
        if small:
            views["achievement"] = self.achievement_chart
        else:
            # an aggregate of the filtered rows: built here, with Altair (a plan of over MAX_BARS targets)
            show(self.achievement_chart, charts.achievement_chart(rows, self.lang, fit=True))
        key = (self.plan_id, self.plan.content_hash)
        for name, view in views.items():
            with view.hold_sync():
                if key != self._chart_key:
                    # A new spec starts from the reader's choices: the view reads its params from it.
                    view.spec = charts.with_param_values(specs[name], params)
                    if name == "achievement":
                        chart_view.watch_point_selection(view, charts.PICK)
                chart_view.send_params(view, params)
        self._chart_key = key

    def _show_card(self):
        indicator_id = self.indicator_select.value
        lang = self.lang
        if not indicator_id:
            self.card.value = render("dashboard/card.html.j2", lang=lang, info=None)
            self.card_chart.layout.display = "none"
            self.card_alt.value = ""
            return
        card = indicator_card(self.plan, self.assessed, self.found, self.notes, indicator_id, lang)
        self.card.value = render("dashboard/card.html.j2", lang=lang, **card)
        # shown before its spec arrives: a chart drawn while hidden measures its container as 0 px wide
        self.card_chart.layout.display = None
        self.card_chart.spec = indicator_spec(self.plan, indicator_id, lang, self.assessed)
        points = "; ".join(
            [f"{t('target', lang)} {x['year']}: {x['text']}" for x in card["targets"]]
            + [f"{t('actual', lang)} {x['year']}: {x['text']}" for x in card["actuals"]]
        )
        words = t("chart_alt.indicator", lang, name=card["info"]["name"], points=points or "—")
        self.card_alt.value = f"<p class='pt-alt'>{mark_zh(words)}</p>"


def _relabel_choices(control, options: list, value, description: str) -> None:
    """New option labels, value and description for a control, sent to the browser as one message."""
    with control.hold_sync():
        control.options = options
        control.value = value
        control.description = description


@functools.lru_cache(maxsize=16)
def reader_rows(plan_id: str, content_hash: str, lang: str) -> dict:
    """Every row a reader's filters can show, in one language, built once per plan version and
    language (a filter or language change then only picks rows: the reader waits for that, not
    for pandas look-ups row by row):
    - targets: a dict per row of the judged table, in its order (the targets table, the gaps);
    - monitoring: a dict per indicator with no target but an actual (its latest), with its sector;
    - choices: (label, indicator id, sector) of every indicator, in the plan's sector order;
    - csv: the judged table as its CSV download has it (csv_table)."""
    plan, assessed, found, notes = _computed(plan_id, content_hash)
    notes = notes.loc[assessed.index]
    sector_names = plan.sector_names(lang)
    flag = {
        k: {"severity": severity, "kind": kind, "message": message}
        for k, severity, kind, message in zip(
            found.index, found["severity"], found["kind"], found[f"message_{lang}"]
        )
    }
    columns = {
        "indicator_id": assessed["indicator_id"].tolist(),
        "name": assessed[f"name_{lang}"].tolist(),
        "sector_name": [sector_names.get(s, s) for s in assessed["sector"]],
        "target_year": assessed["target_year"].tolist(),
        "target": notes[f"target_{lang}"].tolist(),
        "target_stated": assessed["target_stated"].tolist(),
        "actual": notes[f"actual_{lang}"].tolist(),
        "actual_year": ["" if pd.isna(y) else int(y) for y in assessed["actual_year"]],
        "computed_rate": assessed["computed_rate"].tolist(),
        "reported_rate": assessed["reported_rate"].tolist(),
        "status": assessed["status"].tolist(),
        "trajectory_status": assessed["trajectory_status"].tolist(),
        "confidence": notes["confidence"].tolist(),
        "flags": [[flag[k] for k in keys] for keys in notes["findings"]],
    }
    targets = [dict(zip(columns, values)) for values in zip(*columns.values())]

    indicators = plan.indicators[
        ~plan.indicators["indicator_id"].isin(set(assessed["indicator_id"]))
    ]
    latest = plan.actuals[plan.actuals["indicator_id"].isin(indicators["indicator_id"])]
    latest = latest.sort_values("year", kind="stable").drop_duplicates("indicator_id", keep="last")
    # one join, not a lookup per row: the monitoring list can hold hundreds of indicators
    untargeted = indicators[["indicator_id", "sector", f"name_{lang}"]].merge(
        latest[["indicator_id", "year", "value", "unit", "source"]], on="indicator_id"
    )
    cite = _source_words(plan, lang)
    monitoring = [
        {
            "indicator_id": r.indicator_id,
            "sector": r.sector,
            "name": getattr(r, f"name_{lang}"),
            "sector_name": str(sector_names.get(r.sector, r.sector)),
            "year": r.year,
            "value": value_words(r.value, r.unit, lang),
            "source": cite(r.source)[0],
        }
        for r in untargeted.itertuples(index=False)
    ]

    order = {k: i for i, k in enumerate(plan.sector_ids())}
    named = plan.indicators.sort_values("sector", key=lambda s: s.map(order), kind="stable")
    choices = [
        (f"{sector_names.get(s, s)} · {n}", i, s)
        for s, n, i in zip(named["sector"], named[f"name_{lang}"], named["indicator_id"])
    ]
    return {
        "targets": targets,
        "monitoring": monitoring,
        "choices": choices,
        "csv": csv_table(assessed, lang, notes, plan),
    }


@functools.lru_cache(maxsize=16)
def overview_specs(plan_id: str, content_hash: str) -> dict:
    """The two filterable, bilingual overview charts of a plan, as Vega-Lite dicts (built once
    per plan version, see serve/plan_cache.py)."""
    plan, assessed, _, notes = _computed(plan_id, content_hash)

    def build():
        specs = {"counts": charts.status_counts_chart(assessed, plan.sectors, fit=True, live=True)}
        if len(assessed) <= charts.MAX_BARS:
            specs["achievement"] = charts.achievement_chart(
                assessed, notes=notes, fit=True, live=True
            )
        return {name: charts.top_level_spec(chart) for name, chart in specs.items()}

    return plan_cache.spec(plan.plan_id, content_hash, "overview", build)


def indicator_spec(
    plan, indicator_id: str, lang: str, assessed: pd.DataFrame | None = None
) -> dict:
    """An indicator card's chart with each target's required path (from `assessed`, the plan's
    judged table; by default the dashboard's, serve/plan_cache.py), as a Vega-Lite dict (built
    once per plan version, in both languages at once: a reader who switches language finds the
    other one built)."""

    def build(lang: str):
        def spec():
            rows = _computed(plan.plan_id, plan.content_hash)[1] if assessed is None else assessed
            chart = charts.indicator_chart(plan, indicator_id, lang, fit=True, assessed=rows)
            return charts.top_level_spec(chart)

        return spec

    return plan_cache.spec(
        plan.plan_id,
        plan.content_hash,
        f"indicator/{indicator_id}/{lang}",
        build(lang),
        together={f"indicator/{indicator_id}/{other}": build(other) for other in LANGUAGES},
    )


def show(view: chart_view.ChartView, chart) -> None:
    """Send a chart's spec to its view without re-validating it against the Vega-Lite schema.

    The builders in charts.py make valid specs (tests render them with vl-convert); schema
    validation on every widget change cost half of the time a reader waits.
    """
    view.spec = charts.top_level_spec(chart)


@functools.lru_cache(maxsize=1)
def charts_offline() -> None:
    """JupyterChart's JavaScript with no CDN: under Voilà, one file the server serves for every
    chart; elsewhere (JupyterLab), the bundle inline in each chart."""
    from plantrack.serve.server import served_chart_bundle_url

    chart_view.load_bundle_from(served_chart_bundle_url())


def _error_widget(exc: Exception, lang: str) -> w.HTML:
    reason = exc.reason if isinstance(exc, DataError) else f"{type(exc).__name__}: {exc}"
    lang = lang if lang in LANGUAGES else DEFAULT_LANG
    return w.HTML(
        f"{page_style()}<div class='plantrack'><div class='pt-error pt-message' role='alert'>"
        f"{html.escape(t('error_reader', lang))}{html.escape(str(reason))}</div></div>"
    )


def app(plan_id: str | None = None, lang: str = DEFAULT_LANG, query: str | None = None):
    """The dashboard widget; on bad input, a sentence for the reader instead of a traceback.

    Under Voilà with preheated kernels, the plan is loaded and judged and the widgets built
    before the reader's request arrives; then the kernel waits for the request and opens the
    view its query string names (?lang=en&sector=…). Elsewhere `query` (or nothing) is used.
    """
    try:
        board = Dashboard(plan_id, lang)
    except Exception as exc:  # noqa: BLE001
        return _error_widget(exc, lang)
    try:
        if query is None and _kernel.preheated():
            board.prepare_languages()  # no reader waits yet: the first language switch finds them
        if query is None:
            query = request_query()
        if query:
            board.open(query)
        return board.widget
    except Exception as exc:  # noqa: BLE001
        return _error_widget(exc, board.lang)


def request_query() -> str:
    """The reader's query string: Voilà hands a preheated kernel the request only when asked
    (serve/kernel.py: wait_for_request); a kernel started for the request has it in its environment."""
    _kernel.wait_for_request()
    return os.environ.get("QUERY_STRING", "")
