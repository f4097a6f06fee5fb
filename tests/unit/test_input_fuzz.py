"""Fuzzing the readers of the JSON inputs a budget names: package manifests, blobs.json,
images.json and JSON reports.  Whatever the file holds, a reader returns or raises
``InputError``, never another exception (no RecursionError, ValueError, TypeError)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_sizebudget.errors import InputError
from pytest_sizebudget.packages.blob_sizes import load_blobs_json
from pytest_sizebudget.packages.manifest import load_manifest
from pytest_sizebudget.product_inputs import (
    load_compressed_sizes,
    load_images_manifest,
    load_report,
)

FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
MERKLE = "ab" * 32
KEYS = [
    *("version", "package", "name", "blobs", "merkle", "size", "path", "source_path"),
    *("subpackages", "manifest_path", "blob_sources_relative", "images", "contents"),
    *("packages", "base", "cache", "used_space_in_blobfs", "budgets", "kind", "manifest"),
    *("compressed_file_size",),
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["1", "file", "working_dir", MERKLE, "", "a\0b", "../x", "meta/"]),
    st.text(max_size=20),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=5),
    ),
    max_leaves=30,
)
# Documents close to valid ones, so that the shape checks deep inside are reached.
NEAR = st.one_of(
    JSON,
    st.builds(
        lambda blobs, extra: {
            "version": "1",
            "package": {"name": "p"},
            "blobs": blobs,
            **extra,
        },
        st.lists(st.dictionaries(st.sampled_from(KEYS), JSON, max_size=5), max_size=3),
        st.dictionaries(st.sampled_from(KEYS), JSON, max_size=3),
    ),
    st.lists(
        st.fixed_dictionaries(
            {"merkle": st.sampled_from([MERKLE, "x"]), "size": SCALARS},
            optional={"compressed_file_size": SCALARS},
        ),
        max_size=3,
    ),
    st.builds(
        lambda packages: {"budgets": [{"name": "b", "packages": packages}]},
        st.lists(JSON, max_size=3),
    ),
)

READERS: dict[str, Callable[[Path], Any]] = {
    "manifest": lambda p: load_manifest(p, working_dir=p.parent, include_subpackages=True),
    "blobs.json": load_blobs_json,
    "compressed sizes": lambda p: load_compressed_sizes(p, "in.json"),
    "images.json": lambda p: load_images_manifest(p, "in.json"),
    "report": lambda p: load_report(p, "in.json", ()),
}


def read_all(path: Path) -> None:
    for reader in READERS.values():
        with contextlib.suppress(InputError):  # anything else fails the test
            reader(path)


@FUZZ
@given(value=NEAR)
def test_json_values(tmp_path: Path, value: object) -> None:
    path = tmp_path / "in.json"
    path.write_text(json.dumps(value))
    read_all(path)


@FUZZ
@given(data=st.binary(max_size=200), depth=st.integers(min_value=0, max_value=3000))
def test_bytes_and_nesting(tmp_path: Path, data: bytes, depth: int) -> None:
    path = tmp_path / "in.json"
    path.write_bytes(b"[" * depth + data + b"]" * depth)
    read_all(path)
