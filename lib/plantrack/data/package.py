"""Load a plan's Frictionless data package, validate it, and hand back pandas tables."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from plantrack.config import data_root
from plantrack.data import units
from plantrack.errors import DataError, clip, listing

log = logging.getLogger(__name__)

RESOURCES = ("sources", "sectors", "indicators", "targets", "actuals", "tasks", "evidence", "rates")
REQUIRED_COLUMNS = {
    "indicators": ["indicator_id", "sector", "name_zh", "name_en", "unit", "direction"],
    "targets": ["indicator_id", "target_year", "comparator", "value", "unit", "source", "quote"],
    "actuals": ["indicator_id", "year", "value", "unit", "source", "quote", "reported_rate"],
    "sources": ["source_id", "file"],
    "sectors": ["sector_id", "name_zh", "name_en"],
    "tasks": ["task_id", "sector", "quote"],
    "evidence": ["task_id", "quote"],
    "rates": ["from_currency", "to_currency", "year", "rate"],
}
PANDAS_TYPES = {"integer": "Int64", "number": "float64", "string": "string"}
# Columns of few distinct values repeated over many rows: categorical, so that a million actuals
# are matched to their indicators and units by integer codes, not by hashing a million strings.
CATEGORICAL = {
    "targets": ("indicator_id", "unit", "source"),
    "actuals": ("indicator_id", "unit", "source", "name_as_stated", "year_basis"),
}
CACHE_VERSION = "4"  # bump when the cached tables change shape
MAX_DESCRIPTOR = 1024 * 1024
MAX_TABLE = 2 * 1024**3  # a plan's CSV; the synthetic 1M-row benchmark plan is far below
SAFE_PATH = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*\.csv$")


def _typed(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    columns = [c for c in CATEGORICAL.get(name, ()) if c in frame]
    return frame.astype({c: "category" for c in columns}) if columns else frame


def list_plans() -> list[str]:
    """The plan ids in data/plans/: folders named as an id, holding a datapackage.json."""
    from plantrack.data.ids import is_id

    root = data_root()
    return (
        sorted(
            p.name for p in root.iterdir() if is_id(p.name) and (p / "datapackage.json").is_file()
        )
        if root.is_dir()
        else []
    )


def survey_plans() -> tuple[list[str], dict[str, str]]:
    """Every folder in data/plans/: the ids of the plans that load, and a short reason for each one that does not.

    One broken folder never hides the others (`plantrack plans`, the dashboard's plan picker).
    """
    from plantrack.data.ids import is_id

    root = data_root()
    good, broken = [], {}
    folders = (
        sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        if root.is_dir()
        else []
    )
    for folder in folders:
        name = folder.name
        if not is_id(name):
            broken[clip(name)] = (
                "the folder's name is not a plan id (lowercase letters, digits, '-' or '_')"
            )
        elif not (folder / "datapackage.json").is_file():
            broken[name] = "no datapackage.json in the folder"
        else:
            try:
                check_plan(name)
                good.append(name)
            except DataError as exc:
                broken[name] = str(exc)
            except Exception as exc:  # noqa: BLE001 - a damaged folder is reported, not raised
                broken[name] = clip(f"cannot be read ({type(exc).__name__}: {exc})", 300)
    prefix = f"{root}{os.sep}"  # the reasons name files inside data/plans/ by their relative path
    return good, {name: reason.replace(prefix, "") for name, reason in broken.items()}


@dataclass
class Plan:
    """A plan's tables (pandas DataFrames) and metadata."""

    plan_id: str
    path: Path
    meta: dict
    content_hash: str
    tables: dict = field(repr=False)

    def __getattr__(self, name):
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(name)

    @property
    def title_zh(self) -> str:
        return self.meta.get("title_zh", self.plan_id)

    @property
    def title_en(self) -> str:
        return self.meta.get("title_en", self.plan_id)

    @property
    def issuer(self) -> str:
        return self.meta.get("issuer_zh", "")

    @property
    def issuer_en(self) -> str:
        return self.meta.get("issuer_en", "")

    @property
    def issued(self) -> str:
        return str(self.meta.get("issued", ""))

    @property
    def base_year(self) -> int | None:
        return self.meta.get("base_year")

    @property
    def plan_source(self) -> str | None:
        return self.meta.get("plan_source")

    def title(self, lang: str = "zh") -> str:
        return self.title_zh if lang == "zh" else self.title_en

    def sector_names(self, lang: str = "zh") -> dict:
        return dict(zip(self.sectors["sector_id"], self.sectors[f"name_{lang}"]))

    def sector_name(self, sector_id: str, lang: str = "zh") -> str:
        return str(self.sector_names(lang).get(sector_id, sector_id))

    def sector_ids(self) -> list[str]:
        return list(self.sectors.sort_values("order")["sector_id"])

    def with_actuals(self, rows, *, replace: bool = False) -> "Plan":
        """A what-if: a copy of the plan with more actuals, nothing written.

        rows: a pandas DataFrame (or the path of a CSV/XLSX sheet) with the columns of
        `plantrack ingest` (indicator or indicator_id, year, value, unit, source, quote; optional
        stated, name_as_stated, reported_rate, locator, year_basis, and source_title and
        source_file for a new source). The rows pass the very checks of `plantrack.ingest`
        (plantrack.data.ingest.prepare): a mistake is a DataError naming the row (the header is
        row 1) and the column. replace: a row replaces the plan's row of the same indicator,
        year and source (else such a row is an error). `plantrack.ingest(plan_id, rows,
        dry_run=True)` gives the same plan with its status changes and new findings.
        """
        from plantrack.data.ingest import add_rows

        return add_rows(self, rows, replace=replace).plan


def plan_dir(plan: str | os.PathLike) -> Path:
    """Resolve a plan id (or, for a researcher's own package, a directory holding datapackage.json).

    An id is looked up in data/plans/ first, so a folder of the same name in the current directory
    never stands in for it. Commands that write beside a plan (`plantrack run`) take ids only
    (data.ids.check_plan_id).
    """
    from plantrack.data.ids import inside, is_id

    if is_id(plan) and (data_root() / plan / "datapackage.json").is_file():
        return inside(data_root(), plan)
    try:
        candidate = Path(plan)
        if (candidate / "datapackage.json").is_file():
            return candidate
    except (TypeError, ValueError, OSError):  # not a path at all (a NUL byte, a number)
        pass
    raise DataError(f"unknown plan '{clip(plan)}'; known plans: {listing(list_plans()) or 'none'}")


def _read_descriptor(directory: Path) -> dict:
    path = directory / "datapackage.json"
    try:
        if path.stat().st_size > MAX_DESCRIPTOR:
            raise DataError(f"the descriptor is over {MAX_DESCRIPTOR // 1024} KB", file=str(path))
        descriptor = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise DataError(
            f"cannot read the package descriptor: {type(exc).__name__}: {exc}", file=str(path)
        ) from None
    resources = descriptor.get("resources") if isinstance(descriptor, dict) else None
    if not isinstance(resources, list) or not all(isinstance(r, dict) for r in resources):
        raise DataError("the descriptor needs a list of resources", file=str(path))
    if not isinstance(descriptor.get("plantrack", {}), dict):
        raise DataError("'plantrack' must be a mapping of the plan's titles", file=str(path))
    for resource in resources:
        # Each resource is a CSV file inside the package: no URL, no absolute path, no '..'.
        file = resource.get("path")
        if (
            not isinstance(file, str)
            or not SAFE_PATH.match(file)
            or not isinstance(resource.get("schema"), dict)
            or not isinstance(resource["schema"].get("fields"), list)
            or not all(isinstance(f, dict) for f in resource["schema"]["fields"])
        ):
            raise DataError(
                f"resource '{clip(resource.get('name'))}' ({clip(file)}) must be a CSV file of the package "
                "(a plain file name such as targets.csv) with a schema of fields",
                file=str(path),
            )
    names = {r.get("name") for r in resources}
    missing = [r for r in RESOURCES if r not in names]
    if missing:
        raise DataError(f"the package has no resource {listing(missing)}", file=str(path))
    return descriptor


def content_hash(directory: Path, descriptor: dict) -> str:
    """sha256 of the package's files; reused while their sizes and modification times stay the same."""
    paths = [directory / "datapackage.json"] + [
        directory / r["path"] for r in descriptor["resources"]
    ]
    stats = [(p.name, p.stat() if p.is_file() else None) for p in paths]
    signature = "|".join(
        f"{name}:{st.st_size}:{st.st_mtime_ns}" if st else f"{name}:-" for name, st in stats
    )
    index = _cache_base() / "content-index.json"
    try:
        known = json.loads(index.read_text())
    except (OSError, ValueError):
        known = {}
    key = f"{directory.resolve()}|{signature}"
    if key in known:
        return known[key]
    digest = _sha256(directory, descriptor)
    try:
        index.parent.mkdir(parents=True, exist_ok=True)
        known = {k: v for k, v in known.items() if not k.startswith(f"{directory.resolve()}|")}
        known[key] = digest
        write_atomic(index, json.dumps(known))
    except OSError as exc:  # a read-only cache: the hash is recomputed next time, nothing lost
        log.debug("cannot write the content-hash index %s: %s", index, exc)
    return digest


def write_atomic(path: Path, content: str | bytes) -> None:
    """Write a whole file or nothing: a temporary file beside it, flushed to disk, then a rename
    (text as UTF-8)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def plan_lock(directory: Path, wait: float = 0):
    """Exclusive use of a plan's folder: a run and an ingest of the same plan exclude each other.

    The lock file sits beside the folder, not in it: the package itself never gains a file.
    """
    from filelock import FileLock, Timeout

    lock = FileLock(str(directory.parent / f".{directory.name}.plantrack.lock"))
    try:
        lock.acquire(timeout=wait)
    except Timeout:
        raise DataError(
            f"another plantrack run or ingest is using plan {directory.name} "
            f"(lock {lock.lock_file})"
        ) from None
    try:
        yield
    finally:
        lock.release()


def _cache_base() -> Path:
    return Path(os.environ.get("PLANTRACK_CACHE", Path.home() / ".cache" / "plantrack"))


def _sha256(directory: Path, descriptor: dict) -> str:
    digest = hashlib.sha256(CACHE_VERSION.encode())
    digest.update((directory / "datapackage.json").read_bytes())
    for resource in descriptor["resources"]:
        path = directory / resource["path"]
        digest.update(path.read_bytes() if path.is_file() else b"<missing>")
    return digest.hexdigest()[:16]


def _cache_dir(plan_id: str, digest: str) -> Path:
    return _cache_base() / plan_id / digest


def validate_package(directory: Path, descriptor: dict) -> None:
    """Run the standard Frictionless validation; raise DataError at the first error."""
    import frictionless  # imported here: slow to import, and only needed on a cache miss

    for resource in descriptor["resources"]:
        path = directory / resource["path"]
        if not path.is_file():
            raise DataError("the file is missing", file=str(path))
        if path.stat().st_size == 0:
            raise DataError("the file is empty (it needs at least a header row)", file=str(path))
        if path.stat().st_size > MAX_TABLE:
            raise DataError(f"the file is over {MAX_TABLE // 1024 // 1024} MB", file=str(path))
    try:
        report = frictionless.validate(str(directory / "datapackage.json"))
    except Exception as exc:  # noqa: BLE001 - frictionless raises its own types for a damaged package
        raise DataError(
            f"the package cannot be validated: {type(exc).__name__}: {exc}",
            file=str(directory / "datapackage.json"),
        ) from None
    if report.valid:
        return
    for task in report.tasks:
        for error in task.errors:
            file = (
                str(directory / task.place) if task.place else str(directory / "datapackage.json")
            )
            raise DataError(
                _explain(error),
                file=file,
                row=getattr(error, "row_number", None),
                column=getattr(error, "field_name", None),
            )
    error = report.errors[0]
    raise DataError(_explain(error), file=str(directory / "datapackage.json"))


def _explain(error) -> str:
    note = getattr(error, "note", "") or ""
    title = getattr(error, "title", "") or error.type
    cell = getattr(error, "cell", None)
    text = f"{title.lower()}: {note}" if note else title
    return f"{text} (value: {cell!r})" if cell not in (None, "") else text


def _read_tables(directory: Path, descriptor: dict) -> dict[str, pd.DataFrame]:
    tables = {}
    for resource in descriptor["resources"]:
        fields = resource["schema"]["fields"]
        dtypes = {f["name"]: PANDAS_TYPES.get(f.get("type", "string"), "string") for f in fields}
        try:
            frame = pd.read_csv(
                directory / resource["path"],
                dtype=dtypes,
                keep_default_na=False,
                na_values=[""],
                encoding="utf-8",
            )
        except (ValueError, TypeError, OverflowError, pd.errors.ParserError) as exc:
            # Frictionless accepted it, pandas does not (e.g. an integer beyond 64 bits): still the user's file.
            raise DataError(
                f"cannot be read as its schema says: {type(exc).__name__}: {exc}",
                file=str(directory / resource["path"]),
            ) from None
        tables[resource["name"]] = _typed(resource["name"], frame)
    return tables


def check_semantics(directory: Path, tables: dict[str, pd.DataFrame]) -> None:
    """Rules a Table Schema cannot say: units must be readable, ranges ordered, stated in quote."""
    for name, column in (("indicators", "unit"), ("targets", "unit"), ("actuals", "unit")):
        for position, unit in enumerate(tables[name][column]):
            try:
                units.parse_unit(unit)
            except units.UnitError as exc:
                raise DataError(
                    str(exc), file=str(directory / f"{name}.csv"), row=position + 2, column=column
                ) from None
    targets = tables["targets"]
    for position, row in enumerate(targets.itertuples(index=False)):
        if row.comparator == "range" and not (
            pd.notna(row.value_high) and row.value_high > row.value
        ):
            raise DataError(
                "a range target needs value_high above value",
                file=str(directory / "targets.csv"),
                row=position + 2,
                column="value_high",
            )
    for name in ("targets", "actuals"):
        frame = tables[name]
        if "stated" in frame:
            bad = [
                i
                for i, (s, q) in enumerate(zip(frame["stated"], frame["quote"]))
                if not states(s, q)
            ]
            if bad:
                raise DataError(
                    "the stated value does not occur in the quote",
                    file=str(directory / f"{name}.csv"),
                    row=bad[0] + 2,
                    column="stated",
                )


def states(stated, quote) -> bool:
    """The rule for every target and actual, in a plan or in a sheet being ingested: the words
    that state its value occur in its quote."""
    return str(stated) in str(quote)


def resource_schemas(directory: Path) -> dict[str, dict]:
    """The Table Schema a plan's datapackage.json declares for each of its resources, by name."""
    return {r.get("name"): r["schema"] for r in _read_descriptor(Path(directory))["resources"]}


def plan_title(plan: str | os.PathLike, lang: str = "zh") -> str:
    """A plan's title read from its descriptor alone: no tables are read (for plan pickers)."""
    directory = plan_dir(plan)
    return _read_descriptor(directory).get("plantrack", {}).get(f"title_{lang}", directory.name)


def check_plan(plan: str | os.PathLike) -> None:
    """load_plan's verdict without its tables: cheap when this version of the plan was validated before."""
    directory = plan_dir(plan)
    descriptor = _read_descriptor(directory)
    if not (_cache_dir(directory.name, content_hash(directory, descriptor)) / "ok").is_file():
        load_plan(directory)


def judged(plan: str | os.PathLike) -> bool:
    """Whether this version of the plan has a cached verdict (valid, or its error): then
    check_plan and load_plan need no Frictionless. A folder that cannot even be read counts as
    judged (its error comes at once)."""
    try:
        directory = plan_dir(plan)
        cache = _cache_dir(directory.name, content_hash(directory, _read_descriptor(directory)))
    except Exception:  # noqa: BLE001 - the error comes again, at once, where the plan is used
        return True
    return (cache / "ok").is_file() or (cache / "error.json").is_file()


def load_plan(plan: str | os.PathLike, *, use_cache: bool = True) -> Plan:
    """Read and validate a plan's data package. Raises DataError naming file, row and column."""
    directory = plan_dir(plan)
    descriptor = _read_descriptor(directory)
    digest = content_hash(directory, descriptor)
    cache = _cache_dir(directory.name, digest)
    tables = None
    if use_cache and (cache / "ok").is_file():
        try:
            tables = _read_cache(cache, directory, descriptor)
        except Exception as exc:  # a damaged cache is only a cache: validate again
            log.debug(
                "plan %s: cache %s unreadable (%s), validating again", directory.name, cache, exc
            )
            tables = None
        else:
            log.debug(
                "plan %s: version %s read from the cache %s", directory.name, digest[:12], cache
            )
    if tables is None:
        log.debug("plan %s: validating version %s (frictionless)", directory.name, digest[:12])
        if use_cache:
            _raise_cached_error(cache, directory)
        try:
            validate_package(directory, descriptor)
            tables = _read_tables(directory, descriptor)
            check_semantics(directory, tables)
        except DataError as exc:
            if (
                use_cache
            ):  # the same files fail the same way: a plan picker need not validate them again
                _write_cached_error(cache, directory, exc)
            raise
        if use_cache:
            _write_cache(cache, tables)
    return Plan(directory.name, directory, descriptor.get("plantrack", {}), digest, tables)


def _raise_cached_error(cache: Path, directory: Path) -> None:
    try:
        known = json.loads((cache / "error.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if isinstance(known, dict) and isinstance(known.get("reason"), str):
        file = known.get("file")
        raise DataError(
            known["reason"],
            file=str(directory / file) if isinstance(file, str) else None,
            row=known.get("row") if isinstance(known.get("row"), int) else None,
            column=known.get("column") if isinstance(known.get("column"), str) else None,
        )


def _write_cached_error(cache: Path, directory: Path, exc: DataError) -> None:
    file = None
    if exc.file:
        with contextlib.suppress(ValueError):
            file = str(Path(exc.file).relative_to(directory))
    try:
        cache.mkdir(parents=True, exist_ok=True)
        write_atomic(
            cache / "error.json",
            json.dumps({"reason": exc.reason, "file": file, "row": exc.row, "column": exc.column}),
        )
    except OSError as error:  # a read-only cache: the plan is validated again next time
        log.debug("cannot cache the validation error in %s: %s", cache, error)


def has_arrow() -> bool:
    """Whether pyarrow can be imported here (a reader's dashboard kernel runs without it: serve/kernel.py)."""
    try:
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        return False
    return True


def _read_cache(cache: Path, directory: Path, descriptor: dict) -> dict[str, pd.DataFrame]:
    """This version's validated tables: from the parquet cache; without Arrow, from the package's
    CSVs themselves, which the cache's "ok" marker (keyed by their content hash) vouches for."""
    if not has_arrow():
        return _read_tables(directory, descriptor)
    return {
        r["name"]: pd.read_parquet(cache / f"{r['name']}.parquet") for r in descriptor["resources"]
    }


def _write_cache(cache: Path, tables: dict[str, pd.DataFrame]) -> None:
    try:
        cache.mkdir(parents=True, exist_ok=True)
        # Without Arrow only the verdict: a process with Arrow writes the tables when it reads them.
        if has_arrow():
            for name, frame in tables.items():
                frame.to_parquet(cache / f"{name}.parquet", index=False)
        (cache / "ok").write_text("")
    except OSError:
        pass  # no writable cache directory: everything still works, only slower
