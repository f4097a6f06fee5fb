"""``pytest_sizebudget.input_json``: manifests, blobs.json, images.json and reports as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_sizebudget.errors import InputError
from pytest_sizebudget.input_json import deepest, line_column, preview, read_json
from pytest_sizebudget.packages.blob_sizes import load_blobs_json
from pytest_sizebudget.packages.manifest import load_manifest
from pytest_sizebudget.product_inputs import load_images_manifest, load_report


def test_deep_nesting_is_an_error_naming_file_line_and_depth(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text('{"version": "1",\n "blobs": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(InputError) as info:
        read_json(path, "out/m.json")
    message = str(info.value)
    # The place is the deepest bracket; the outer object counts as a level.
    assert message.startswith(
        "out/m.json:2:100010: nested too deeply: arrays and objects 100,001 levels inside"
    )


def test_a_number_beyond_the_digit_limit_is_an_error_with_its_place(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text('[{"merkle": "x",\n  "size": ' + "9" * 5000 + "}]")
    with pytest.raises(InputError, match=r"^b.json:2:11: invalid number: Exceeds the limit"):
        read_json(path, "b.json")


def test_deepest_skips_brackets_inside_strings() -> None:
    assert deepest('{"a": "[[[[{{", "b": [[1]]}') == (3, 22)
    assert deepest('"\\"[["') == (0, 0)
    assert line_column("ab\ncd", 4) == (2, 2)


def test_preview_never_reprs_a_container_or_a_long_string() -> None:
    nested: list[object] = []
    for _ in range(100_000):  # repr() of this raises RecursionError
        nested = [nested]
    assert preview(nested) == "a list of 1 item"
    assert preview({"a": 1, "b": 2}) == "an object of 2 items"
    assert preview("x" * 10_000) == "'" + "x" * 56 + "..."
    assert preview("a\0b") == "'a\\x00b'"
    assert preview(-3) == "-3"


@pytest.mark.parametrize(
    "loader",
    [
        lambda p: load_manifest(p, working_dir=p.parent),
        load_blobs_json,
        lambda p: load_images_manifest(p, "in.json"),
        lambda p: load_report(p, "in.json", ()),
    ],
    ids=["manifest", "blobs.json", "images.json", "report"],
)
@pytest.mark.parametrize(
    "text",
    ["[" * 50_000 + "]" * 50_000, "9" * 5000, "\udc80"],
    ids=["deep", "digits", "not-utf8"],
)
def test_every_input_json_reader_gives_an_input_error(
    tmp_path: Path, loader: object, text: str
) -> None:
    path = tmp_path / "in.json"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(InputError):
        loader(path)  # type: ignore[operator]


def test_deeply_nested_values_in_messages(tmp_path: Path) -> None:
    deep = "[" * 900 + "]" * 900  # parses; repr() of it in a message would not
    path = tmp_path / "m.json"
    path.write_text(
        '{"version": "1", "package": {"name": "p"}, "blobs": [{"merkle": ' + deep + "}]}"
    )
    # The manifest reader checks the values it reads, and says what the value is
    # without a repr of it (which would raise RecursionError).
    with pytest.raises(
        InputError, match=r"blobs\[0\].merkle: expected 64 lowercase hex digits, got a list"
    ):
        load_manifest(path, working_dir=tmp_path)
    shallow = "[" * 3 + "]" * 3
    path.write_text(
        '{"version": "1", "package": {"name": "p"}, "blobs": [{"merkle": ' + shallow + "}]}"
    )
    with pytest.raises(
        InputError,
        match=r"blobs\[0\].merkle: expected 64 lowercase hex digits, "
        r"got a list of 1 item",
    ):
        load_manifest(path, working_dir=tmp_path)
    report = tmp_path / "r.json"
    report.write_text(
        json.dumps({"budgets": [{"name": "b", "packages": [{"name": [], "blobs": []}]}]})
    )
    with pytest.raises(InputError, match=r"packages\[0\].name: expected a string, got a list"):
        load_report(report, "r.json", ())
