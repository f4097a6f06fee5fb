"""Fxfs products, as a user runs them: ``filesystem: "fxfs"``, images manifests that say
which filesystem they hold, and the libzstd warning."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
import zstandard

from pytest_sizebudget.measure.merkle import merkle_root
from tests.unit.measure.test_fxfs import oracle

BLOBS = {
    "bin/app": random.Random(4).randbytes(20000),  # raw in both: Fxfs adds a metadata block
    "data/zeros": bytes(1 << 20),
    "data/text": b"fxfs blob size " * 3000,
}


def _package(root: Path, name: str, blobs: dict[str, bytes]) -> str:
    (root / name).mkdir(parents=True, exist_ok=True)
    entries = []
    for path, data in blobs.items():
        source = path.replace("/", "_")
        (root / name / source).write_bytes(data)
        entries.append(
            {"source_path": source, "path": path, "merkle": merkle_root(data), "size": len(data)}
        )
    manifest = {
        "version": "1",
        "package": {"name": name, "version": "0"},
        "blobs": entries,
        "blob_sources_relative": "file",
    }
    (root / name / "package_manifest.json").write_text(json.dumps(manifest))
    return f"{name}/package_manifest.json"


def _report(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict[str, Any]]:
    result = pytester.runpytest("--sizebudget", "--sizebudget-json=r.json", *args)
    report = json.loads((pytester.path / "r.json").read_text())
    return result, {b["name"]: b for b in report["budgets"]} | {"": report}


def test_package_set_measured_as_fxfs(pytester: pytest.Pytester) -> None:
    manifest = _package(pytester.path, "app", BLOBS)
    expected = sum(oracle(d)[0] for d in BLOBS.values())
    assert expected == 24576 + 12288 + oracle(BLOBS["data/text"])[0]
    for name, top in (("fx", {"filesystem": "fxfs"}), ("bf", {})):
        budget = {
            **top,
            "package_set_budgets": [
                {"name": name, "budget_bytes": expected, "packages": [manifest]}
            ],
        }
        (pytester.path / f"{name}.sizebudget.json5").write_text(json.dumps(budget))
    result, budgets = _report(pytester, "--sizebudget-cache-dir=cache")
    fx, bf = budgets["fx"], budgets["bf"]
    assert fx["used_bytes"] == expected
    assert fx["parameters"] == {"filesystem": "fxfs", "sharing": "per_set"}
    assert "filesystem" not in bf["parameters"]  # blobfs results are as they were
    assert bf["parameters"]["blobfs_layout"] == "compact"
    assert bf["used_bytes"] != expected  # the same blobs in blobfs take other space
    # Each format has its own cache directory (fingerprint); a second run is all hits.
    fingerprints = {p.name for p in (pytester.path / "cache/v1/packs").iterdir()}
    assert len(fingerprints) == 2
    again = pytester.runpytest("--sizebudget", "--sizebudget-cache-dir=cache")
    again.assert_outcomes(passed=4)
    again.stdout.fnmatch_lines(["blob measurement: 0 blobs measured (0 compressed), 6 cache hits*"])
    result.assert_outcomes(passed=4)


def _images(
    root: Path, rel: str, image: dict[str, Any], blobs: dict[str, bytes], sizes: dict[str, int]
) -> str:
    contents = {
        "packages": {
            "base": [
                {
                    "name": "app",
                    "manifest": "obj/app/package_manifest.json",
                    "blobs": [
                        {"path": p, "merkle": merkle_root(d), "used_space_in_blobfs": sizes[p]}
                        for p, d in blobs.items()
                    ],
                }
            ],
            "cache": [],
        },
        "maximum_contents_size": 1 << 30,
    }
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "images": [
                    {"type": "zbi", "name": "zircon-a", "path": "z"},
                    {**image, "contents": contents},
                ]
            }
        )
    )
    return rel


FXFS_SPARSE = {"type": "blk", "name": "fxfs.fastboot", "path": "fxfs.sparse.blk"}
BLOBFS = {"type": "blk", "name": "blob", "path": "blob.blk"}


def test_update_from_an_fxfs_images_manifest_measures_new_blobs_as_fxfs(
    pytester: pytest.Pytester,
) -> None:
    old = {"bin/app": BLOBS["bin/app"]}
    v1 = _images(pytester.path, "v1/images.json", FXFS_SPARSE, old, {"bin/app": 24576})
    v2 = _package(pytester.path, "app", BLOBS)
    budget = {
        "update_budgets": [
            {
                "name": "ota",
                "capacity_bytes": "10 MiB",
                "from": {"images_manifest": v1},
                "to": {"packages": [v2]},
            }
        ]
    }
    (pytester.path / "u.sizebudget.json5").write_text(json.dumps(budget))
    result, budgets = _report(pytester)
    result.assert_outcomes(passed=2)
    ota = budgets["ota"]
    assert ota["parameters"]["filesystem"] == "fxfs"
    assert "blobfs_layout" not in ota["parameters"]
    assert ota["to_bytes"] == sum(oracle(d)[0] for d in BLOBS.values())
    # Delivery blobs of the two new blobs: header + archive (frames with checksums).
    checked = zstandard.ZstdCompressor(level=14, write_checksum=True)
    zeros = 28 + 32 + 32 * 32 + 32 * len(checked.compress(bytes(32768)))
    text = BLOBS["data/text"]
    text_frames = [len(checked.compress(text[i : i + 32768])) for i in range(0, len(text), 32768)]
    text_dl = 28 + min(len(text), 32 + 32 * len(text_frames) + sum(text_frames))
    assert ota["download_bytes"] == zeros + text_dl


def test_file_and_manifest_naming_other_filesystems_is_an_error(pytester: pytest.Pytester) -> None:
    old = {"bin/app": BLOBS["bin/app"]}
    fx = _images(pytester.path, "fx/images.json", FXFS_SPARSE, old, {"bin/app": 24576})
    bf = _images(pytester.path, "bf/images.json", BLOBFS, old, {"bin/app": 24576})
    (pytester.path / "a.sizebudget.json5").write_text(
        json.dumps(
            {
                "filesystem": "blobfs",
                "product_budgets": [
                    {"name": "p", "max_contents_bytes": "1 MiB", "images_manifest": fx}
                ],
            }
        )
    )
    (pytester.path / "b.sizebudget.json5").write_text(
        json.dumps(
            {
                "update_budgets": [
                    {
                        "name": "u",
                        "capacity_bytes": "1 MiB",
                        "from": {"images_manifest": bf},
                        "to": {"images_manifest": fx},
                    }
                ],
                "product_budgets": [
                    {"name": "ok", "max_contents_bytes": "1 MiB", "images_manifest": fx}
                ],
            }
        )
    )
    result, budgets = _report(pytester)
    result.assert_outcomes(passed=3, failed=2)
    assert (
        "says filesystem 'blobfs' but images manifest fx/images.json holds a fxfs image"
        in budgets["p"]["error"]
    )
    assert (
        "holds a blobfs image but images manifest fx/images.json a fxfs image"
        in budgets["u"]["error"]
    )
    assert budgets["ok"]["parameters"]["filesystem"] == "fxfs"  # the manifest decides
    result.stdout.no_fnmatch_line("*Traceback*")


def test_libzstd_of_unknown_output_is_announced(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = _package(pytester.path, "app", {"data/text": BLOBS["data/text"]})
    (pytester.path / "s.sizebudget.json5").write_text(
        json.dumps(
            {
                "package_set_budgets": [
                    {"name": "s", "budget_bytes": "1 MiB", "packages": [manifest]}
                ]
            }
        )
    )
    result, budgets = _report(pytester)
    assert budgets[""]["tool"]["parameters"]["libzstd_matches_fuchsia"] is True
    result.stdout.no_fnmatch_line("*WARNING: libzstd*")

    monkeypatch.setattr(zstandard, "ZSTD_VERSION", (1, 5, 5))
    result, budgets = _report(pytester)
    result.assert_outcomes(passed=2)
    parameters = budgets[""]["tool"]["parameters"]
    assert parameters["libzstd_version"] == "1.5.5"
    assert parameters["libzstd_matches_fuchsia"] is False
    assert "may differ from Fuchsia's by a block per blob" in parameters["libzstd_warning"]
    result.stdout.fnmatch_lines(
        [
            "sizebudget: WARNING: libzstd 1.5.5 is not a version whose output is known to equal Fuchsia's*",
            "*= size budgets =*",
            "WARNING: libzstd 1.5.5 is not*",
        ]
    )
