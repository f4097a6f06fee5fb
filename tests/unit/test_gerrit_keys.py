"""Gerrit keys never collide: a budget whose keys another writes is keyed with its file."""

from __future__ import annotations

import json
from typing import Any

from pytest_sizebudget.report.gerrit import gerrit_keys, render_gerrit
from pytest_sizebudget.report.model import BudgetResult


def result(name: str, file: str = "a.json5", key: str = "k[0]", **kw: Any) -> BudgetResult:
    values: dict[str, Any] = {"used_bytes": 10, "budget_bytes": 20, **kw}
    return BudgetResult(name=name, kind="package_set", file=file, line=1, key=key, **values)


def test_without_clashes_the_output_is_ffx_s_byte_for_byte() -> None:
    results = [
        result("Fonts", key="k[0]", owner="https://o"),
        result("ICU Data", key="k[1]", creep_budget_bytes=3),
        result("unmeasured", key="k[2]", used_bytes=None, error="x"),
    ]
    assert render_gerrit(results) == (
        "{\n"
        '  "Fonts": 10,\n'
        '  "Fonts.budget": 20,\n'
        '  "Fonts.creepBudget": 0,\n'
        '  "Fonts.owner": "https://o",\n'
        '  "ICU Data": 10,\n'
        '  "ICU Data.budget": 20,\n'
        '  "ICU Data.creepBudget": 3\n'
        "}\n"
    )
    assert gerrit_keys(results).notes == ()


def test_the_same_name_in_two_files_is_keyed_with_each_file() -> None:
    results = [
        result("Same", file="a.json5", used_bytes=5),
        result("Same", file="b.json5", used_bytes=50),  # over: must not vanish
        result("Other", file="b.json5", key="k[1]"),
    ]
    got = json.loads(render_gerrit(results))
    assert got["Same [a.json5]"] == 5
    assert got["Same [b.json5]"] == 50
    assert got["Same [b.json5].budget"] == 20
    assert got["Other"] == 10
    assert "Same" not in got
    assert gerrit_keys(results).notes == (
        "budget 'Same' in a.json5 would write Gerrit keys that another budget writes too; "
        "the Gerrit report keys it as 'Same [a.json5]'",
        "budget 'Same' in b.json5 would write Gerrit keys that another budget writes too; "
        "the Gerrit report keys it as 'Same [b.json5]'",
    )


def test_a_name_that_ends_in_a_key_suffix_does_not_overwrite_another_budget() -> None:
    for suffix in (".budget", ".creepBudget", ".owner"):
        results = [
            result("X", key="k[0]", used_bytes=1, budget_bytes=2, owner=None),
            result(f"X{suffix}", key="k[1]", used_bytes=3, budget_bytes=4),
        ]
        got = json.loads(render_gerrit(results))
        # Both are keyed with their file, the owner-less "X" too: the rule is about the
        # keys a budget may write, so it does not change with an owner.
        assert got == {
            "X [a.json5]": 1,
            "X [a.json5].budget": 2,
            "X [a.json5].creepBudget": 0,
            f"X{suffix} [a.json5]": 3,
            f"X{suffix} [a.json5].budget": 4,
            f"X{suffix} [a.json5].creepBudget": 0,
        }, suffix


def test_an_unmeasured_budget_still_takes_part_so_keys_do_not_flip_between_runs() -> None:
    results = [result("Same", file="a.json5"), result("Same", file="b.json5", used_bytes=None)]
    assert json.loads(render_gerrit(results)) == {
        "Same [a.json5]": 10,
        "Same [a.json5].budget": 20,
        "Same [a.json5].creepBudget": 0,
    }


def test_a_name_built_to_meet_the_file_form_gets_the_key_form() -> None:
    results = [
        result("Same", file="a.json5"),
        result("Same", file="b.json5"),
        result("Same [a.json5]", file="c.json5"),
    ]
    names = gerrit_keys(results).names
    assert len(set(names)) == 3
    assert names[0] == "Same [a.json5:k[0]]"
    assert names[2] == "Same [a.json5] [c.json5:k[0]]"
    assert names[1] == "Same [b.json5]"
    keys = [k for n in names for k in (n, f"{n}.budget", f"{n}.creepBudget", f"{n}.owner")]
    assert len(keys) == len(set(keys))


def test_ffx_owner_is_form_encoded_as_the_url_crate_does() -> None:
    from pytest_sizebudget.budget.model import ffx_owner, form_urlencode

    assert ffx_owner("Software Deliver") == (
        "http://go/fuchsia-size-stats/single_component/?f=component%3Ain%3ASoftware+Deliver"
    )
    # Only letters, digits and *-._ stay; ~ and / are encoded, UTF-8 bytes in upper-case hex.
    assert form_urlencode("a*b-c.d_e~f/g (h)") == "a*b-c.d_e%7Ef%2Fg+%28h%29"
    assert form_urlencode("Größe") == "Gr%C3%B6%C3%9Fe"
