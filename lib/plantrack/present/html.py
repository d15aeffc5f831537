"""HTML from Jinja2 templates (autoescaped): the sector reports, the run index, the dashboard's
HTML parts and the static site share these templates, one stylesheet and one palette."""

from __future__ import annotations

import functools
import json
import math
import re
from pathlib import Path

import jinja2
from markupsafe import Markup

from plantrack.messages import t
from plantrack.present import style

TEMPLATES = Path(__file__).with_name("templates") / "html"


def missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x)) or str(x) in ("<NA>", "nan", "NaT")


def number(x) -> str:
    """13 -> '13', 16718.8 -> '16,718.8'; empty for a missing value."""
    return "" if missing(x) else f"{float(x):,.10g}"


def rate(x) -> str:
    return "" if missing(x) else f"{float(x):.1f}%"


def value_with_unit(value, unit) -> str:
    """13 and '万亿元' -> '13万亿元'; empty when there is no value."""
    return "" if missing(value) else f"{number(value)}{'' if missing(unit) else unit}"


def text(x) -> str:
    return "" if missing(x) else str(x)


# Script runs for marking the other language's passages (lang attributes, WCAG 3.1.2): CJK
# characters with the digits and punctuation between them, and Latin words (ids, "APP", "CSV").
_CJK = "\u2e80-\u2fff\u3000-\u303f\u3040-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef"
_RUNS = {
    "en": re.compile(
        f"[“‘]?[0-9.,%+~-]*[{_CJK}](?:[{_CJK}“”‘’0-9.,%+~ \t-]*[{_CJK}])?[0-9.,%]*[”’]?"
    ),
    "zh": re.compile(r"[A-Za-z](?:[A-Za-z0-9'’&./+ -]*[A-Za-z0-9])?"),
}
_OTHER = {"en": "zh", "zh": "en"}


def mark_lang(value, lang: str) -> Markup:
    """Escaped text in which every passage of the other language is wrapped in <span lang=...>:
    on an English page Chinese runs get lang="zh", on a Chinese page Latin runs get lang="en"."""
    return _marked(text(value), lang)


@functools.lru_cache(maxsize=1 << 16)
def _marked(raw: str, lang: str) -> Markup:
    # cached: a site repeats the same labels, names and units on hundreds of pages
    escape = jinja2.utils.markupsafe.escape
    out, last = [], 0
    for match in _RUNS[lang].finditer(raw):  # runs found in the raw text, each piece escaped
        out.append(str(escape(raw[last : match.start()])))
        out.append(f'<span lang="{_OTHER[lang]}">{escape(match.group())}</span>')
        last = match.end()
    out.append(str(escape(raw[last:])))
    return Markup("".join(out))


def script_json(value) -> Markup:
    """JSON safe inside <script>: no '</script>', '<!--', '&' or line separators can end or hide it."""
    raw = json.dumps(value, ensure_ascii=False, default=str)
    for char, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        raw = raw.replace(char, escaped)
    return Markup(raw)


# Han characters and the punctuation written with them (CJK symbols, full-width forms).
_CJK_RUN = re.compile(
    r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]+"
    r"(?:[\s\d.,%()（）·\-/“”‘’+]*[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]+)*"
)


def mark_zh(x) -> Markup:
    """Escaped text whose Chinese runs sit in <span lang="zh">: an English page keeps a stated
    value or name as the source wrote it, and says which language it is in."""
    escaped = str(jinja2.utils.markupsafe.escape(text(x)))
    return Markup(_CJK_RUN.sub(lambda m: f'<span lang="zh">{m.group(0)}</span>', escaped))


def has_cjk(x) -> bool:
    return bool(_CJK_RUN.search(text(x)))


def unit_name(unit, lang: str) -> str:
    """A unit as stated (万亿元), in the reader's language (trillion yuan); as stated when unknown."""
    if missing(unit):
        return ""
    return t(f"unit.{unit}", lang) if t(f"unit.{unit}", lang) != f"unit.{unit}" else str(unit)


def statement(comparator, value, value_high, unit, lang: str) -> str:
    """A target in words built from its fields: '≥ 3,000 organisations', 'between 2 and 3 %'.
    The Chinese page shows the source's own words instead (see the `stated` column)."""
    if missing(value):
        return ""
    amount = (
        number(value)
        if comparator != "range" or missing(value_high)
        else f"{number(value)}–{number(value_high)}"
    )
    word = t(f"cmp.{comparator}", lang) if not missing(comparator) else ""
    word = "" if word.startswith("cmp.") or comparator == "=" else word
    name = unit_name(unit, lang)
    return " ".join(
        part
        for part in (word, amount + ("" if name == "%" else " ") + name if name else amount)
        if part
    )


def value_words(value, unit, lang: str) -> str:
    """A stated value with its unit in the reader's language: '16718.8亿元' in Chinese,
    '16,718.8 hundred million yuan' in English; empty when there is no value."""
    if lang == "zh":
        return value_with_unit(value, unit)
    if missing(value):
        return ""
    name = unit_name(unit, lang)
    return f"{number(value)}{'' if name in ('%', '') else ' '}{name}"


def target_words(row, lang: str) -> str:
    """An assessed target in the reader's language: as the source states it (Chinese), or
    built from its fields (statement) in English. row: an assess() row (attributes or keys)."""
    get = row.get if isinstance(row, dict) else lambda k: getattr(row, k)
    if lang == "zh":
        return text(get("target_stated"))
    return statement(
        get("comparator"), get("target_value"), get("target_value_high"), get("target_unit"), lang
    )


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=lambda name: bool(name) and name.endswith(".html.j2"),  # CSS is ours
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # Compiled templates kept between processes (each dashboard reader's kernel compiled the
        # same dozen templates: a third of a second): Jinja's own per-user directory (mode 0700,
        # owner checked), keyed by each template's source.
        bytecode_cache=jinja2.FileSystemBytecodeCache(),
    )
    env.globals.update(t=t, style=style, colour=style.colour, symbol=style.symbol)
    env.filters.update(
        number=number, rate=rate, text=text, script_json=script_json, mark_zh=mark_zh
    )
    env.globals["value_with_unit"] = value_with_unit
    env.globals["missing"] = missing
    env.filters["mark_lang"] = mark_lang
    env.globals.update(unit_name=unit_name, statement=statement, has_cjk=has_cjk)
    return env


def render(template: str, **context) -> str:
    return environment().get_template(template).render(**context)


def stylesheet() -> str:
    return render("plantrack.css.j2")
