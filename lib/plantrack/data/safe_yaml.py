"""YAML for files a user writes (params/, any config): small, flat, and unambiguous.

yaml.safe_load builds no objects, but it still expands aliases (a few lines of "billion
laughs" become gigabytes and a gigantic error message), silently keeps the last of two equal
keys, and recurses once per nesting level (a deep enough file ends in RecursionError). This
loader refuses aliases, bounds depth and size, and rejects duplicate keys, each with the file
and line in a DataError.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from yaml.constructor import ConstructorError

from plantrack.errors import DataError, clip

MAX_BYTES = 64 * 1024  # a params file is a few lines
MAX_DEPTH = 20  # nesting levels of mappings and lists


class _Refused(yaml.YAMLError):
    def __init__(self, problem: str, mark):
        super().__init__(problem)
        self.problem, self.problem_mark = problem, mark


class SafeLoader(yaml.SafeLoader):
    """yaml.SafeLoader without aliases, with a depth limit and with duplicate keys refused."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _Refused(f"aliases (*{clip(event.anchor, 30)}) are not allowed", event.start_mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(
                    f"nested more than {MAX_DEPTH} levels deep", self.peek_event().start_mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise _Refused(
                    "a key must be plain text or a number", key_node.start_mark
                ) from None
            if key in seen:
                raise _Refused(
                    f"duplicate key '{clip(key, 40)}' (first on line {seen[key] + 1})",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def loads(text: str, name: str = "<text>"):
    """Parse one YAML document with the limits above; a DataError names the file and line."""
    if len(text) > MAX_BYTES:
        raise DataError(
            f"the file is {len(text):,} characters; the limit is {MAX_BYTES:,}", file=name
        )
    try:
        return yaml.load(text, Loader=SafeLoader)  # noqa: S506 - SafeLoader subclass
    except (yaml.YAMLError, ConstructorError) as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise DataError(
            f"not valid YAML: {problem}", file=name, row=mark.line + 1 if mark is not None else None
        ) from None
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. a date 2018-13-45
        raise DataError(f"not valid YAML: {exc}", file=name) from None
    except RecursionError:  # belt and braces: the depth limit comes first
        raise DataError(f"not valid YAML: nested too deep (limit {MAX_DEPTH})", file=name) from None


def load(path: Path):
    """Read and parse a YAML file (UTF-8, at most MAX_BYTES)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise DataError(
                f"the file is {size:,} bytes; the limit is {MAX_BYTES:,}", file=str(path)
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read the file: {exc.strerror or exc}", file=str(path)) from None
    if b"\x00" in raw:
        raise DataError(
            "the file holds a NUL byte: not a text file",
            file=str(path),
            row=raw[: raw.index(b"\x00")].count(b"\n") + 1,
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(
            "the file is not UTF-8; save it as UTF-8",
            file=str(path),
            row=raw[: exc.start].count(b"\n") + 1,
        ) from None
    return loads(text, str(path))
