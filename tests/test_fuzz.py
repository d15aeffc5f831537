"""Property-based fuzzing of every reader of user files: accepted, or a short DataError and no file changed.

The short CI version (a few hundred inputs per reader); `python benchmarks/fuzz.py` runs the same
strategies over more than 10,000 inputs and prints the counts.
"""

import pytest
from fuzz_readers import Harness, csv_bytes, package_input, xlsx_bytes, yaml_text
from hypothesis import HealthCheck, given, settings


def fuzz(examples: int):
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        print_blob=True,
        suppress_health_check=list(HealthCheck),
    )


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    return Harness(tmp_path_factory.mktemp("fuzz"), strict=True)


def test_ingest_csv_reader(harness):
    @fuzz(300)
    @given(csv_bytes())
    def check(data):
        harness.sheet(data, "csv")

    check()


def test_ingest_xlsx_reader(harness):
    @fuzz(100)
    @given(xlsx_bytes())
    def check(data):
        harness.sheet(data, "xlsx")

    check()


def test_params_yaml_reader(harness):
    @fuzz(300)
    @given(yaml_text())
    def check(text):
        harness.params_file(text)

    check()


def test_data_package_reader(harness):
    @fuzz(40)  # each generated package is validated by frictionless: about a second
    @given(package_input())
    def check(item):
        harness.package_file(*item)

    check()
