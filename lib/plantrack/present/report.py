"""The sector report: what notebooks/sector.ipynb shows, one section per call."""

from __future__ import annotations

from plantrack.data.package import load_plan
from plantrack.errors import DataError
from plantrack.judge.findings import findings
from plantrack.judge.progress import assess
from plantrack.messages import check_lang
from plantrack.present.html import render, stylesheet, text, value_with_unit
from plantrack.present.style import LEVEL_STATUSES


def check_params(plan_id, sector, lang, as_of):
    """Validate a report's parameters; a DataError says what was wrong and what is allowed."""
    from plantrack.data.package import list_plans

    if not isinstance(plan_id, str) or plan_id not in list_plans():
        raise DataError(f"unknown plan_id {plan_id!r}; allowed: {', '.join(list_plans())}")
    check_lang(lang)
    if as_of is not None and (
        not isinstance(as_of, int) or isinstance(as_of, bool) or not 1949 <= as_of <= 2100
    ):
        raise DataError(f"as_of must be a year such as 2018, or None; got {as_of!r}")
    plan = load_plan(plan_id)
    if sector not in plan.sector_ids():
        raise DataError(
            f"unknown sector {sector!r} for plan {plan_id}; allowed: {', '.join(plan.sector_ids())}"
        )
    return plan


def _html(body: str):
    from IPython.display import HTML, display

    display(HTML(f'<style>{stylesheet()}</style><div class="plantrack">{body}</div>'))


class SectorReport:
    def __init__(self, plan_id: str, sector: str, lang: str = "zh", as_of: int | None = None):
        plan = check_params(plan_id, sector, lang, as_of)
        found = findings(plan)
        self._prepare(plan, sector, lang, as_of, assess(plan, as_of=as_of, found=found), found)

    @classmethod
    def from_tables(
        cls, plan, sector: str, lang: str, assessed, found, as_of: int | None = None
    ) -> "SectorReport":
        """A report from a plan's assessment and findings computed once (the site builds every sector from them)."""
        report = cls.__new__(cls)
        report._prepare(plan, sector, lang, as_of, assessed, found)
        return report

    def _prepare(self, plan, sector, lang, as_of, assessed, found):
        self.plan, self.sector, self.lang, self.as_of = plan, sector, lang, as_of
        self.assessed = assessed[assessed["sector"] == sector]
        self.findings = found[found["sector"] == sector]
        indicators = plan.indicators
        self.monitoring = indicators[
            (indicators["sector"] == sector) & (indicators["kind"] == "monitoring")
        ]

    def _rows(self, frame):
        """A table's rows as dicts, with the name in the report's language (the templates escape)."""
        return [dict(r, name=r[f"name_{self.lang}"]) for r in frame.to_dict("records")]

    def header(self):
        counts = self.assessed["status"].value_counts()
        _html(
            render(
                "report/header.html.j2",
                lang=self.lang,
                as_of=self.as_of,
                sector_name=self.plan.sector_name(self.sector, self.lang),
                plan_title=self.plan.title(self.lang),
                counts=[(s, counts[s]) for s in LEVEL_STATUSES if counts.get(s, 0)],
                content_hash=self.plan.content_hash,
            )
        )

    def plan_words(self):
        tasks = self.plan.tasks[self.plan.tasks["sector"] == self.sector]
        if tasks.empty:
            return
        departments = tasks["departments"].dropna()
        _html(
            render(
                "report/plan_words.html.j2",
                lang=self.lang,
                quotes=list(tasks["quote"]),
                departments=departments.iloc[0] if len(departments) else "",
            )
        )

    def targets_table(self):
        rows = self._rows(self.assessed)
        for r in rows:
            r["actual"] = value_with_unit(r["actual_value"], r["actual_unit"])
            r["source"] = text(r["actual_source"]) or text(r["target_source"])
            r["actual_quote"] = text(r["actual_quote"])
        _html(render("report/targets.html.j2", lang=self.lang, rows=rows))

    def achievement_chart(self):
        from plantrack.present import (
            charts,
        )  # Altair is slow to import: only where a chart is drawn

        if not self.assessed.empty:
            charts.show_static(charts.achievement_chart(self.assessed, self.lang))

    def indicator_charts(self):
        from plantrack.present import charts

        ids = list(dict.fromkeys(self.assessed["indicator_id"]))
        for indicator_id in ids:
            charts.show_static(
                charts.indicator_chart(
                    self.plan, indicator_id, self.lang, self.as_of, assessed=self.assessed
                )
            )

    def monitoring_table(self):
        if self.monitoring.empty:
            return
        actuals = self.plan.actuals
        if self.as_of is not None:
            actuals = actuals[actuals["year"] <= self.as_of]
        actuals = actuals.merge(
            self.monitoring[["indicator_id", f"name_{self.lang}"]], on="indicator_id"
        )
        _html(render("report/monitoring.html.j2", lang=self.lang, rows=self._rows(actuals)))

    def tasks_and_evidence(self):
        tasks = self.plan.tasks[self.plan.tasks["sector"] == self.sector]
        if tasks.empty:
            return
        evidence = self.plan.evidence
        items = [
            dict(
                number=task.number,
                title=task[f"title_{self.lang}"],
                evidence=list(evidence.loc[evidence["task_id"] == task.task_id, "quote"]),
            )
            for _, task in tasks.iterrows()
        ]
        _html(render("report/tasks.html.j2", lang=self.lang, tasks=items))

    def findings_table(self):
        rows = self._rows(self.findings)
        for r in rows:
            r["message"] = r[f"message_{self.lang}"]
        _html(render("report/findings.html.j2", lang=self.lang, rows=rows))
