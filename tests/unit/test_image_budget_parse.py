"""``image_budgets`` entries: accepted shapes and every kind of bad input, with positions."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_sizebudget.budget.parse import load_budget_file
from pytest_sizebudget.errors import SizeBudgetError
from pytest_sizebudget.kinds.image import ImageBudget


def load(tmp_path: Path, text: str) -> tuple[ImageBudget, ...]:
    path = tmp_path / "b.json5"
    path.write_text(text)
    budgets = load_budget_file(path, display="b.json5").budgets
    assert all(isinstance(b, ImageBudget) for b in budgets)
    return tuple(b for b in budgets if isinstance(b, ImageBudget))


def problems(tmp_path: Path, text: str) -> str:
    with pytest.raises(SizeBudgetError) as excinfo:
        load(tmp_path, text)
    return str(excinfo.value)


def test_full_entry(tmp_path: Path) -> None:
    (b,) = load(
        tmp_path,
        """{
  image_budgets: [{
    name: "boot", image: "out/boot.img", budget_bytes: "64 MiB", creep_budget_bytes: "1 MiB",
    owner: "https://example.com/boot", format: "android_sparse", reserve_bytes: 69632,
    warn_at: 95,
  }],
}""",
    )
    assert b.kind == "image"
    assert (b.name, b.key, b.line) == ("boot", "image_budgets[0]", 2)
    assert (b.budget_bytes, b.creep_budget_bytes, b.owner) == (
        64 << 20,
        1 << 20,
        "https://example.com/boot",
    )
    assert [r.path for r in b.images] == [tmp_path / "out/boot.img"]
    assert [r.key for r in b.images] == ["image_budgets[0].image"]
    assert (b.format, b.reserve_bytes, b.warn_at) == ("android_sparse", 69632, 95.0)


def test_defaults_and_split_image(tmp_path: Path) -> None:
    (a, b) = load(
        tmp_path,
        """{image_budgets: [
  {name: "a", image: "a.img", budget_bytes: 10, format: "auto"},
  {name: "b", image: ["s.simg.0", "s.simg.1"], budget_bytes: 10, warn_at: 99.5},
]}""",
    )
    assert (a.format, a.reserve_bytes, a.warn_at, a.creep_budget_bytes) == (None, 0, None, 0)
    assert [r.raw for r in b.images] == ["s.simg.0", "s.simg.1"]
    assert [r.key for r in b.images] == ["image_budgets[1].image[0]", "image_budgets[1].image[1]"]
    assert b.warn_at == 99.5


def test_image_budgets_beside_package_sets(tmp_path: Path) -> None:
    path = tmp_path / "b.json5"
    path.write_text(
        '{package_set_budgets: [{name: "p", budget_bytes: 1, packages: ["m.json"]}],'
        ' image_budgets: [{name: "i", image: "i.img", budget_bytes: 1}]}'
    )
    assert [b.kind for b in load_budget_file(path).budgets] == ["package_set", "image"]


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ('{name: "x", budget_bytes: 1}', "b.json5:1:18: image_budgets[0]: missing required key 'image'"),
        ('{name: "x", image: [], budget_bytes: 1}', "image_budgets[0].image: must name at least one image file"),
        ('{name: "x", image: 3, budget_bytes: 1}', "image_budgets[0].image: expected a non-empty string, got an integer"),
        ('{name: "x", image: ["a", ""], budget_bytes: 1}', "image_budgets[0].image[1]: expected a non-empty string, got a string"),
        ('{name: "x", image: "a", budget_bytes: 1, fromat: "raw"}', "unknown key 'fromat' (did you mean 'format'?)"),
        ('{name: "x", image: "a", budget_bytes: 1, reserve: 4}', "unknown key 'reserve' (did you mean 'reserve_bytes'?)"),
        ('{name: "x", image: "a", budget_bytes: 1, format: "ext4"}', "image_budgets[0].format: must be one of 'auto', 'raw', 'sparse_file', 'android_sparse', 'fvm_sparse', 'gzip', 'xz', 'bzip2', 'zstd', got 'ext4'"),
        ('{name: "x", image: "a", budget_bytes: 1, warn_at: 101}', "image_budgets[0].warn_at: must be a percentage between 0 and 100, got 101"),
        ('{name: "x", image: "a", budget_bytes: 1, warn_at: -1}', "must be a percentage between 0 and 100, got -1"),
        ('{name: "x", image: "a", budget_bytes: 1, warn_at: "95%"}', "image_budgets[0].warn_at: expected a percentage (a number such as 95), got a string"),
        ('{name: "x", image: "a", budget_bytes: 1, warn_at: true}', "expected a percentage (a number such as 95), got a boolean"),
        ('{name: "x", image: "a", budget_bytes: 1, warn_at: NaN}', "must be a percentage between 0 and 100, got nan"),
        ('{name: "x", image: "a", budget_bytes: 100, reserve_bytes: 100}', "image_budgets[0].reserve_bytes: reserve_bytes (100) leaves no room in budget_bytes (100)"),
        ('{name: "x", image: "a", budget_bytes: 1, reserve_bytes: "lots"}', "image_budgets[0].reserve_bytes:"),
        ('{name: "x", image: "a", budget_bytes: "1 MiB", format: 7}', "image_budgets[0].format: expected a string, got an integer"),
    ],
)
def test_bad_entries(tmp_path: Path, entry: str, expected: str) -> None:
    assert expected in problems(tmp_path, "{image_budgets: [" + entry + "]}")


def test_every_problem_at_once_with_lines(tmp_path: Path) -> None:
    text = problems(
        tmp_path,
        """{
  image_budgets: [
    {name: "a", budget_bytes: 1},
    {name: "b", image: "b.img", budget_bytes: 1, warn_at: 200},
    {name: "c", image: "c.img", budget_bytes: 1, reserve_bytes: 1},
  ],
}""",
    )
    assert "3 problems" in text
    assert "b.json5:3:5: image_budgets[0]: missing required key 'image'" in text
    assert "b.json5:4:50: image_budgets[1].warn_at: must be a percentage" in text
    assert "b.json5:5:50: image_budgets[2].reserve_bytes: reserve_bytes (1) leaves no room" in text
