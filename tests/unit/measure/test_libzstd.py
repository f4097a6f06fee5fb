"""The pinned compressor: which libzstd gives Fuchsia's sizes, and that sizes of another
are never mixed with them in the cache."""

from __future__ import annotations

from pathlib import Path

import pytest
import zstandard

from pytest_sizebudget.measure import cache as cache_module
from pytest_sizebudget.measure.blob import BlobMeasurement
from pytest_sizebudget.measure.cache import BlobCache, params_fingerprint
from pytest_sizebudget.measure.compress import (
    FUCHSIA_LIBZSTD_VERSIONS,
    libzstd_matches_fuchsia,
    libzstd_version,
    libzstd_warning,
)
from pytest_sizebudget.measure.formats import STORAGE_FORMATS, StorageFormat
from pytest_sizebudget.measure.sizer import size_parameters


def test_known_versions() -> None:
    assert libzstd_matches_fuchsia("1.5.7")
    assert libzstd_matches_fuchsia("1.5.6")
    assert not libzstd_matches_fuchsia("1.5.5")
    assert not libzstd_matches_fuchsia("1.5.8")  # not known yet: output may differ
    assert libzstd_warning("1.5.7") is None
    warning = libzstd_warning("1.5.5")
    assert warning is not None
    assert "libzstd 1.5.5" in warning
    assert "by a block per blob" in warning
    assert "zstandard>=0.23" in warning


def test_installed_zstandard_meets_the_pin() -> None:
    """pyproject requires zstandard>=0.23, whose bundled libzstd is 1.5.6 or newer."""
    major, minor = (int(p) for p in zstandard.__version__.split(".")[:2])
    assert (major, minor) >= (0, 23)
    assert libzstd_version() in FUCHSIA_LIBZSTD_VERSIONS


def test_report_parameters_say_whether_sizes_are_fuchsias(monkeypatch: pytest.MonkeyPatch) -> None:
    params = size_parameters()
    assert params["libzstd_matches_fuchsia"] is True
    assert "libzstd_warning" not in params
    from pytest_sizebudget.measure import sizer

    monkeypatch.setattr(sizer, "libzstd_version", lambda: "1.5.5")
    monkeypatch.setattr(sizer, "libzstd_matches_fuchsia", lambda: False)
    monkeypatch.setattr(sizer, "libzstd_warning", lambda: libzstd_warning("1.5.5"))
    params = size_parameters()
    assert params["libzstd_version"] == "1.5.5"
    assert params["libzstd_matches_fuchsia"] is False
    assert "libzstd 1.5.5" in str(params["libzstd_warning"])


@pytest.mark.parametrize("fmt", STORAGE_FORMATS)
def test_sizes_of_another_libzstd_never_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: StorageFormat
) -> None:
    """The fingerprint carries the libzstd version: an entry written with one version is
    a miss for another, in both directions, for every storage format."""
    merkle = "cd" * 32
    measurement = BlobMeasurement.from_frames(merkle, 100_000, [3000] * 4, fmt)
    fuchsia = BlobCache(tmp_path, fmt)
    fuchsia.put(measurement)
    fuchsia.flush()
    assert fuchsia.get(merkle) == measurement

    monkeypatch.setattr(cache_module, "libzstd_version", lambda: "1.5.5")
    other = BlobCache(tmp_path, fmt)
    assert other.fingerprint != fuchsia.fingerprint
    assert other.get(merkle) is None
    different = BlobMeasurement.from_frames(merkle, 100_000, [3100] * 4, fmt)
    other.put(different)
    other.flush()
    assert other.get(merkle) == different

    monkeypatch.undo()
    assert BlobCache(tmp_path, fmt).get(merkle) == measurement


def test_every_format_has_its_own_fingerprint() -> None:
    prints = {params_fingerprint(fmt) for fmt in STORAGE_FORMATS}
    assert len(prints) == len(STORAGE_FORMATS)
