"""Everything a reader sees, in Chinese and English: one catalogue file per language.

The catalogues are data (lib/plantrack/locale/<lang>.json, flat keys, str.format fields), loaded
here and nowhere else. A translator edits the JSON; tests check that every key exists in every
language and that the fields of each message agree.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from plantrack.config import LANGUAGES
from plantrack.errors import DataError

LOCALE = Path(__file__).with_name("locale")


@functools.cache
def catalogue(lang: str) -> dict[str, str]:
    """The messages of one language, key -> text."""
    check_lang(lang)
    return json.loads((LOCALE / f"{lang}.json").read_text(encoding="utf-8"))


def check_lang(lang: str) -> str:
    if lang not in LANGUAGES:
        raise DataError(f"unknown language {str(lang)[:20]!r}; allowed: {', '.join(LANGUAGES)}")
    return lang


def t(key: str, lang: str = "zh", **fields) -> str:
    """The message `key` in `lang`, its {fields} filled in; the key itself when unknown."""
    text = catalogue(lang).get(key)
    if text is None:
        return key
    return text.format(**fields) if fields else text


def both(key: str, **fields) -> dict[str, str]:
    """The message in every language: {'zh': ..., 'en': ...}."""
    return {lang: t(key, lang, **fields) for lang in LANGUAGES}
