"""The sector report: what notebooks/sector.ipynb shows, one section per call."""
from __future__ import annotations

import html

import pandas as pd

from plantrack.present import charts
from plantrack.judge.findings import findings
from plantrack.data.package import load_plan
from plantrack.errors import DataError
from plantrack.messages import check_lang, t
from plantrack.judge.progress import assess

CSS = """<style>
.plantrack table{border-collapse:collapse;font-size:13px;margin:6px 0 14px}
.plantrack th,.plantrack td{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left !important;vertical-align:top}
.plantrack th{background:#f3f5f7}
.plantrack blockquote{border-left:3px solid #90a4ae;margin:4px 0 10px;padding:2px 10px;color:#37474f}
.plantrack .status-achieved{color:#2e7d32;font-weight:600}.plantrack .status-not_achieved{color:#c62828;font-weight:600}
.plantrack .status-no_data{color:#757575}.plantrack .status-not_comparable{color:#ef6c00;font-weight:600}
.plantrack .sev-error{color:#c62828;font-weight:600}.plantrack .sev-warning{color:#ef6c00}
.plantrack .muted{color:#607d8b;font-size:12px}
</style>"""


def check_params(plan_id, sector, lang, as_of):
    """Validate a report's parameters; a DataError says what was wrong and what is allowed."""
    from plantrack.data.package import list_plans
    if not isinstance(plan_id, str) or plan_id not in list_plans():
        raise DataError(f"unknown plan_id {plan_id!r}; allowed: {', '.join(list_plans())}")
    check_lang(lang)
    if as_of is not None and (not isinstance(as_of, int) or isinstance(as_of, bool) or not 1949 <= as_of <= 2100):
        raise DataError(f"as_of must be a year such as 2018, or None; got {as_of!r}")
    plan = load_plan(plan_id)
    if sector not in plan.sector_ids():
        raise DataError(f"unknown sector {sector!r} for plan {plan_id}; allowed: {', '.join(plan.sector_ids())}")
    return plan


def cell(x) -> str:
    """A value as HTML text; empty for a missing value."""
    return "" if x is None or (isinstance(x, float) and pd.isna(x)) or x is pd.NA else html.escape(str(x))


def _html(body: str):
    from IPython.display import HTML, display
    display(HTML(f'{CSS}<div class="plantrack">{body}</div>'))


def value_with_unit(value, unit) -> str:
    """13 and '万亿元' -> '13万亿元'; empty when there is no value."""
    if value is None or pd.isna(value):
        return ""
    return f"{value:,.10g}{'' if pd.isna(unit) else unit}"


def rate(x) -> str:
    return "" if pd.isna(x) else f"{x:.1f}%"


class SectorReport:
    def __init__(self, plan_id: str, sector: str, lang: str = "zh", as_of: int | None = None):
        self.plan = check_params(plan_id, sector, lang, as_of)
        self.sector, self.lang, self.as_of = sector, lang, as_of
        assessed = assess(self.plan, as_of=as_of)
        self.assessed = assessed[assessed["sector"] == sector]
        found = findings(self.plan)
        self.findings = found[found["sector"] == sector]
        indicators = self.plan.indicators
        self.monitoring = indicators[(indicators["sector"] == sector) & (indicators["kind"] == "monitoring")]

    def header(self):
        lang = self.lang
        counts = self.assessed["status"].value_counts()
        summary = " · ".join(f"{t(s, lang)} {counts.get(s, 0)}" for s in ("achieved", "not_achieved", "no_data", "not_comparable")
                             if counts.get(s, 0))
        _html(f"<h1>{cell(self.plan.sector_name(self.sector, lang))}</h1>"
              f"<p>{cell(self.plan.title(lang))} — {t('report_for', lang)}"
              f"{' · ' + t('as_of', lang) + ' ' + str(self.as_of) if self.as_of else ''}</p>"
              f"<p><b>{summary or t('no_targets', lang)}</b></p>"
              f"<p class='muted'>{cell(t("method_text", lang))} {t('generated', lang)}: {self.plan.content_hash}</p>")

    def plan_words(self):
        tasks = self.plan.tasks[self.plan.tasks["sector"] == self.sector]
        if tasks.empty:
            return
        departments = cell(tasks["departments"].dropna().iloc[0]) if tasks["departments"].notna().any() else ""
        body = "".join(f"<blockquote>{cell(q)}</blockquote>" for q in tasks["quote"])
        _html(f"<h2>{t('plan_words', self.lang)}</h2>{body}"
              + (f"<p class='muted'>{t('departments', self.lang)}: {departments}</p>" if departments else ""))

    def targets_table(self):
        lang = self.lang
        if self.assessed.empty:
            _html(f"<h2>{t('targets_heading', lang)}</h2><p>{t('no_targets', lang)}</p>")
            return
        rows = "".join(
            f"<tr><td>{cell(r[f'name_{lang}'])}</td><td>{cell(r.target_year)}</td><td>{cell(r.target_stated)}</td>"
            f"<td>{cell(value_with_unit(r.actual_value, r.actual_unit)) or t('no_data', lang)}</td><td>{rate(r.computed_rate)}</td>"
            f"<td>{rate(r.reported_rate)}</td><td class='status-{r.status}'>{t(r.status, lang)}</td>"
            f"<td>{t(r.trajectory_status, lang)}</td><td>{cell(r.actual_source) or cell(r.target_source)}</td></tr>"
            f"<tr><td colspan='9' class='muted'>{t('target', lang)}: “{cell(r.target_quote)}”"
            + (f"<br>{t('actual', lang)}: “{cell(r.actual_quote)}”" if isinstance(r.actual_quote, str) else "")
            + "</td></tr>"
            for _, r in self.assessed.iterrows())
        head = "".join(f"<th>{t(k, lang)}</th>" for k in ("indicator", "target_year", "target", "actual", "computed_rate",
                                                          "reported_rate", "status", "trajectory", "source"))
        _html(f"<h2>{t('targets_heading', lang)}</h2><table><tr>{head}</tr>{rows}</table>")

    def achievement_chart(self):
        if not self.assessed.empty:
            charts.show_static(charts.achievement_chart(self.assessed, self.lang))

    def indicator_charts(self):
        ids = list(dict.fromkeys(self.assessed["indicator_id"]))
        for indicator_id in ids:
            charts.show_static(charts.indicator_chart(self.plan, indicator_id, self.lang, self.as_of))

    def monitoring_table(self):
        lang = self.lang
        if self.monitoring.empty:
            return
        actuals = self.plan.actuals
        if self.as_of is not None:
            actuals = actuals[actuals["year"] <= self.as_of]
        actuals = actuals.merge(self.monitoring[["indicator_id", f"name_{lang}"]], on="indicator_id")
        rows = "".join(f"<tr><td>{cell(r[f'name_{lang}'])}</td><td>{cell(r.year)}</td><td>{cell(r.stated)}</td>"
                       f"<td>{cell(r.source)}</td><td class='muted'>“{cell(r.quote)}”</td></tr>" for _, r in actuals.iterrows())
        head = "".join(f"<th>{t(k, lang)}</th>" for k in ("indicator", "year", "value", "source", "quote"))
        _html(f"<h2>{t('monitoring_heading', lang)}</h2><table><tr>{head}</tr>{rows}</table>")

    def tasks_and_evidence(self):
        lang = self.lang
        tasks = self.plan.tasks[self.plan.tasks["sector"] == self.sector]
        if tasks.empty:
            return
        evidence = self.plan.evidence
        parts = []
        for _, task in tasks.iterrows():
            quotes = evidence.loc[evidence["task_id"] == task.task_id, "quote"]
            said = "".join(f"<blockquote>{cell(q)}</blockquote>" for q in quotes) or f"<p class='muted'>{t('no_evidence', lang)}</p>"
            parts.append(f"<h3>{cell(task.number)}. {cell(task[f'title_{lang}'])}</h3>"
                         f"<p class='muted'>{t('evidence', lang)}</p>{said}")
        _html(f"<h2>{t('tasks_heading', lang)}</h2>{''.join(parts)}")

    def findings_table(self):
        lang = self.lang
        if self.findings.empty:
            _html(f"<h2>{t('findings', lang)}</h2><p>{t('no_findings', lang)}</p>")
            return
        rows = "".join(f"<tr><td class='sev-{r.severity}'>{t(r.severity, lang)}</td><td>{cell(r[f'name_{lang}'])}</td>"
                       f"<td>{t(r.kind, lang)}</td><td>{cell(r[f'message_{lang}'])}</td></tr>"
                       for _, r in self.findings.iterrows())
        head = "".join(f"<th>{t(k, lang)}</th>" for k in ("severity", "indicator", "finding", "message"))
        _html(f"<h2>{t('findings', lang)}</h2><table><tr>{head}</tr>{rows}</table>")
