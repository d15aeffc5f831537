"""Plan and sector ids: names, never paths.

An id from the command line or a params file becomes part of a path under outputs/ (and a
plan id a path under data/plans/), so it is checked before anything is read or written: the
id pattern, an id that exists, and a path that resolves inside its folder (no '..', no
absolute path, no symlink leading out).
"""

from __future__ import annotations

import re
from pathlib import Path

from plantrack.errors import DataError, clip, listing

ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
MAX_ID = 100


def is_id(value) -> bool:
    return isinstance(value, str) and len(value) <= MAX_ID and bool(ID.match(value))


def inside(folder: Path, name: str) -> Path:
    """folder/name, refused unless it resolves inside folder (symlinks followed)."""
    path = folder / name
    root = folder.resolve()
    resolved = path.resolve()
    if resolved != root and root not in resolved.parents:
        raise DataError(f"'{clip(name)}' leads outside {folder}")
    return path


def check_plan_id(plan) -> str:
    """A plan id that names a plan in data/plans/ (not a path); a DataError otherwise."""
    from plantrack.config import data_root
    from plantrack.data.package import list_plans

    known = list_plans()
    if not is_id(plan):
        raise DataError(
            f"'{clip(plan)}' is not a plan id (lowercase letters, digits, '-' or '_'; "
            f"not a path); known plans: {listing(known) or 'none'}"
        )
    if plan not in known:
        raise DataError(f"unknown plan '{plan}'; known plans: {listing(known) or 'none'}")
    inside(data_root(), plan)
    return plan


def check_sector_id(sector, known) -> str:
    """A sector id among `known` (the plan's sectors and the params/ files); a DataError otherwise."""
    known = list(known)
    if not is_id(sector):
        raise DataError(
            f"'{clip(sector)}' is not a sector id (lowercase letters, digits, '-' or '_'; "
            f"not a path); known sectors: {listing(known)}"
        )
    if sector not in known:
        raise DataError(f"unknown sector '{sector}'; known sectors: {listing(known)}")
    return sector


def check_url_id(value, what: str, plan_id: str = "") -> str:
    """An id that becomes a URL segment of the site (is_id: [a-z0-9_-], so a URL never needs
    escaping and never leaves its folder); a DataError naming it otherwise."""
    if not is_id(value):
        where = f" in plan {plan_id}" if plan_id else ""
        raise DataError(
            f"{what} id '{clip(value)}'{where} cannot be part of a URL: "
            "use lower-case letters, digits, '_' and '-' only"
        )
    return value
