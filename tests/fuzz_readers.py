"""Property-based fuzzing of every reader of user files (shared by tests/test_fuzz.py and benchmarks/fuzz.py).

The property, for any input: the reader either accepts it or raises DataError with a short,
one-line message, and a rejection changes no file. Anything else (a traceback) is a bug.

Readers: an ingest sheet (.csv, .xlsx) through ingest.prepare, and for a share of inputs the
whole `ingest` door (lock, plan, checks) with the plan folder compared before and after; a
params YAML through runner.plan_jobs (read_params + every run-time check); a data package
through load_plan (its descriptor, or one of its CSVs, replaced by the generated text).
"""

from __future__ import annotations

import collections
import csv
import hashlib
import io
import json
import shutil
import traceback
import zipfile
from pathlib import Path

import plantrack
from hypothesis import strategies as st
from plantrack.batch import runner
from plantrack.data import ingest as ingest_module
from plantrack.data.package import load_plan

ROOT = Path(__file__).resolve().parents[1]
PLANS = ROOT / "data" / "plans"
MAIN_PLAN = "zhejiang-internet-plus-2016"
SMALL_PLAN = "zhejiang-information-economy-2014"
COLUMNS = ingest_module.REQUIRED + ingest_module.OPTIONAL

# Text a careless or hostile user puts in a cell.
HOSTILE = [
    "=1+1",
    "+1",
    "-1",
    "@SUM(A1)",
    '=HYPERLINK("http://x")',
    "\t2018",
    "\r\n",
    "２０１８",
    "２０１８年",
    "１２３４",
    "－５",
    "١٢٣",
    "٢٠١٩",
    "\x00",
    "a\x00b",
    "\x1b[2J",
    "\x07",
    "\u202e",
    "\ufeff",
    "1,234",
    "1.2万",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "-0",
    "1e308",
    "1e309",
    "9" * 400,
    "",
    " ",
    '"',
    "'",
    ",",
    "\n",
    ";",
    "2019年",
    "130%",
    "１４０％",
    "-5",
    "-369",
    "0",
    "1949",
    "1800",
    "2300",
    "99999",
    "20.5",
    "🙂" * 10,
    "众创空间",
    "家",
    "万亿元",
    "亿美元",
    "%",
    "位",
    "evaluation-2018",
    "new-source",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "x" * 5000,
    "stated",
    "section",
    "report",
]
VALID = {
    "indicator": [
        "online_sales",
        "maker_spaces",
        "众创空间服务平台",
        "Online sales in the province",
    ],
    "year": ["2016", "2017", "2018", "2019", "2019年"],
    "value": ["420", "2.0", "1.3", "100"],
    "unit": ["家", "万亿元", "亿元", "%"],
    "source": ["evaluation-2018", "bulletin-2019"],
    "quote": ["众创空间420家", "2019年网络零售额2.0万亿元", "数值1.3与100"],
    "stated": ["420", "2.0", ""],
    "reported_rate": ["", "98", "98%"],
    "year_basis": ["stated", "report", ""],
    "source_title": ["公报"],
    "source_file": ["b.txt"],
}

unicode_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
hostile_cell = st.one_of(
    st.sampled_from(HOSTILE),
    unicode_text,
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)


@st.composite
def header(draw):
    columns = list(ingest_module.REQUIRED)
    if draw(st.booleans()):
        columns = list(COLUMNS)
    if draw(st.integers(0, 19)) == 0:
        columns.remove(draw(st.sampled_from(columns)))  # a missing column
    if draw(st.integers(0, 19)) == 0:
        columns.append(
            draw(st.one_of(st.sampled_from(HOSTILE), unicode_text))
        )  # an unknown or odd one
    if draw(st.integers(0, 19)) == 0 and columns:
        columns.append(columns[0])  # a duplicate
    return draw(st.permutations(columns))


# Rows the plan accepts (none of them is already in actuals.csv): the fuzzing starts from these and
# breaks a cell or two, so that it reaches every check, not only the first.
VALID_ROWS = [
    dict(
        indicator="maker_spaces",
        year="2019",
        value="420",
        unit="家",
        source="evaluation-2018",
        quote="众创空间420家",
    ),
    dict(
        indicator="众创空间服务平台",
        year="2019年",
        value="４２０",
        unit="家",
        source="evaluation-2018",
        quote="众创空间４２０家",
        reported_rate="140%",
    ),
    dict(
        indicator="online_sales",
        year="2019",
        value="2.0",
        unit="万亿元",
        source="bulletin-2019",
        quote="2019年网络零售额2.0万亿元",
        source_title="2019年统计公报",
        source_file="bulletin-2019.txt",
    ),
    dict(
        indicator="online_sales",
        year="2020",
        value="20000",
        unit="亿元",
        source="evaluation-2018",
        quote="网络零售额达20000亿元",
        stated="20000",
        year_basis="report",
    ),
]


@st.composite
def sheet_rows(draw):
    """A header and rows of cells: mostly rows the plan accepts, some cells hostile."""
    columns = draw(header())
    rows = []
    bases = draw(st.permutations(VALID_ROWS))
    for base in bases[: draw(st.integers(0, len(bases)))]:
        row = [base.get(column, "") for column in columns]
        for _ in range(draw(st.sampled_from([0, 0, 0, 1, 1, 2]))):
            row[draw(st.integers(0, len(row) - 1))] = draw(hostile_cell)
        rows.append(row)
    return columns, rows


@st.composite
def csv_bytes(draw):
    kind = draw(st.integers(0, 19))
    if kind == 0:
        return draw(st.binary(max_size=3000))  # anything at all
    columns, rows = draw(sheet_rows())
    out = io.StringIO()
    if kind == 1:  # hand-joined: ragged, bad quoting
        sep = draw(st.sampled_from([",", ";", "\t", ",,", '"']))
        out.write("\n".join(sep.join(map(str, r)) for r in [columns, *rows]))
    else:
        csv.writer(out, lineterminator=draw(st.sampled_from(["\n", "\r\n", "\r"]))).writerows(
            [columns, *rows]
        )
    encoding = draw(st.sampled_from(["utf-8"] * 8 + ["utf-8-sig", "gb18030", "utf-16"]))
    return out.getvalue().encode(encoding, errors="replace")


def _workbook(columns, rows) -> bytes:
    import openpyxl
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    book = openpyxl.Workbook()
    sheet = book.active
    for row in [columns, *rows]:
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@st.composite
def xlsx_bytes(draw):
    kind = draw(st.integers(0, 14))
    if kind == 0:
        return draw(st.binary(max_size=3000))
    columns, rows = draw(sheet_rows())
    if kind == 1:  # numbers as numbers, not text
        rows = [
            [
                draw(
                    st.one_of(
                        st.none(),
                        st.integers(-(10**6), 10**6),
                        st.floats(allow_nan=False, allow_infinity=False),
                        st.just(c),
                    )
                )
                for c in row
            ]
            for row in rows
        ]
    data = _workbook(columns, rows)
    # Positions are drawn in a fixed range, then taken modulo the length: openpyxl stamps the time
    # into the file, so its length varies, and Hypothesis needs the same draws for the same example.
    if kind == 2:  # damaged bytes
        data = bytearray(data)
        for _ in range(draw(st.integers(1, 20))):
            data[draw(st.integers(0, 10**6)) % len(data)] = draw(st.integers(0, 255))
        return bytes(data)
    if kind == 3:  # truncated
        return data[: draw(st.integers(0, 10**6)) % (len(data) + 1)]
    if kind == 4:  # an extra part that inflates a lot, or many parts
        out = io.BytesIO(data)
        with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as archive:
            size = draw(st.sampled_from([10, 2 * 1024 * 1024, 110 * 1024 * 1024]))
            if size > 50 * 1024 * 1024:
                with archive.open("xl/media/blob.bin", "w", force_zip64=True) as handle:
                    for _ in range(size // (1024 * 1024)):
                        handle.write(b"\0" * 1024 * 1024)
            else:
                archive.writestr("xl/media/blob.bin", b"\0" * size)
        return out.getvalue()
    return data


@st.composite
def yaml_text(draw):
    from yaml import safe_dump

    kind = draw(st.integers(0, 7))
    scalar = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**9), 10**9),
        st.sampled_from(HOSTILE),
        unicode_text,
    )
    if kind == 0:
        return draw(unicode_text)
    if kind == 1:  # aliases, anchors and merges
        return draw(
            st.sampled_from(
                [
                    "a: &a [x, x]\nb: &b [*a, *a]\nsector: commerce\n",
                    "sector: &s commerce\nlang: *s\n",
                    "base: &b {sector: commerce}\n<<: *b\n",
                    "sector: !!python/object:os.system x\n",
                    "sector: commerce\n---\nsector: finance\n",
                    "? [a, b]\n: c\n",
                    "sector: 2018-13-45\n",
                ]
            )
        )
    if kind == 2:  # deep
        depth = draw(st.integers(1, 3000))
        return "sector: " + "[" * depth + "]" * depth + "\n"
    if kind == 3:  # duplicate keys
        key = draw(st.sampled_from(list(runner.param_types())))
        return f"sector: commerce\n{key}: x\n{key}: y\n"
    nested = st.recursive(
        scalar,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.dictionaries(st.sampled_from(["a", "b", "sector"]), inner, max_size=3),
        ),
        max_leaves=8,
    )

    def mostly(valid, other):
        return st.one_of(st.sampled_from(valid), st.sampled_from(valid), other)

    params = draw(
        st.fixed_dictionaries(
            {
                "sector": mostly(
                    ["commerce"],
                    st.one_of(st.sampled_from(["finance", "../commerce", "COMMERCE", ""]), scalar),
                ),
            },
            optional={
                "plan_id": mostly(
                    [MAIN_PLAN],
                    st.one_of(st.sampled_from([SMALL_PLAN, "mars-plan", "../x", ""]), scalar),
                ),
                "lang": mostly(["zh", "en"], st.one_of(st.just("fr"), scalar)),
                "as_of": mostly([None, 2018], st.one_of(st.sampled_from([1800, 3000]), scalar)),
            },
        )
    )
    if draw(st.integers(0, 4)) == 0:
        params[draw(st.sampled_from(["extra", "sector", "lang"]))] = draw(nested)
    return safe_dump(params, allow_unicode=draw(st.booleans()))


@st.composite
def package_input(draw):
    """(file name, bytes) to put into a copy of a plan's package: a descriptor or one table."""
    source = PLANS / SMALL_PLAN
    if draw(st.booleans()):
        descriptor = json.loads((source / "datapackage.json").read_text(encoding="utf-8"))
        kind = draw(st.integers(0, 4))
        if kind == 0:
            return "datapackage.json", draw(st.binary(max_size=500))
        if kind == 1:
            return "datapackage.json", json.dumps(
                draw(
                    st.recursive(
                        st.one_of(st.none(), st.integers(), unicode_text),
                        lambda inner: st.one_of(
                            st.lists(inner, max_size=3),
                            st.dictionaries(unicode_text, inner, max_size=3),
                        ),
                        max_leaves=10,
                    )
                )
            ).encode()
        resource = draw(st.integers(0, len(descriptor["resources"]) - 1))
        field = draw(st.sampled_from(["path", "name", "schema"]))
        descriptor["resources"][resource][field] = draw(
            st.one_of(
                st.sampled_from(
                    [
                        "../../../etc/passwd",
                        "/etc/passwd",
                        "http://example.com/x.csv",
                        "x.csv",
                        "",
                        None,
                        3,
                        [],
                        {"fields": "x"},
                        {"fields": [1, 2]},
                    ]
                ),
                unicode_text,
            )
        )
        if kind == 2:
            descriptor["plantrack"] = draw(st.one_of(st.none(), st.integers(), unicode_text))
        return "datapackage.json", json.dumps(descriptor).encode()
    name = draw(
        st.sampled_from(
            ["targets.csv", "actuals.csv", "indicators.csv", "sources.csv", "rates.csv"]
        )
    )
    lines = (source / name).read_text(encoding="utf-8").splitlines()
    rows = list(csv.reader(lines))
    if len(rows) > 1 and draw(st.booleans()):
        r = draw(st.integers(1, len(rows) - 1))
        c = draw(st.integers(0, len(rows[r]) - 1))
        rows[r][c] = draw(hostile_cell)
    else:
        rows.append([draw(hostile_cell) for _ in range(draw(st.integers(0, len(rows[0]) + 2)))])
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return name, out.getvalue().encode("utf-8")


def snapshot(*folders: Path) -> dict:
    found = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")) if folder.is_dir() else ():
            if path.is_file():
                found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


class Harness:
    """Counts what happened to every input; in strict mode (pytest) a traceback fails at once."""

    def __init__(self, workdir: Path, strict: bool, full_ingest_every: int = 10):
        self.workdir, self.strict, self.full_ingest_every = Path(workdir), strict, full_ingest_every
        self.plan_dir = self.workdir / "plans" / MAIN_PLAN
        shutil.copytree(PLANS / MAIN_PLAN, self.plan_dir)
        self.plan = load_plan(self.plan_dir)
        self.package = self.workdir / "package" / SMALL_PLAN
        shutil.copytree(PLANS / SMALL_PLAN, self.package)
        self.params = self.workdir / "params"
        self.params.mkdir()
        self.counts = collections.Counter()
        self.failures = []
        self.seen = 0

    def _outcome(self, reader: str, action, watch: list[Path], sample) -> None:
        self.counts["inputs"] += 1
        self.counts[f"{reader}:inputs"] += 1
        before = snapshot(*watch)
        try:
            action()
        except plantrack.DataError as exc:
            text = str(exc)
            self.counts["rejected"] += 1
            self.counts[f"{reader}:rejected"] += 1
            if len(text) > 700 or "\n" in text:
                self._fail(
                    reader,
                    sample,
                    f"long or multi-line message ({len(text)} chars): {text[:200]!r}",
                )
            if snapshot(*watch) != before:
                self.counts["files_changed"] += 1
                self._fail(reader, sample, "a rejected input changed files")
            return
        except Exception:  # noqa: BLE001 - exactly what the fuzzing looks for
            self.counts["tracebacks"] += 1
            self._fail(reader, sample, traceback.format_exc(limit=-3))
            return
        self.counts["accepted"] += 1
        self.counts[f"{reader}:accepted"] += 1

    def _fail(self, reader, sample, what):
        self.failures.append((reader, repr(sample)[:300], what))
        if self.strict:
            raise AssertionError(f"{reader}: {what}\ninput: {sample!r}"[:3000])

    def sheet(self, data: bytes, suffix: str) -> None:
        path = self.workdir / f"sheet.{suffix}"
        path.write_bytes(data)
        self.seen += 1
        self._outcome(
            f"ingest-{suffix}",
            lambda: ingest_module.prepare(self.plan, path),
            [self.plan_dir],
            data,
        )
        if self.seen % self.full_ingest_every == 0:
            # The whole door, as `plantrack ingest` uses it; an accepted sheet is only a dry run here.
            def door():
                try:
                    ingest_module.prepare(self.plan, path)
                except plantrack.DataError:
                    plantrack.ingest(str(self.plan_dir), path)  # rejected again, writing nothing
                    raise AssertionError("prepare rejected what ingest accepted")
                plantrack.ingest(str(self.plan_dir), path, dry_run=True)

            self._outcome(f"ingest-{suffix}-door", door, [self.plan_dir], data)

    def params_file(self, text: str) -> None:
        path = self.params / "commerce.yaml"
        path.write_text(text, encoding="utf-8")
        self._outcome(
            "params-yaml",
            lambda: runner.plan_jobs(self.plan, ["commerce"], None, self.params),
            [self.params, self.plan_dir],
            text,
        )

    def package_file(self, name: str, data: bytes) -> None:
        target = self.package / name
        original = (PLANS / SMALL_PLAN / name).read_bytes()
        target.write_bytes(data)
        try:
            self._outcome(
                "package",
                lambda: load_plan(self.package, use_cache=False),
                [self.package],
                (name, data),
            )
        finally:
            target.write_bytes(original)

    def summary(self) -> dict:
        return dict(sorted(self.counts.items()))
