"""The message catalogues: one file per language, every message in every language, same fields."""

import json
import string

import pytest
from plantrack.config import LANGUAGES
from plantrack.errors import DataError
from plantrack.messages import LOCALE, both, catalogue, t


def _fields(text):
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_one_catalogue_file_per_language():
    assert sorted(p.stem for p in LOCALE.glob("*.json")) == sorted(LANGUAGES)


def test_every_message_exists_in_every_language_with_the_same_fields():
    keys = {lang: set(catalogue(lang)) for lang in LANGUAGES}
    reference = keys[LANGUAGES[0]]
    for lang in LANGUAGES:
        assert keys[lang] == reference, (lang, sorted(keys[lang] ^ reference)[:10])
    for key in reference:
        fields = {lang: _fields(catalogue(lang)[key]) for lang in LANGUAGES}
        assert len({frozenset(f) for f in fields.values()}) == 1, (key, fields)
        assert all(catalogue(lang)[key].strip() for lang in LANGUAGES), key


def test_catalogue_files_are_plain_json_objects_of_strings():
    for lang in LANGUAGES:
        data = json.loads((LOCALE / f"{lang}.json").read_text(encoding="utf-8"))
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in data.items())


def test_english_messages_have_no_chinese_of_their_own():
    # Chinese reaches an English message only through its fields (names and quotes as stated).
    for key, text in catalogue("en").items():
        assert not any("\u4e00" <= ch <= "\u9fff" for ch in text.replace("左右", "")), key


def test_fields_are_filled_and_unknown_keys_come_back_as_themselves():
    assert t("data_as_of", "en", year=2018) == "Data as of 2018"
    assert both("achieved") == {"zh": "已完成", "en": "Achieved"}
    assert t("no.such.key", "en") == "no.such.key"
    with pytest.raises(DataError):
        t("achieved", "fr")
