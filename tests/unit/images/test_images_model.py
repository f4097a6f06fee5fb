from __future__ import annotations

import json
import pickle
from typing import Any

import pytest

from pytest_sizebudget.errors import InputError
from pytest_sizebudget.images import ImageFormatError, ImageSizes


def test_error_shape_and_pickling() -> None:
    err = ImageFormatError("a.img", 28, "chunk 3 is odd")
    assert isinstance(err, InputError)
    assert str(err) == "a.img: offset 28: chunk 3 is odd"
    assert str(ImageFormatError("a.img", None, "empty")) == "a.img: empty"
    back = pickle.loads(pickle.dumps(err))
    assert (back.file, back.offset, back.problem, str(back)) == (
        "a.img", 28, "chunk 3 is odd", str(err)
    )


def test_roundtrip_through_json() -> None:
    sizes = ImageSizes("android_sparse", 10, 4096, 1024, {"block_size": 4096, "b": "x"})
    data = json.loads(json.dumps(sizes.to_dict()))
    assert ImageSizes.from_dict(data) == sizes
    assert list(sizes.details) == ["b", "block_size"]
    assert hash(sizes) == hash(ImageSizes.from_dict(data))


def test_details_are_frozen() -> None:
    given: dict[str, Any] = {"k": 1}
    sizes = ImageSizes("raw", 1, 1, 1, given)
    given["k"] = 2
    assert sizes.details["k"] == 1
    with pytest.raises(TypeError):
        sizes.details["k"] = 3  # type: ignore[index]


@pytest.mark.parametrize(
    "data",
    [
        {"format": "ext4", "file_bytes": 1, "expanded_bytes": 1, "data_bytes": 1, "details": {}},
        {"format": "raw", "file_bytes": -1, "expanded_bytes": 1, "data_bytes": 1, "details": {}},
        {"format": "raw", "file_bytes": 1, "expanded_bytes": 1, "data_bytes": 2, "details": {}},
        {"format": "raw", "file_bytes": True, "expanded_bytes": 1, "data_bytes": 1, "details": {}},
        {"format": "raw", "file_bytes": 1, "expanded_bytes": 1, "data_bytes": 1, "details": []},
        {"format": "raw", "file_bytes": 1, "expanded_bytes": 1, "data_bytes": 1,
         "details": {"x": [1]}},
        {"format": "raw"},
    ],
)
def test_from_dict_rejects(data: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"."):
        ImageSizes.from_dict(data)
