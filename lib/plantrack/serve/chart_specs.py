"""The dashboard's chart specs, built once per plan version and kept as JSON files.

A spec depends only on the plan's files and on the code that builds it, so it is cached under the
plantrack cache directory (data/package.py: _cache_base), keyed by the plan's content hash and a
hash of the code (every source file of the package, and the Altair version): any change of the
data or of the code gives new files, never a stale chart.

Building a spec needs Altair (present/charts.py), about 30 MiB and a second of import in each
reader's kernel for what is the same JSON every time. Under Voilà a spec missing from the cache
is therefore built in a forked copy of the kernel (serve/kernel.py: in_fork), which imports
Altair, writes the file and exits; the reader's kernel only reads JSON. Elsewhere (JupyterLab,
tests, the command line) it is built in-process.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path

from plantrack.data.package import _cache_base, write_atomic
from plantrack.serve import kernel

log = logging.getLogger(__name__)

PACKAGE = Path(__file__).resolve().parents[1]  # lib/plantrack


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


def spec_path(plan_name: str, content_hash: str, name: str) -> Path:
    """Where spec `name` of this plan version lives (the file name is a hash: never a path)."""
    file = hashlib.sha256(name.encode("utf-8")).hexdigest()[:32]
    return _cache_base() / plan_name / content_hash / f"charts-{code_version()}" / f"{file}.json"


def cached(
    plan_name: str,
    content_hash: str,
    name: str,
    build: Callable[[], dict],
    together: dict[str, Callable[[], dict]] | None = None,
) -> dict:
    """Spec `name` of this plan version: from the cache, else built (once) by `build()`. Under
    Voilà the specs `together` names (e.g. the same chart in the other language) are built in the
    same forked copy when missing: the import of Altair is paid once for them."""
    path = spec_path(plan_name, content_hash, name)
    spec = _read(path)
    if spec is not None:
        return spec
    if kernel.under_voila():  # Altair in a forked copy of the reader's kernel, not in it

        def build_all():
            _write(path, build(), strict=True)
            for other, build_other in (together or {}).items():
                other_path = spec_path(plan_name, content_hash, other)
                if not other_path.is_file():
                    _write(other_path, build_other())

        if kernel.in_fork(build_all):
            spec = _read(path)
            if spec is not None:
                return spec
        kernel.kernel_log().warning("chart spec %s: the forked build failed, built here", name)
    spec = build()
    _write(path, spec)
    return spec


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write(path: Path, spec: dict, strict: bool = False) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(spec, ensure_ascii=False, separators=(",", ":")))
    except OSError as exc:  # a read-only cache: built again next time, nothing lost
        if strict:
            raise
        log.debug("cannot write the chart spec %s: %s", path, exc)
