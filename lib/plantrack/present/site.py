"""`plantrack publish`: every plan as a static, bilingual site that needs no kernel and no network.

The site is plain files: HTML from the shared Jinja2 templates (autoescaped), the one stylesheet,
one small script for the overview's filters, search and sorting, charts as SVG files rendered at
publish time by vl-convert, and downloads. It works from file:// and from any static server.

Layout (stable URLs built from ids only; every link names a file and stays inside the site):

    index.html                                  both languages (Chinese first), every plan
    <lang>/index.html                           the plans, in one language
    <lang>/<plan>/index.html                    overview: every target, filters, search, sorting
    <lang>/<plan>/<sector>/index.html           the sector report
    <lang>/<plan>/indicator/<id>/index.html     one indicator: chart, targets, actuals, findings
    <lang>/<plan>/findings/index.html           the plan's data-quality findings
    <lang>/<plan>/tasks/index.html              the plan's key tasks and their evidence
    downloads/<plan>/...                        data package (zip), overview CSV, per-indicator CSV/JSON/SVG
    assets/plantrack.css, assets/site.js        shared by every page
    site.json                                   what was published: plans, data versions, dates

The site is built in a folder beside the target and swapped in whole, so a reader never sees
half a site.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import posixpath
import re
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from plantrack.config import LANGUAGES, outputs_root
from plantrack.data.ids import check_url_id as check_id
from plantrack.data.ids import is_id
from plantrack.data.package import _cache_base, list_plans, load_plan, write_atomic
from plantrack.errors import DataError
from plantrack.judge.findings import findings
from plantrack.judge.measures import corrected
from plantrack.judge.progress import assess, comparable_actuals, pair_factors, required_paths
from plantrack.messages import t
from plantrack.present import draw, style
from plantrack.present.export import spreadsheet_safe
from plantrack.present.html import mark_lang, missing, render, stylesheet, text, unit_name
from plantrack.present.report import SectorReport

log = logging.getLogger(__name__)

RESERVED = ("indicator", "findings", "tasks")  # folders beside the sector folders
SCRIPT = Path(__file__).with_name("templates") / "html" / "site" / "site.js"
OTHER = {"zh": "en", "en": "zh"}
SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}
CHART_COLOURS = {
    "actual": style.ACCENT,
    "target": style.STATUS_STYLE["not_achieved"][0],
    "path": style.MUTED,
}


def default_out() -> Path:
    return outputs_root() / "site"


# ---------------------------------------------------------------------------------------------
# Small rules kept in one place


def data_changed(directory: Path) -> str:
    """The date the plan's data last changed: its last commit in git, else the newest file's mtime."""
    try:
        done = subprocess.run(
            ["git", "log", "-1", "--format=%cs", "--", "."],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=10,
        )
        if done.returncode == 0 and re.fullmatch(r"\d{4}-\d{2}-\d{2}", done.stdout.strip()):
            # uncommitted edits are newer than the last commit
            dirty = subprocess.run(
                ["git", "status", "--porcelain", "--", "."],
                cwd=directory,
                capture_output=True,
                text=True,
                timeout=10,
            )
            if dirty.returncode == 0 and not dirty.stdout.strip():
                return done.stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:  # no git here: the files' dates instead
        log.debug("no git commit date for %s: %s", directory, exc)
    newest = max(p.stat().st_mtime for p in directory.iterdir() if p.is_file())
    return dt.date.fromtimestamp(newest).isoformat()


def _plain(x):
    """A value fit for JSON: numpy scalars as Python numbers, missing as None."""
    if missing(x):
        return None
    return x.item() if hasattr(x, "item") else x


def _records(frame: pd.DataFrame) -> list[dict]:
    return [{k: _plain(v) for k, v in r.items()} for r in frame.astype(object).to_dict("records")]


# ---------------------------------------------------------------------------------------------
# Charts: one language-neutral SVG per indicator (years and numbers only; the legend, the unit and
# the text alternative are HTML in the page's language), cached by the spec's hash.


def indicator_chart_spec(series: list[dict]) -> dict:
    """A Vega-Lite spec: actuals as a line, figures of another definition hollow on their own
    thin line, targets as diamonds, the required path dashed."""
    years = sorted({point["year"] for point in series})
    kinds = {point["series"] for point in series}
    # whole years only: a tick per year when they are few, else integer steps
    ticks = {"values": years} if len(years) <= 12 else {"tickMinStep": 1}

    def layer(kind, mark, **encoding):  # None where the chart has no such points
        if kind not in kinds:
            return None
        return {
            "transform": [{"filter": {"field": "series", "equal": kind}}],
            "mark": mark,
            **({"encoding": encoding} if encoding else {}),
        }

    by_measure = {"detail": {"field": "measure"}}  # one line per measure

    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "width": 340,
        "height": 200,
        "background": "white",
        "config": {
            # its labels are numbers only: a CJK font would make vl-convert lay out ~2.5x slower
            "font": "sans-serif",
            "view": {"stroke": None},
            "axis": {"labelFontSize": 12, "labelColor": style.INK, "titleColor": style.INK},
        },
        "data": {"values": series},
        "encoding": {
            "x": {
                "field": "year",
                "type": "quantitative",
                "title": None,
                "scale": {"zero": False, "nice": False, "padding": 12},
                "axis": {"format": "d", **ticks},
            },
            "y": {"field": "value", "type": "quantitative", "title": None, "scale": {"zero": True}},
        },
        # only the layers with points: an empty one still costs vl-convert its layout (~40%)
        "layer": [
            drawn
            for drawn in (
                layer(
                    "path",
                    {
                        "type": "line",
                        "color": CHART_COLOURS["path"],
                        "strokeDash": [6, 4],
                        "strokeWidth": 2,
                    },
                ),
                layer(
                    "actual",
                    {
                        "type": "line",
                        "color": CHART_COLOURS["actual"],
                        "strokeWidth": 2.5,
                        "point": {"filled": True, "size": 60, "color": CHART_COLOURS["actual"]},
                    },
                    **by_measure,
                ),
                layer(
                    "other",
                    {
                        "type": "line",
                        "color": CHART_COLOURS["actual"],
                        "strokeWidth": 1,
                        "point": {
                            "filled": False,
                            "size": 70,
                            "strokeWidth": 2,
                            "color": CHART_COLOURS["actual"],
                        },
                    },
                    **by_measure,
                ),
                layer(
                    "target",
                    {
                        "type": "point",
                        "shape": "diamond",
                        "size": 160,
                        "filled": True,
                        "color": CHART_COLOURS["target"],
                    },
                ),
            )
            if drawn
        ],
    }


def render_svgs(specs: dict[str, dict]) -> dict[str, str]:
    """SVG for each spec (key -> svg), from the cache where the same spec was drawn before."""
    cache = _cache_base() / "site-charts"
    out, todo = {}, {}
    for key, spec in specs.items():
        digest = hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[
            :24
        ]
        path = cache / f"{digest}.svg"
        if path.is_file():
            out[key] = path.read_text(encoding="utf-8")
        else:
            todo[key] = (spec, path)
    if todo:
        drawn = draw.svgs_in_parallel([spec for spec, _ in todo.values()])
        for (key, (_, path)), svg in zip(todo.items(), drawn):
            out[key] = svg
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(path, svg)
            except OSError as exc:  # no writable cache: the next publish draws again
                log.debug("cannot cache a chart in %s: %s", path, exc)
    return out


# ---------------------------------------------------------------------------------------------
# One plan, prepared once for both languages


@dataclass
class Prepared:
    """A plan with everything its pages show, computed once for both languages: the tables as
    plain records grouped by indicator (pages look them up; no pandas per page)."""

    plan: object
    assessed: pd.DataFrame  # assess(), confidence and its reasons included
    found: pd.DataFrame
    changed: str
    sources: dict  # source id -> row
    targets_by: dict  # indicator id -> [target rows], as stated
    charted_targets_by: dict  # the same, recorded corrections applied (what charts draw)
    actuals_by: dict  # indicator id -> [actual rows, by year, with value_converted]
    assessed_by: dict  # indicator id -> [assessed rows]
    found_by: dict  # indicator id -> [finding rows]
    series: dict  # indicator id -> the points its chart draws
    sectors: dict  # sector id -> rows, counts, tasks, findings, monitoring of its page
    overview: list  # the overview's rows (both languages' names in each)
    monitoring: list  # every monitoring indicator's actuals
    tasks: dict  # sector id -> [tasks, each with its evidence]
    indicator_ids: set

    @property
    def plan_id(self) -> str:
        return self.plan.plan_id

    @property
    def version(self) -> str:
        return self.plan.content_hash


def _grouped(frame: pd.DataFrame, key: str = "indicator_id") -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {}
    for row in frame.to_dict("records"):
        groups.setdefault(str(row[key]), []).append({k: _plain(v) for k, v in row.items()})
    return groups


def prepare(plan) -> Prepared:
    check_id(plan.plan_id, "plan")
    for sector in plan.sector_ids():
        check_id(sector, "sector", plan.plan_id)
        if sector in RESERVED:
            raise DataError(
                f"sector id {sector!r} in plan {plan.plan_id} is a name the site uses itself "
                f"({', '.join(RESERVED)}); rename the sector"
            )
    for indicator in plan.indicators["indicator_id"]:
        check_id(indicator, "indicator", plan.plan_id)
    found = findings(plan).reset_index(drop=True)
    assessed = assess(plan, found=found).reset_index(drop=True)
    actuals = comparable_actuals(plan, plan.indicators.set_index("indicator_id")["unit"])
    actuals = actuals.drop(columns=["_ind"]).sort_values("year", kind="stable")
    sources = {str(r["source_id"]): r for r in plan.sources.to_dict("records")}
    found_by = _grouped(found)
    for rows in found_by.values():
        for r in rows:
            r["year"] = None if missing(r["year"]) else int(r["year"])
    evidence_by = _grouped(plan.evidence, "task_id")
    tasks = {}
    for task in plan.tasks.to_dict("records"):
        task = {k: _plain(v) for k, v in task.items()}
        task["evidence"] = evidence_by.get(str(task["task_id"]), [])
        tasks.setdefault(str(task["sector"]), []).append(task)
    p = Prepared(
        plan,
        assessed,
        found,
        data_changed(plan.path),
        sources,
        _grouped(plan.targets),
        _grouped(corrected(plan).targets),
        _grouped(actuals),
        _grouped(assessed),
        found_by,
        {},
        {},
        [],
        [],
        tasks,
        set(plan.indicators["indicator_id"]),
    )
    p.series = {iid: chart_series(p, iid) for iid in plan.indicators["indicator_id"]}
    p.overview = overview_rows(p)
    monitoring = plan.indicators[plan.indicators["kind"] == "monitoring"]
    p.monitoring = [
        dict(
            indicator_id=r["indicator_id"],
            name_zh=r["name_zh"],
            name_en=r["name_en"],
            sector=r["sector"],
            year=int(a["year"]),
            stated=_stated(a["value"], a["unit"], a["stated"]),
            source=a["source"],
            quote=a["quote"],
        )
        for r in monitoring.to_dict("records")
        for a in p.actuals_by.get(r["indicator_id"], [])
    ]
    for sector in plan.sector_ids():
        # the sector report's own data preparation, once for both languages
        report = SectorReport.from_tables(plan, sector, "zh", assessed, found)
        p.sectors[sector] = dict(
            rows=[row for row in p.overview if row["sector"] == sector],
            counts=_counts(report.assessed),
            tasks=tasks.get(sector, []),
            monitoring=[m for m in p.monitoring if m["sector"] == sector],
            findings=[r for rows in found_by.values() for r in rows if r["sector"] == sector],
        )
    return p


def _source_name(p: Prepared, source_id, lang: str) -> str:
    row = p.sources.get(str(source_id))
    if row is None:
        return text(source_id)
    return text(row.get(f"title_{lang}")) or text(row.get("title_zh")) or text(source_id)


def _stated(value, unit, stated) -> str:
    if text(stated):
        return text(stated)
    if missing(value):
        return ""
    return f"{float(value):,.10g}{text(unit)}"


def _latest(actuals: pd.DataFrame) -> dict:
    """Each indicator's latest actual: {indicator_id: (year, stated)}."""
    if actuals.empty:
        return {}
    ordered = actuals.sort_values("year", kind="stable")
    last = ordered.drop_duplicates("indicator_id", keep="last")
    return {
        str(r.indicator_id): (int(r.year), _stated(r.value, r.unit, r.stated))
        for r in last.itertuples(index=False)
    }


def overview_rows(p: Prepared) -> list[dict]:
    """One row per target, for the overview and the sector pages (names in both languages)."""
    latest = _latest(p.plan.actuals)
    rows = []
    for r in p.assessed.to_dict("records"):
        r = {k: _plain(v) for k, v in r.items()}
        last = latest.get(str(r["indicator_id"]))
        actual_year = None if r["actual_year"] is None else int(r["actual_year"])
        rate = r["computed_rate"]
        rows.append(
            dict(
                r,
                target=_stated(r["target_value"], r["target_unit"], r["target_stated"]),
                actual=_stated(r["actual_value"], r["actual_unit"], r["actual_stated"]),
                actual_year=actual_year,
                latest=last if last and (actual_year is None or last[0] > actual_year) else None,
                bar=None
                if rate is None
                else min(float(rate), 150.0) / 1.5,  # 150% fills the bar; 100% at 2/3
            )
        )
    names = {lang: p.plan.sector_names(lang) for lang in LANGUAGES}
    for r in rows:
        r["search"] = " ".join(
            str(x)
            for x in (
                r["indicator_id"],
                r["name_zh"],
                r["name_en"],
                names["zh"].get(r["sector"], ""),
                names["en"].get(r["sector"], ""),
            )
        ).lower()
    return rows


def overview_csv(p: Prepared) -> str:
    columns = [
        "indicator_id",
        "sector",
        "name_zh",
        "name_en",
        "target_year",
        "comparator",
        "target_stated",
        "target_value",
        "target_value_high",
        "target_unit",
        "target_source",
        "actual_year",
        "actual_stated",
        "actual_value",
        "actual_unit",
        "actual_source",
        "computed_rate",
        "reported_rate",
        "status",
        "trajectory_status",
        "confidence",
        "target_quote",
        "actual_quote",
    ]
    frame = p.assessed[columns].copy()
    frame.insert(0, "data_version", p.version)
    return spreadsheet_safe(frame).to_csv(index=False)


TIDY_COLUMNS = [
    "year",
    "comparator",
    "value",
    "value_high",
    "unit",
    "stated",
    "reported_rate",
    "name_as_stated",
    "source",
    "locator",
    "quote",
]


def indicator_csvs(p: Prepared) -> dict[str, str]:
    """Each indicator's targets and actuals as one tidy table (values and units as stated), CSV
    made safe for spreadsheets: {indicator id: csv text}."""
    targets = p.plan.targets.rename(columns={"target_year": "year"}).assign(kind="target")
    actuals = p.plan.actuals.assign(kind="actual")
    columns = ["indicator_id", "kind"] + TIDY_COLUMNS
    frame = pd.concat(
        [targets.reindex(columns=columns), actuals.reindex(columns=columns)], ignore_index=True
    )
    frame["indicator_id"] = frame["indicator_id"].astype(str)
    frame.insert(0, "data_version", p.version)
    return _csv_by(spreadsheet_safe(frame), "indicator_id")


def _csv_by(frame: pd.DataFrame, key: str) -> dict[str, str]:
    """{value of `key`: the CSV of its rows, with the header}, as frame.to_csv writes each group,
    in one pass: a to_csv call per indicator cost most of the site's download time."""
    import csv
    import io

    cells = frame.astype(object).where(frame.notna(), "")  # missing values as empty cells
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow(frame.columns)
    buffers: dict[str, io.StringIO] = {}
    writers: dict[str, object] = {}
    column = list(frame.columns).index(key)
    for row in cells.itertuples(index=False, name=None):
        group = str(row[column])
        if group not in writers:
            buffers[group] = io.StringIO(header.getvalue())
            buffers[group].seek(0, io.SEEK_END)
            writers[group] = csv.writer(buffers[group], lineterminator="\n")
        writers[group].writerow(row)
    return {group: buffer.getvalue() for group, buffer in buffers.items()}


def indicator_json(p: Prepared, indicator: dict) -> str:
    iid = indicator["indicator_id"]
    assessed = p.assessed_by.get(iid, [])
    document = {
        "plan_id": p.plan_id,
        "data_version": p.version,
        "data_changed": p.changed,
        "indicator": {k: _plain(v) for k, v in indicator.items()},
        "targets": p.targets_by.get(iid, []),
        "actuals": [
            {k: v for k, v in r.items() if k != "convert_note" or v}
            for r in p.actuals_by.get(iid, [])
        ],
        "assessment": assessed,
        "findings": p.found_by.get(iid, []),
    }
    return json.dumps(document, ensure_ascii=False, indent=1, default=str)


def chart_series(p: Prepared, indicator_id: str) -> list[dict]:
    """The points one indicator's chart draws, in the indicator's unit: actuals (corrections
    applied, as assess judges them), targets and the
    path each target required (from the trajectory's base year, growing at a constant rate; a
    straight line where values are not all positive)."""
    unit = p.plan.indicators.set_index("indicator_id").at[indicator_id, "unit"]
    targets = p.charted_targets_by.get(indicator_id, [])
    series = [
        {
            # a figure of another definition than the indicator's is drawn apart (hollow), each
            # measure its own line: never joined to the indicator's own series
            "series": "actual" if r["own_measure"] else "other",
            "measure": text(r.get("measure")) or indicator_id,
            "year": int(r["year"]),
            "value": float(r["value_converted"]),
            "stated": text(r["stated"]),
            "source": text(r["source"]),
            # drawn at the value assess uses; the stated value differs
            "corrected": not missing(r["correction_id"]),
        }
        for r in p.actuals_by.get(indicator_id, [])
        if not missing(r["value_converted"])
    ]
    factors = pair_factors([r["unit"] for r in targets], [unit] * len(targets)) if targets else []
    seen = set()
    for r, factor in zip(targets, factors):
        if missing(r["value"]) or missing(factor):
            continue
        point = (int(r["target_year"]), float(r["value"]) * factor)
        if point not in seen:
            seen.add(point)
            series.append(
                {
                    "series": "target",
                    "year": point[0],
                    "value": point[1],
                    "stated": text(r["stated"]),
                    "source": text(r["source"]),
                    "corrected": not missing(r.get("correction_id")),
                }
            )
    by_year = {}
    for point in series:
        if point["series"] in ("actual", "other"):
            by_year.setdefault(point["year"], point["value"])
    for _, path in required_paths(p.assessed_by.get(indicator_id, []), by_year, unit):
        series.extend(
            {"series": "path", "year": year, "value": round(value, 6), "stated": "", "source": ""}
            for year, value in path.items()
        )
    return series


# ---------------------------------------------------------------------------------------------
# Pages


class Page:
    """One HTML page: where it lives and what it shows; links are made relative to it."""

    def __init__(
        self,
        path: str,
        lang: str,
        template: str,
        title: str,
        crumbs: list,
        plan: Prepared | None = None,
        other_path: str | None = None,
        **context,
    ):
        self.path, self.lang, self.template, self.title = path, lang, template, title
        self.crumbs, self.plan, self.context = crumbs, plan, context
        self.other = OTHER[lang]
        self.other_path = other_path or swap_lang(path, lang)

    def href(self, target: str) -> str:
        """A relative link to a site path: always names a file, never leaves the site."""
        if (
            target.endswith("/")
            or target.startswith(("/", ".."))
            or "://" in target
            or "\\" in target
        ):
            raise ValueError(f"not a site file: {target!r}")
        return posixpath.relpath(target, posixpath.dirname(self.path) or ".")

    def render(self) -> str:
        lang = self.lang

        def tt(key, **fields):
            return mark_lang(t(key, lang, **fields), lang)

        def m(value, in_lang=None):
            return mark_lang(value, in_lang or lang)

        return render(
            f"site/{self.template}",
            lang=lang,
            other=self.other,
            other_path=self.other_path,
            page_path=self.path,
            title=self.title,
            crumbs=self.crumbs,
            p=self.plan,
            href=self.href,
            tt=tt,
            m=m,
            unit=lambda u: unit_name(u, lang),
            source_name=lambda s: _source_name(self.plan, s, lang),
            **self.context,
        )


def swap_lang(path: str, lang: str) -> str:
    if path == "index.html":
        return f"{OTHER[lang]}/index.html"
    head, rest = path.split("/", 1)
    assert head == lang, path
    return f"{OTHER[lang]}/{rest}"


def plan_pages(p: Prepared, lang: str) -> list[Page]:
    plan, pid = p.plan, p.plan_id
    base = f"{lang}/{pid}"
    home = [(t("site.home", lang), f"{lang}/index.html"), (plan.title(lang), f"{base}/index.html")]
    sector_names = plan.sector_names(lang)
    sectors = [
        dict(
            id=s,
            name=sector_names.get(s, s),
            path=f"{base}/{s}/index.html",
            count=len(p.sectors[s]["rows"]),
        )
        for s in plan.sector_ids()
    ]
    pages = [
        Page(
            f"{base}/index.html",
            lang,
            "overview.html.j2",
            plan.title(lang),
            home[:2],
            p,
            rows=p.overview,
            sectors=sectors,
            sector_names=sector_names,
            statuses=[s for s in style.LEVEL_STATUSES if (p.assessed["status"] == s).any()],
            trajectory_statuses=[s for s in style.STATUS_STYLE if s not in style.LEVEL_STATUSES],
            monitoring=p.monitoring,
            downloads=_plan_downloads(pid),
        )
    ]
    for s in sectors:
        data = p.sectors[s["id"]]
        pages.append(
            Page(
                s["path"],
                lang,
                "sector.html.j2",
                s["name"],
                home + [(s["name"], s["path"])],
                p,
                sector=s,
                rows=data["rows"],
                counts=data["counts"],
                tasks=data["tasks"],
                findings=data["findings"],
                monitoring=data["monitoring"],
            )
        )
    for r in plan.indicators.to_dict("records"):
        path = f"{base}/indicator/{r['indicator_id']}/index.html"
        sector = r["sector"]
        crumbs = home + [
            (sector_names.get(sector, sector), f"{base}/{sector}/index.html"),
            (r[f"name_{lang}"], path),
        ]
        pages.append(
            Page(
                path,
                lang,
                "indicator.html.j2",
                r[f"name_{lang}"],
                crumbs,
                p,
                **_indicator_context(p, r, lang),
            )
        )
    pages.append(
        Page(
            f"{base}/findings/index.html",
            lang,
            "findings.html.j2",
            t("findings", lang),
            home + [(t("findings", lang), f"{base}/findings/index.html")],
            p,
            findings=[r for rows in p.found_by.values() for r in rows],
        )
    )
    pages.append(
        Page(
            f"{base}/tasks/index.html",
            lang,
            "tasks.html.j2",
            t("tasks_heading", lang),
            home + [(t("tasks_heading", lang), f"{base}/tasks/index.html")],
            p,
            sectors=[
                dict(id=s["id"], name=s["name"], tasks=p.tasks[s["id"]])
                for s in sectors
                if s["id"] in p.tasks
            ],
        )
    )
    return pages


def _counts(assessed: pd.DataFrame) -> list[tuple[str, int]]:
    counts = assessed["status"].value_counts()
    return [(s, int(counts[s])) for s in style.LEVEL_STATUSES if counts.get(s, 0)]


def _plan_downloads(pid: str) -> dict:
    return {
        "package": f"downloads/{pid}/{pid}-datapackage.zip",
        "overview": f"downloads/{pid}/{pid}-overview.csv",
    }


def _indicator_context(p: Prepared, indicator: dict, lang: str) -> dict:
    iid, pid = indicator["indicator_id"], p.plan_id
    series = p.series[iid]
    order = ["actual", "other", "target", "path"]
    return dict(
        indicator=indicator,
        sector_name=p.plan.sector_name(indicator["sector"], lang),
        sector_path=f"{lang}/{pid}/{indicator['sector']}/index.html",
        targets=p.targets_by.get(iid, []),
        actuals=p.actuals_by.get(iid, []),
        assessed=p.assessed_by.get(iid, []),
        findings=p.found_by.get(iid, []),
        chart=f"downloads/{pid}/indicator/{iid}.svg" if series else None,
        chart_rows=sorted(series, key=lambda s: (s["year"], order.index(s["series"]))),
        has_path=any(s["series"] == "path" for s in series),
        has_other=any(s["series"] == "other" for s in series),
        downloads={
            "csv": f"downloads/{pid}/indicator/{iid}.csv",
            "json": f"downloads/{pid}/indicator/{iid}.json",
        },
    )


# ---------------------------------------------------------------------------------------------
# Building and swapping the site


def _write(root: Path, path: str, content: str | bytes) -> None:
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        target.write_bytes(content)
    else:
        target.write_text(content, encoding="utf-8")


def package_zip(plan) -> bytes:
    """The plan's data package as a zip: datapackage.json at the top, every resource beside it."""
    import io

    descriptor = json.loads((plan.path / "datapackage.json").read_text(encoding="utf-8"))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(plan.path / "datapackage.json", "datapackage.json")
        for resource in descriptor["resources"]:
            archive.write(plan.path / resource["path"], resource["path"])
    return buffer.getvalue()


def _read_manifest(out: Path) -> dict:
    try:
        return json.loads((out / "site.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def build(root: Path, prepared: list[Prepared], kept: dict) -> dict:
    """Write the whole site into `root` (an empty folder). `kept`: plans carried over from the
    previous site unchanged (plan id -> their site.json entry)."""
    specs = {
        (p.plan_id, iid): indicator_chart_spec(series)
        for p in prepared
        for iid, series in p.series.items()
        if series
    }
    svgs = render_svgs(specs)

    entries = dict(kept)
    for p in prepared:
        entries[p.plan_id] = {
            "title_zh": p.plan.title("zh"),
            "title_en": p.plan.title("en"),
            "data_version": p.version,
            "data_changed": p.changed,
            "issuer_zh": p.plan.issuer,
            "issuer_en": p.plan.issuer_en,
            "issued": p.plan.issued,
        }
    plans = [dict(id=pid, **entry) for pid, entry in sorted(entries.items())]

    pages = [
        Page(
            "index.html",
            "zh",
            "home.html.j2",
            t("site.title", "zh"),
            [(t("site.home", "zh"), "index.html")],
            other_path="en/index.html",
            plans=plans,
        )
    ]
    for lang in LANGUAGES:
        pages.append(
            Page(
                f"{lang}/index.html",
                lang,
                "plans.html.j2",
                t("site.title", lang),
                [(t("site.home", lang), f"{lang}/index.html")],
                plans=plans,
            )
        )
        for p in prepared:
            pages.extend(plan_pages(p, lang))
    for page in pages:
        _write(root, page.path, page.render())

    _write(root, "assets/plantrack.css", stylesheet())
    _write(root, "assets/site.js", SCRIPT.read_text(encoding="utf-8"))
    for p in prepared:
        pid = p.plan_id
        downloads = _plan_downloads(pid)
        _write(root, downloads["package"], package_zip(p.plan))
        _write(
            root, downloads["overview"], overview_csv(p).encode("utf-8-sig")
        )  # BOM: spreadsheets read UTF-8
        csvs = indicator_csvs(p)
        empty = spreadsheet_safe(
            pd.DataFrame(columns=["data_version", "indicator_id", "kind"] + TIDY_COLUMNS)
        ).to_csv(index=False)
        for indicator in p.plan.indicators.to_dict("records"):
            iid = indicator["indicator_id"]
            _write(
                root,
                f"downloads/{pid}/indicator/{iid}.csv",
                csvs.get(iid, empty).encode("utf-8-sig"),
            )
            _write(root, f"downloads/{pid}/indicator/{iid}.json", indicator_json(p, indicator))
            if (pid, iid) in svgs:
                _write(root, f"downloads/{pid}/indicator/{iid}.svg", svgs[(pid, iid)])
    manifest = {
        "published": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "plans": entries,
        "pages": len(pages),
    }
    _write(root, "site.json", json.dumps(manifest, ensure_ascii=False, indent=1))
    return manifest


def publish(plan_ids: list[str] | None = None, out: str | os.PathLike | None = None) -> dict:
    """Build the static site for the named plans (default: every plan) into `out` (default
    outputs/site). Plans not named keep the pages they had. Returns the site manifest."""
    out = Path(out) if out else default_out()
    if out.exists() and not out.is_dir():
        raise DataError("the site's folder is a file", file=str(out))
    if out.is_dir() and any(out.iterdir()) and not (out / "site.json").is_file():
        raise DataError(
            "the folder exists and is not a plantrack site (no site.json): choose another --out "
            "or remove it",
            file=str(out),
        )
    every = list_plans()
    named = list(dict.fromkeys(plan_ids or every))
    prepared = [prepare(load_plan(plan_id)) for plan_id in named]
    old = _read_manifest(out).get("plans", {}) if out.is_dir() else {}
    kept = {
        pid: entry
        for pid, entry in old.items()
        if plan_ids and pid not in named and pid in every and is_id(pid)
    }

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.new-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        for pid in kept:
            for part in (*(f"{lang}/{pid}" for lang in LANGUAGES), f"downloads/{pid}"):
                if (out / part).is_dir():
                    shutil.copytree(out / part, staging / part)
        manifest = build(staging, prepared, kept)
        _swap(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def _swap(staging: Path, out: Path) -> None:
    """Put the new site in place of the old: two renames (no copying), then remove the old."""
    retired = out.parent / f".{out.name}.old-{os.getpid()}"
    if out.exists():
        os.replace(out, retired)
    os.replace(staging, out)
    shutil.rmtree(retired, ignore_errors=True)
