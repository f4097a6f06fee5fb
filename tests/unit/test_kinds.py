"""The kind protocol and registry, without pytest: registration, typed details that
round-trip through JSON, and the core evaluating kinds it does not name."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pytest_sizebudget.budget.parse import load_budget_file
from pytest_sizebudget.evaluate import BudgetEvaluator
from pytest_sizebudget.kinds.builtin import builtin_kind_list, builtin_kinds
from pytest_sizebudget.kinds.image import ImageKind
from pytest_sizebudget.kinds.registry import KindError, KindRegistry
from pytest_sizebudget.packages.blob_sizes import BlobSizeStore
from pytest_sizebudget.report.model import BudgetResult, RawDetails, Status
from tests.conftest import Product

EXAMPLE = Path(__file__).parents[2] / "conftest_examples"


def test_registering_the_same_kind_twice_changes_nothing() -> None:
    registry = builtin_kinds()
    before = list(registry.sections)
    registry.register(ImageKind())
    assert list(registry.sections) == before


@pytest.mark.parametrize(
    ("name", "titles", "sections", "message"),
    [
        ("image", {"x": "X"}, {"x_budgets": None}, "budget kind 'image' is registered twice"),
        ("Bad-Name", {"bad": "B"}, {"b": None}, "use lower case"),
        (
            "other",
            {"product": "P"},
            {"o": None},
            "result kind 'product' of 'other' belongs to 'product'",
        ),
        ("other", {"other": "O"}, {}, "reads no section"),
        ("other", {"other": "O"}, {"update_budgets": None}, "is read by 'update'"),
    ],
)
def test_registry_refuses_clashes(
    name: str, titles: dict[str, str], sections: dict[str, None], message: str
) -> None:
    kind = type("K", (ImageKind,), {"name": name, "titles": titles, "sections": sections})()
    with pytest.raises(KindError, match=message):
        builtin_kinds().register(kind)


def test_sections_come_in_registration_order() -> None:
    assert list(builtin_kinds().sections) == [
        "package_set_budgets",
        "resource_budgets",
        "product_budgets",
        "update_budgets",
        "image_budgets",
        "super_budgets",
        "ota_budgets",
        "elf_budgets",
        "flash_budgets",
    ]
    names = [k.name for k in builtin_kind_list()]
    assert names == ["package_set", "product", "update", "image", "super", "ota", "elf", "flash"]


def example_results(tmp_path: Path) -> list[BudgetResult]:
    shutil.copytree(EXAMPLE, tmp_path / "ex")
    registry = builtin_kinds()
    evaluator = BudgetEvaluator(
        BlobSizeStore([tmp_path / "ex" / "out" / "blobs.json"]),
        display_root=tmp_path,
        kinds=registry,
    )
    out: list[BudgetResult] = []
    for name in ("product", "ota", "images", "ffx_budgets"):
        path = next((tmp_path / "ex").glob(f"{name}.sizebudget.json*"))
        bf = load_budget_file(path, kinds=registry)
        out.extend(evaluator.evaluate(bf).results.values())
    return out


def test_every_builtin_kinds_details_round_trip_through_json(tmp_path: Path) -> None:
    results = example_results(tmp_path)
    assert {r.kind for r in results} == {"package_set", "resource", "product", "update", "image"}
    registry = builtin_kinds()
    for r in results:
        assert r.error is None, r.error
        back = registry.result_from_dict(json.loads(json.dumps(r.to_dict())))
        assert back == r, r.name
        assert back.to_dict() == r.to_dict()
        assert type(back.details) is type(r.details)


def test_details_of_an_unknown_kind_are_kept_as_read(tmp_path: Path) -> None:
    data = example_results(tmp_path)[0].to_dict()
    data = {**data, "kind": "gone_kind", "custom_field": [1, 2]}
    back = KindRegistry().result_from_dict(data)
    assert isinstance(back.details, RawDetails)
    assert back.to_dict() == data


def test_status_is_computed_once_from_the_result(tmp_path: Path) -> None:
    results = {r.name: r for r in example_results(tmp_path)}
    assert results["Fonts"].status is Status.OK
    from dataclasses import replace

    assert replace(results["Fonts"], used_bytes=10**9).status is Status.OVER
    assert replace(results["Fonts"], error="x").status is Status.ERROR
    assert replace(results["Fonts"], warning="close").status is Status.WARN


def test_missing_blob_text_keeps_braces_in_paths_and_messages(product: Product) -> None:
    """The product kind once built a str.format template from paths: '{' raised KeyError."""
    manifest = product.root / "{pkg}" / "package_manifest.json"
    manifest.parent.mkdir()
    merkle = "a" * 64
    manifest.write_text(
        json.dumps(
            {
                "version": "1",
                "package": {"name": "p{0}", "version": "0"},
                "blobs": [{"path": "data/{x}.bin", "merkle": merkle, "size": 5}],
            }
        )
    )
    bf = load_budget_file(
        product.budget_file(
            {
                "product_budgets": [
                    {
                        "name": "P",
                        "max_contents_bytes": 10,
                        "packages": ["{pkg}/package_manifest.json"],
                    }
                ]
            }
        )
    )
    result = BudgetEvaluator(BlobSizeStore([])).result(bf, "product_budgets[0]")
    assert result.error is not None
    assert "p{0}: data/{x}.bin merkle " + merkle in result.error


@pytest.mark.parametrize("kind", ["package_set", "resource", "product", "update", "image"])
def test_a_result_that_could_not_be_checked_round_trips(kind: str) -> None:
    result = BudgetResult(
        name="n", kind=kind, file="f", line=1, key="k", budget_bytes=1, error="unreadable"
    )
    back = builtin_kinds().result_from_dict(json.loads(json.dumps(result.to_dict())))
    assert back == result
    assert back.to_dict() == result.to_dict()


def test_details_another_version_wrote_are_kept_as_read() -> None:
    data = BudgetResult(
        name="n", kind="update", file="f", line=1, key="k", budget_bytes=1
    ).to_dict()
    data["peak_bytes"] = "not a number"
    back = builtin_kinds().result_from_dict(data)
    assert isinstance(back.details, RawDetails)
    assert back.to_dict() == data


def test_every_builtin_spec_says_what_its_kind_says() -> None:
    """Built-in kinds are registered by spec and imported when used; each spec must name
    the sections and result kinds its class has (``KindSpec.load`` checks it)."""
    from pytest_sizebudget.kinds.builtin import BUILTIN_KINDS

    assert [spec.load().name for spec in BUILTIN_KINDS] == [s.name for s in BUILTIN_KINDS]


def test_a_spec_that_differs_from_its_class_is_an_error() -> None:
    from dataclasses import replace

    from pytest_sizebudget.kinds.builtin import BUILTIN_KINDS
    from pytest_sizebudget.kinds.registry import KindError

    wrong = replace(BUILTIN_KINDS[3], sections=("images_budgets",))
    with pytest.raises(KindError, match="differs"):
        wrong.load()


def test_a_package_set_run_imports_no_other_kind(pytester: pytest.Pytester) -> None:
    """Kinds a run does not use are not imported (they cost start-up time)."""
    pytester.makepyfile(
        test_probe="""
        import sys

        def test_probe():
            loaded = {m for m in sys.modules if m.startswith("pytest_sizebudget.kinds.")}
            assert "pytest_sizebudget.kinds.elf" not in loaded
            assert "pytest_sizebudget.kinds.android_super" not in loaded
        """
    )
    pytester.runpytest_subprocess("-p", "no:randomly").assert_outcomes(passed=1)
