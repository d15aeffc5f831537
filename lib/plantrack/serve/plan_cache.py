"""What every reader's kernel would compute alike, computed once per plan version and kept as JSON:
the dashboard's chart specs and the plan's judged tables (assess, findings, each row's words).

Both depend only on the plan's files and on the code, so they are cached under the plantrack
cache directory (data/package.py: _cache_base), keyed by the plan's content hash and a hash of
the code (every source file of the package, and the Altair version): any change of the data or of
the code gives new files, never a stale chart or table.

Building them needs Altair (present/charts.py: about 30 MiB and a second of import per kernel)
and pint (the findings' unit checks: a second more). Under Voilà what is missing from the cache
is therefore built in a forked copy of the reader's kernel (serve/kernel.py: in_fork), which
writes the file and exits; the reader's kernel only reads JSON. Elsewhere (JupyterLab, tests, the
command line) it is built in-process, and written for the next reader.

Tables are JSON with their dtypes (see `frames_to_json`); a table whose round trip would not give
it back exactly (a dtype the format does not cover) or that is large (MAX_CACHED_ROWS: the
synthetic million-row plan) is not cached, and each kernel computes it as before.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from plantrack.data.package import _cache_base, write_atomic
from plantrack.serve import kernel

log = logging.getLogger(__name__)

PACKAGE = Path(__file__).resolve().parents[1]  # lib/plantrack
MAX_CACHED_ROWS = 20_000  # rows of all tables of one entry


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """A hash of the package's source files and catalogues, and of the Altair version."""
    from importlib.metadata import PackageNotFoundError, version

    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*")):
        if path.suffix in (".py", ".json", ".j2") and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(PACKAGE)).encode())
            digest.update(path.read_bytes())
    try:
        digest.update(version("altair").encode())
    except PackageNotFoundError:
        pass
    return digest.hexdigest()[:16]


def entry_path(plan_name: str, content_hash: str, name: str) -> Path:
    """Where entry `name` of this plan version lives (the file name is a hash: never a path)."""
    file = hashlib.sha256(name.encode("utf-8")).hexdigest()[:32]
    return _cache_base() / plan_name / content_hash / f"dashboard-{code_version()}" / f"{file}.json"


# ---- chart specs ---------------------------------------------------------------------------------
def spec(
    plan_name: str,
    content_hash: str,
    name: str,
    build: Callable[[], dict],
    together: dict[str, Callable[[], dict]] | None = None,
) -> dict:
    """Spec `name` of this plan version: from the cache, else built (once) by `build()`. Under
    Voilà the specs `together` names (e.g. the same chart in the other language) are built in the
    same forked copy when missing: the import of Altair is paid once for them."""
    path = entry_path(plan_name, content_hash, name)
    found = _read(path)
    if found is not None:
        return found
    if kernel.under_voila():  # Altair in a forked copy of the reader's kernel, not in it

        def build_all():
            _write(path, json.dumps(build(), ensure_ascii=False, separators=(",", ":")))
            for other, build_other in (together or {}).items():
                other_path = entry_path(plan_name, content_hash, other)
                if not other_path.is_file():
                    _write(other_path, json.dumps(build_other(), ensure_ascii=False), quiet=True)

        if kernel.in_fork(build_all):
            found = _read(path)
            if found is not None:
                return found
        kernel.kernel_log().warning("chart spec %s: the forked build failed, built here", name)
    built = build()
    _write(path, json.dumps(built, ensure_ascii=False, separators=(",", ":")), quiet=True)
    return built


# ---- tables --------------------------------------------------------------------------------------
UNCACHED = '{"uncached": true}'  # the entry of tables this format does not keep


def frames(
    plan_name: str, content_hash: str, name: str, build: Callable[[], tuple[pd.DataFrame, ...]]
) -> tuple[pd.DataFrame, ...]:
    """Tables `name` of this plan version: from the cache, else computed by `build()` (under
    Voilà in a forked copy of the kernel) and cached when they round-trip exactly. Tables that
    are not (too large, or a dtype the format does not give back) leave a note saying so, and
    every kernel computes them itself, without a forked copy."""
    path = entry_path(plan_name, content_hash, name)
    found = _read_frames(path)
    if found is not None and found != "uncached":
        return found
    if found is None and kernel.under_voila():

        def build_and_write():
            _write(path, frames_to_json(build()) or UNCACHED)

        if kernel.in_fork(build_and_write):
            found = _read_frames(path)
            if found is not None and found != "uncached":
                return found
    built = build()
    if found is None:
        _write(path, frames_to_json(built) or UNCACHED, quiet=True)
    return built


class Unsupported(ValueError):
    """A table the JSON format does not give back exactly."""


def frames_to_json(tables: tuple[pd.DataFrame, ...]) -> str | None:
    """The tables as JSON, or None when they are too large or would not come back exactly."""
    if sum(len(t) for t in tables) > MAX_CACHED_ROWS:
        return None
    try:
        text = json.dumps([_frame(t) for t in tables], ensure_ascii=False, separators=(",", ":"))
        back = frames_from_json(text)
    except (Unsupported, TypeError, ValueError):
        return None
    return text if all(same(a, b) for a, b in zip(tables, back)) else None


def frames_from_json(text: str) -> tuple[pd.DataFrame, ...]:
    return tuple(_unframe(t) for t in json.loads(text))


def same(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Same columns, index, dtypes (by name: Arrow or Python strings alike) and values."""
    if list(a.columns) != list(b.columns) or not a.index.equals(b.index):
        return False
    if [str(t) for t in a.dtypes] != [str(t) for t in b.dtypes]:
        return False
    try:
        pd.testing.assert_frame_equal(a, b, check_dtype=False, check_exact=True)
    except AssertionError:
        return False
    return True


def _frame(frame: pd.DataFrame) -> dict:
    index = frame.index
    if isinstance(index, pd.RangeIndex):
        index_json = {"range": [index.start, index.stop, index.step]}
    else:
        index_json = {"values": _column(pd.Series(index))}
    if not all(isinstance(c, str) for c in frame.columns) or frame.columns.has_duplicates:
        raise Unsupported("column names")
    return {"index": index_json, "columns": {c: _column(frame[c]) for c in frame.columns}}


def _column(series: pd.Series) -> dict:
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return {
            "dtype": "category",
            "ordered": bool(dtype.ordered),
            "categories": _column(pd.Series(dtype.categories)),
            "codes": series.cat.codes.tolist(),
        }
    name = str(dtype)
    if name in ("float64", "int64", "bool"):
        values = series.tolist()
    elif name in ("Int64", "boolean", "string", "str", "object"):
        values = [None if v is pd.NA else v for v in series.tolist()]
        if name == "str":
            values = [None if isinstance(v, float) and math.isnan(v) else v for v in values]
    else:
        raise Unsupported(name)
    return {"dtype": name, "values": values}


def _uncolumn(column: dict) -> pd.api.extensions.ExtensionArray | list:
    if column["dtype"] == "category":
        categories = pd.Index(_uncolumn(column["categories"]))
        return pd.Categorical.from_codes(
            column["codes"], categories=categories, ordered=column["ordered"]
        )
    if column["dtype"] == "object":
        return pd.array(column["values"], dtype=object)
    return pd.array(column["values"], dtype=column["dtype"])


def _unframe(data: dict) -> pd.DataFrame:
    index = data["index"]
    if "range" in index:
        rows = pd.RangeIndex(*index["range"])
    else:
        rows = pd.Index(_uncolumn(index["values"]))
    return pd.DataFrame({c: _uncolumn(v) for c, v in data["columns"].items()}, index=rows)


# ---- files ---------------------------------------------------------------------------------------
def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _read_frames(path: Path) -> tuple[pd.DataFrame, ...] | str | None:
    """The cached tables, "uncached" for the note, None when there is no (readable) entry."""
    try:
        text = path.read_text(encoding="utf-8")
        if text == UNCACHED:
            return "uncached"
        return frames_from_json(text)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write(path: Path, text: str, quiet: bool = False) -> None:
    """Write an entry whole (a forked build raises on failure: the kernel then builds it)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, text)
    except OSError as exc:  # a read-only cache: built again next time, nothing lost
        if not quiet:
            raise
        log.debug("cannot write %s: %s", path, exc)
