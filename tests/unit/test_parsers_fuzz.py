"""Fuzzing every parser of user input: only our own errors escape, quickly, in bounded memory.

Budget files (JSON5 and JSON text, and structured documents), package manifests,
blobs.json files, baselines and size strings.  Each example must finish in well under a
second and allocate at most a few MiB (``tracemalloc``): inputs are small, so anything
more is a runaway.  The JSON5 parser is also checked against the json5 package, and the
lazily found positions of strict JSON against the ones the JSON5 parser records.
"""

from __future__ import annotations

import json
import math
import string
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import json5
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_sizebudget.budget.json5_parser import Json5SyntaxError, parse_json5
from pytest_sizebudget.budget.json5_source import parse_json5 as parse_document
from pytest_sizebudget.budget.parse import parse_budget_document
from pytest_sizebudget.budget.positions import JsonPositions, OffsetTree
from pytest_sizebudget.errors import SizeBudgetError
from pytest_sizebudget.packages.blob_sizes import load_blobs_json
from pytest_sizebudget.packages.manifest import load_manifest
from pytest_sizebudget.report.baseline import compare, load_baseline
from pytest_sizebudget.report.json_report import build_json_report, render_json
from pytest_sizebudget.report.summary import render_summary
from pytest_sizebudget.units import MAX_SIZE, SizeSyntaxError, parse_size

FUZZ = settings(
    max_examples=120,
    deadline=None,  # the time bound that matters is checked per example, below
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
MAX_SECONDS = 2.0
MAX_BYTES = 8 << 20


def bounded(run: Callable[[], Any]) -> Any:
    """``run()``, which must raise only a ``SizeBudgetError``, fast and in bounded memory."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        return run()
    except SizeBudgetError as exc:
        return exc  # every message names something: checked by the caller where it matters
    finally:
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert elapsed < MAX_SECONDS, elapsed
        assert peak < MAX_BYTES, peak


# -- JSON values ----------------------------------------------------------------------

NASTY_STRINGS = st.sampled_from(
    ["", "\ud800", "a\udfffb", "\ud83d\ude00", "\u2028", "x" * 5000, "1" * 70, "\x00", "名前"]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**70), max_value=10**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    NASTY_STRINGS,
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=8), NASTY_STRINGS), children, max_size=4),
    ),
    max_leaves=20,
)
KEYS = st.sampled_from(
    [
        "package_set_budgets",
        "resource_budgets",
        "image_budgets",
        "super_budgets",
        "ota_budgets",
        "product_budgets",
        "update_budgets",
        "total_budget_bytes",
        "blob_sizes",
        "sharing",
        "root",
        "include_subpackages",
    ]
)
ENTRY_KEYS = st.sampled_from(
    [
        "name",
        "budget_bytes",
        "creep_budget_bytes",
        "owner",
        "packages",
        "paths",
        "merge",
        "image",
        "format",
        "reserve_bytes",
        "warn_at",
        "max_contents_bytes",
        "capacity_bytes",
        "download_budget_bytes",
        "slots",
        "from",
        "to",
        "update_package",
    ]
)
ENTRY = st.dictionaries(ENTRY_KEYS, VALUES, max_size=6)
BUDGET_DOCS = st.one_of(
    VALUES,
    st.dictionaries(KEYS, st.one_of(st.lists(ENTRY, max_size=3), VALUES), max_size=4),
)


def load_text(text: str, name: str = "b.json5") -> Any:
    return parse_budget_document(parse_document(text, Path("/nowhere") / name))


@settings(FUZZ, max_examples=60)
@given(doc=BUDGET_DOCS)
def test_structured_budget_documents(doc: Any) -> None:
    text = json.dumps(doc, allow_nan=True)  # NaN as JSON5 writes it; lone surrogates escaped
    bounded(lambda: load_text(text))


@FUZZ
@given(
    text=st.text(
        alphabet=st.sampled_from(
            [*list("{}[]:,'\"/*\\\n\t .+-0123456789abexfINnutrl_$"), "\u2028"]
        ),
        max_size=300,
    )
)
def test_json5_shaped_text(text: str) -> None:
    bounded(lambda: load_text(text))


SEEDS = [
    "{package_set_budgets: [{name: 'a', budget_bytes: '1 KiB', packages: ['p']}]}",
    '{"image_budgets": [{"name": "i", "image": ["a", "b"], "budget_bytes": 10, "warn_at": 9.5}]}',
    "// c\n{update_budgets: [{name: 'u', capacity_bytes: 0x10, slots: 2, from: {packages: ['a']},"
    " to: {report: 'r.json', budgets: ['x']}},],}",
    '[{"name": "A", "budget_bytes": 1, "packages": []}]',
]


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = list(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 5))):
        pos = draw(st.integers(0, max(len(text) - 1, 0)))
        action = draw(st.sampled_from(["delete", "insert", "replace"]))
        piece = draw(st.sampled_from([*list("{}[]:,'\"/*\\\n 0x.eE-+"), "NaN", "true", "\\ud800"]))
        if action == "delete" and text:
            del text[pos]
        elif action == "insert":
            text[pos:pos] = list(piece)
        elif text:
            text[pos] = piece
    return "".join(text)


@FUZZ
@given(text=mutated())
def test_mutated_budget_files(text: str) -> None:
    bounded(lambda: load_text(text, "b.json"))


@FUZZ
@given(text=st.text(max_size=200))
def test_any_text_is_a_budget_file_or_an_error(text: str) -> None:
    bounded(lambda: load_text(text))


# -- the JSON5 parser against the json5 package ---------------------------------------

JSON5_SCALARS = st.one_of(
    st.sampled_from(["null", "true", "false", "NaN", "-Infinity", "+Infinity", "0x1F", "-0x0"]),
    st.sampled_from(["0", "-0", "1.5", ".5", "5.", "1e3", "-2E-2", "+7", "123456789"]),
    st.text(
        alphabet=st.characters(codec="utf-8", exclude_characters="\\'\"\n\r\u2028\u2029"),
        max_size=8,
    ).map(lambda s: json.dumps(s, ensure_ascii=False)),
    st.text(alphabet="ab\"'", max_size=5).map(lambda s: "'" + s.replace("'", "\\'") + "'"),
    st.sampled_from(["'\\x41\\u0042\\n\\t\\0'", '"a\\\nb"', "'\\q'"]),
)
JSON5_KEYS = st.one_of(
    st.from_regex(r"[a-zA-Z_$][a-zA-Z0-9_$]{0,5}", fullmatch=True),
    JSON5_SCALARS.filter(lambda s: s[:1] in "'\""),
)
BLANKS = st.sampled_from(["", " ", "\n", "\t", " // c\n", "/* c */", "\r\n"])


@st.composite
def json5_text(draw: st.DrawFn, depth: int = 0) -> str:
    kind = draw(st.sampled_from(["scalar", "list", "object"] if depth < 3 else ["scalar"]))
    if kind == "scalar":
        return draw(JSON5_SCALARS)
    n = draw(st.integers(0, 3))
    if kind == "list":
        items = [draw(json5_text(depth + 1)) for _ in range(n)]
    else:
        keys = draw(st.lists(JSON5_KEYS, min_size=n, max_size=n))
        items = [f"{k}{draw(BLANKS)}:{draw(BLANKS)}{draw(json5_text(depth + 1))}" for k in keys]
    sep = draw(BLANKS) + "," + draw(BLANKS)
    body = sep.join(items) + (draw(st.sampled_from(["", ","])) if items else "")
    return (
        ("[" if kind == "list" else "{")
        + draw(BLANKS)
        + body
        + draw(BLANKS)
        + ("]" if kind == "list" else "}")
    )


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


@settings(FUZZ, max_examples=80)
@given(text=json5_text())
def test_json5_parser_agrees_with_the_json5_package(text: str) -> None:
    try:
        expected: Any = json5.loads(text, allow_duplicate_keys=False)
    except ValueError:
        expected = None
    try:
        got: Any = parse_json5(text)[0]
    except Json5SyntaxError:
        got = None
    if expected is None:
        assert got is None, text
    else:
        assert got is not None, text
        assert same(got, expected), (text, got, expected)


# -- positions: found lazily in strict JSON, recorded by the JSON5 parser -------------

JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), st.text(max_size=5)),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=4), children, max_size=4)
    ),
    max_leaves=25,
)


def paths(value: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += paths(v, (*prefix, i))
    return out


@settings(FUZZ, max_examples=60)
@given(value=JSON_VALUES, indent=st.sampled_from([None, 0, 2]), crlf=st.booleans())
def test_lazy_positions_equal_the_parsers(value: Any, indent: int | None, crlf: bool) -> None:
    text = json.dumps(value, indent=indent, ensure_ascii=False)
    if crlf:
        text = text.replace("\n", "\r\n")
    lazy = JsonPositions(text)
    parsed, root = parse_json5(text)
    recorded = OffsetTree(text, root)
    lines = text.replace("\r\n", "\n").split("\n")
    for path in paths(parsed):
        position = lazy.at(*path)
        assert position == recorded.at(*path), (text, path)
        # A member's position is its key's opening quote, an element's its first character.
        char = lines[position.line - 1][position.column - 1]
        if path and isinstance(path[-1], str):
            assert char == '"'
        else:
            assert char in '{["-0123456789tfn', (text, path)
    assert lazy.at("no", "such", "path") == lazy.at()


# -- size strings ---------------------------------------------------------------------


@FUZZ
@given(
    value=st.one_of(
        st.text(alphabet=string.digits + ". KMGTiBkb-e", max_size=80),
        st.text(max_size=30),
        SCALARS,
    )
)
def test_size_strings(value: object) -> None:
    started = time.perf_counter()
    try:
        size = parse_size(value)
    except SizeSyntaxError:
        size = 0
    assert 0 <= size <= MAX_SIZE
    assert time.perf_counter() - started < MAX_SECONDS


# -- manifests, blobs.json and baselines ----------------------------------------------

MERKLE = "ab" * 32
MANIFEST_PARTS = st.fixed_dictionaries(
    {},
    optional={
        "version": st.one_of(st.just("1"), VALUES),
        "package": st.one_of(st.fixed_dictionaries({"name": st.text(max_size=5)}), VALUES),
        "blob_sources_relative": st.sampled_from(["working_dir", "file", "other"]),
        "blobs": st.one_of(
            st.lists(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "merkle": st.one_of(st.just(MERKLE), VALUES),
                        "path": st.one_of(st.just("bin/a"), VALUES),
                        "source_path": VALUES,
                        "size": VALUES,
                    },
                ),
                max_size=3,
            ),
            VALUES,
        ),
        "subpackages": VALUES,
    },
)


@settings(FUZZ, max_examples=60)
@given(doc=st.one_of(MANIFEST_PARTS, VALUES), subpackages=st.booleans())
def test_manifests(tmp_path: Path, doc: Any, subpackages: bool) -> None:
    path = tmp_path / "package_manifest.json"
    path.write_text(json.dumps(doc, allow_nan=True))
    bounded(lambda: load_manifest(path, working_dir=tmp_path, include_subpackages=subpackages))


@settings(FUZZ, max_examples=60)
@given(
    doc=st.one_of(
        st.lists(
            st.fixed_dictionaries(
                {}, optional={"merkle": st.one_of(st.just(MERKLE), VALUES), "size": VALUES}
            ),
            max_size=4,
        ),
        VALUES,
    )
)
def test_blobs_json(tmp_path: Path, doc: Any) -> None:
    path = tmp_path / "blobs.json"
    path.write_text(json.dumps(doc, allow_nan=True))
    bounded(lambda: load_blobs_json(path))


@pytest.mark.parametrize(
    "text", ["[" * 100_000, "[" * 5000 + "]" * 5000, '{"a": ' + "9" * 5000 + "}"]
)
def test_hostile_json_in_manifests_and_blobs_json(tmp_path: Path, text: str) -> None:
    # Before: RecursionError or Python's int-digits ValueError, as a traceback.
    path = tmp_path / "m.json"
    path.write_text(text)
    with pytest.raises(SizeBudgetError):
        load_manifest(path, working_dir=tmp_path)
    with pytest.raises(SizeBudgetError):
        load_blobs_json(path)


def test_a_lone_surrogate_in_a_manifest_is_an_error(tmp_path: Path) -> None:
    # Before: accepted, and writing the JSON report crashed on the blob's path.
    path = tmp_path / "package_manifest.json"
    doc = {
        "version": "1",
        "package": {"name": "p"},
        "blobs": [{"merkle": MERKLE, "path": "a\ud800"}],
    }
    path.write_text(json.dumps(doc))
    with pytest.raises(SizeBudgetError, match=r"blobs\[0\]\.path: the string has a lone surrogate"):
        load_manifest(path, working_dir=tmp_path)


def report() -> dict[str, Any]:
    budget = {
        "name": "B",
        "kind": "package_set",
        "file": "b.json5",
        "line": 1,
        "key": "package_set_budgets[0]",
        "budget_bytes": 100,
        "creep_budget_bytes": 0,
        "owner": None,
        "used_bytes": 50,
        "error": None,
        "fixed_bytes": 0,
        "parameters": {},
        "packages": [
            {
                "name": "p",
                "manifest": "p.json",
                "used_space_in_blobfs": 50,
                "proportional_size": 50,
                "blobs": [
                    {
                        "merkle": MERKLE,
                        "path": "a",
                        "size": 50,
                        "share_count": 1,
                        "charged_bytes": 50,
                        "excluded_by": None,
                    }
                ],
            }
        ],
    }
    return {"schema_version": 1, "tool": {"parameters": {}}, "budgets": [budget]}


@st.composite
def broken_report(draw: st.DrawFn) -> Any:
    data = report()
    for _ in range(draw(st.integers(1, 3))):
        node: Any = data
        while isinstance(node, dict | list) and node and draw(st.booleans()):
            key = draw(st.sampled_from(list(node) if isinstance(node, dict) else range(len(node))))
            if not isinstance(node[key], dict | list):
                node[key] = draw(VALUES)
                break
            node = node[key]
        else:
            if isinstance(node, dict) and node and draw(st.booleans()):
                del node[draw(st.sampled_from(list(node)))]
    return data


@FUZZ
@given(doc=st.one_of(broken_report(), VALUES))
def test_baselines_load_or_fail_and_a_loaded_one_is_usable(tmp_path: Path, doc: Any) -> None:
    path = tmp_path / "base.json"
    path.write_text(json.dumps(doc, allow_nan=True))
    baseline = bounded(lambda: load_baseline(path, "base.json"))
    if isinstance(baseline, SizeBudgetError):
        assert str(baseline).startswith("baseline base.json")
        return
    # What the validation is for: whatever it let through compares and renders.
    results = [compare(b, baseline) for b in baseline.budgets]
    render_summary(results, [], gone=baseline.gone(results), delta_threshold=0)
    gone = [{"name": g.name, "used_bytes": g.used_bytes} for g in baseline.gone([])]
    text = render_json(build_json_report(results, [], {}, {"path": "base.json", "gone": gone}))
    json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in the report"))
    text.encode("utf-8")


def test_seed_report_is_a_valid_baseline(tmp_path: Path) -> None:
    path = tmp_path / "base.json"
    path.write_text(json.dumps(report()))
    assert [b.used_bytes for b in load_baseline(path).budgets] == [50]


def test_json5_parser_reads_the_json5_forms() -> None:
    text = "{a: [1, 'x',], /* c */ b: {}, $c: +.5e1, 'd': 0x1F, e: 'line\\\ncontinued'}"
    assert parse_json5(text)[0] == {
        "a": [1, "x"],
        "b": {},
        "$c": 5.0,
        "d": 31,
        "e": "linecontinued",
    }
