"""Runs every case of the bad-input corpus (``cases_*.py``); see ``runner.py``."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

from .runner import Case, run_case


def all_cases() -> list[Case]:
    cases: list[Case] = []
    for info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda m: m.name):
        if info.name.startswith("cases_"):
            module = importlib.import_module(f"{__package__}.{info.name}")
            cases.extend(module.CASES)
    ids = [c.id for c in cases]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, f"duplicate case ids: {duplicates}"
    return cases


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=c.marks) for c in all_cases()])
def test_bad_input(pytester: pytest.Pytester, case: Case) -> None:
    run_case(pytester, case)
