"""The pieces behind "every budget in every report": escaping, node IDs, internal errors,
output paths."""

from __future__ import annotations

import os
from pathlib import Path

from pytest_sizebudget.budget.parse import load_budget_file
from pytest_sizebudget.internal_error import describe_exception, unexpected_reason
from pytest_sizebudget.kinds.builtin import builtin_kinds
from pytest_sizebudget.node_ids import NodeBudgets, item_names
from pytest_sizebudget.output_paths import cache_dir_problem, report_path_problem
from pytest_sizebudget.report.model import BudgetResult, FileProblem
from pytest_sizebudget.report.text import shown
from pytest_sizebudget.settings import Settings


def test_shown_escapes_what_a_terminal_must_not_print_raw() -> None:
    assert shown("Software Delivery") == "Software Delivery"
    assert shown("Grö\u00dfe 日本") == "Grö\u00dfe 日本"  # printable is kept
    assert shown("a\nb\tc\rd") == "a\\nb\\tc\\rd"
    assert shown("\x1b[31mred\x00") == "\\x1b[31mred\\x00"
    assert shown("rtl\u202eoverride") == "rtl\\u202eoverride"
    assert shown("lone\udc80") == "lone\\udc80"
    assert shown("back\\slash") == "back\\slash"  # printable: as written


def names_of(tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "f.json5").write_text(text)
    return list(item_names(load_budget_file(tmp_path / "f.json5")).values())


def test_item_names_are_escaped_and_unique(tmp_path: Path) -> None:
    entry = '{{name: {}, budget_bytes: 1, packages: ["p"]}}'
    names = ['"a\\nb"', '"a\\\\nb"', '"(measurement)"', '"plain"']
    text = f"{{package_set_budgets: [{', '.join(entry.format(n) for n in names)}]}}"
    assert names_of(tmp_path, text) == [
        "a\\nb [package_set_budgets[0]]",  # escaped, it would meet the next name as written
        "a\\nb",
        "(measurement) [package_set_budgets[2]]",  # the file's measurement item has this one
        "plain",
    ]


def test_the_controller_finds_the_budget_behind_an_escaped_node_id(tmp_path: Path) -> None:
    """Under xdist the controller only has node IDs; they hold escaped names."""
    (tmp_path / "x.sizebudget.json5").write_text(
        '{package_set_budgets: [{name: "red\\u001b[31m", budget_bytes: 7, packages: ["p"]},'
        ' {name: "plain", budget_bytes: 8, packages: ["p"]}]}'
    )
    nodes = NodeBudgets(Settings(rootdir=tmp_path), builtin_kinds())
    found = nodes.errored("x.sizebudget.json5::red\\x1b[31m", "the worker died")
    assert isinstance(found, BudgetResult)
    assert (found.name, found.budget_bytes, found.error) == ("red\x1b[31m", 7, "the worker died")
    assert found.key == "package_set_budgets[0]"
    problem = nodes.errored("x.sizebudget.json5::(measurement)", "the worker died")
    assert problem == FileProblem(
        file="x.sizebudget.json5",
        check="measurement",
        message="x.sizebudget.json5: (measurement): the worker died",
    )
    assert nodes.errored("test_x.py::test_y", "the worker died") is None  # not ours


def raise_here() -> None:
    raise ValueError("first line\nsecond line")


def test_describe_exception_names_type_message_and_frames() -> None:
    try:
        raise_here()
    except ValueError as exc:
        text = describe_exception(exc, lambda p: p.name)
    line = raise_here.__code__.co_firstlineno + 1
    assert text == f"ValueError: first line ... (raised at test_gate_units.py:{line} raise_here)"


def test_unexpected_reason_tells_a_bug_from_an_outside_stop() -> None:
    assert unexpected_reason(KeyError("k")) == "internal error: KeyError: 'k'"
    assert unexpected_reason(KeyboardInterrupt()) == "the check did not finish: KeyboardInterrupt"


def test_report_path_problems(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    (tmp_path / "file").write_text("x")
    os.mkfifo(tmp_path / "fifo")
    assert report_path_problem(tmp_path / "dir") == "is a directory"
    assert report_path_problem(tmp_path / "fifo") == "is a FIFO"
    assert report_path_problem(tmp_path / "file") is None  # replaced when written
    assert report_path_problem(tmp_path / "new/deeper/r.json") is None
    assert report_path_problem(tmp_path / "file/r.json") == (
        f"cannot be created: {tmp_path / 'file'} is not a directory"
    )
    assert not (tmp_path / "new").exists()  # checking creates nothing
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir", "fifo", "file"]


def test_cache_dir_problems(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    assert cache_dir_problem(tmp_path / "file") == "is a regular file, not a directory"
    assert cache_dir_problem(tmp_path / "file/cache") == (
        f"cannot be created: {tmp_path / 'file'} is not a directory"
    )
    assert cache_dir_problem(tmp_path / "a/cache") is None
    assert (tmp_path / "a/cache").is_dir()
    assert list((tmp_path / "a/cache").iterdir()) == []  # the probe is gone
