"""AOSP's own cases for ``check_partition_sizes.py`` (its ``test_check_partition_sizes.py``,
android_super.md §1.9) give AOSP's verdicts and messages."""

from __future__ import annotations

import pytest

from pytest_sizebudget.android.info import InfoDict, InfoError, parse_lines, parse_text
from pytest_sizebudget.android.partition_sizes import (
    PartitionSize,
    SuperOutcome,
    check_partition_sizes,
)

BASE = """
    use_dynamic_partitions=true
    ab_update=true
    super_block_devices=super
    dynamic_partition_list=system vendor product
    super_partition_groups=group
    super_group_partition_list=system vendor product
    super_partition_size=202
    super_super_device_size=202
    super_group_group_size=100
    system_image_size=50
    vendor_image_size=20
    product_image_size=20
    system_other_image_size=10
"""


def info(*updates: str) -> InfoDict:
    merged = parse_lines(BASE.split("\n"), "misc_info.txt")
    for text in updates:
        merged = merged.merged(parse_lines(text.split("\n"), "update.txt"))
    return merged


def sizes_from_keys(d: InfoDict):  # type: ignore[no-untyped-def]
    def size_of(name: str) -> PartitionSize:
        key = f"{name}_image_size"
        if key not in d:
            raise InfoError(f"partition {name!r} has no {key}")
        return PartitionSize(d.integer(key), d.where(key))

    return size_of


def run(d: InfoDict) -> SuperOutcome:
    return check_partition_sizes(d, sizes_from_keys(d))


def verdicts(o: SuperOutcome) -> dict[str, str]:
    return {c.id: c.verdict for c in o.checks}


def aosp_passes(o: SuperOutcome) -> bool:
    return o.first_error is None


def test_ab() -> None:
    o = run(info())
    assert (o.slots, o.budget_bytes, o.used_bytes) == (2, 101, 90)
    assert o.warn_limit.bytes == 191
    assert o.warn_limit.source == "default: 95% of super"
    assert aosp_passes(o)
    assert verdicts(o) == {
        "super_size": "pass",
        "error_limit": "pass",
        "warn_limit": "pass",
        "group:group": "pass",
        "groups": "pass",
        "groups_metadata": "warn",
    }
    # Observed by running AOSP's script on this dictionary (android_super.md §1.8).
    assert o.warnings[0].message() == (
        "sum of sizes of ['group'] plus 1M metadata is greater than "
        "BOARD_SUPER_PARTITION_SIZE / 2:\n100+1048576 == 1048676 > 101 == 101"
    )
    # system_other is not counted for plain A/B: the _b half leaves room for it.
    assert [p.name for p in o.partitions if p.counted] == ["system", "vendor", "product"]


def test_limits_floor_after_95_percent() -> None:
    o = run(info())
    checks = {c.id: c for c in o.checks}
    assert checks["warn_limit"].right.value == 95  # 202*95//100 = 191, // 2 = 95
    assert checks["error_limit"].right.value == 101
    assert checks["super_size"].right.desc == "BOARD_SUPER_PARTITION_SIZE / 2"


def test_non_ab() -> None:
    o = run(info("ab_update=false\nsuper_partition_size=101\nsuper_super_device_size=101"))
    assert (o.slots, o.budget_bytes) == (1, 101)
    assert aosp_passes(o)
    assert o.checks[0].right.desc == "BOARD_SUPER_PARTITION_SIZE"  # no " / 1"


def test_non_dap() -> None:
    with pytest.raises(InfoError, match="should only be executed on builds with dynamic"):
        run(info("use_dynamic_partitions=false"))


def test_retrofit_dap() -> None:
    o = run(
        info(
            "dynamic_partition_retrofit=true\nsuper_block_devices=system vendor\n"
            "super_system_device_size=75\nsuper_vendor_device_size=25\nsuper_partition_size=100"
        )
    )
    assert o.slots == 1
    assert aosp_passes(o)
    assert "groups_metadata" not in verdicts(o)  # retrofit: <= and no 1 MiB warning
    checks = {c.id: c for c in o.checks}
    assert checks["groups"].message().splitlines()[1] == "100 == 100 <= 100 == 100"
    assert checks["block_devices"].message() == (
        "sum of super partition block device sizes equals BOARD_SUPER_PARTITION_SIZE:\n"
        "75+25 == 100 == 100 == 100"
    )


def test_ab_partition_too_big() -> None:
    o = run(info("system_image_size=100"))
    assert o.first_error is not None
    assert o.first_error.id == "super_size"
    assert o.first_error.message() == (
        "sum of sizes of ['system', 'vendor', 'product'] is greater than "
        "BOARD_SUPER_PARTITION_SIZE / 2:\n100+20+20 == 140 > 101 == 101"
    )
    assert o.used_bytes > o.budget_bytes


def test_ab_group_too_big() -> None:
    o = run(info("super_group_group_size=110"))
    assert o.first_error is not None
    assert o.first_error.id == "groups"
    assert o.first_error.message() == (
        "sum of sizes of ['group'] is greater than or equal to "
        "BOARD_SUPER_PARTITION_SIZE / 2:\n110 == 110 >= 101 == 101"
    )


def test_group_equal_to_half_super_fails_strictly() -> None:
    o = run(info("super_group_group_size=101"))
    assert o.first_error is not None
    assert o.first_error.id == "groups"


def test_no_image() -> None:
    d = info()
    values = {k: d[k] for k in d if k != "system_image_size"}
    with pytest.raises(InfoError, match="system"):
        run(parse_lines([f"{k}={v}" for k, v in values.items()], "x"))


def test_block_devices_not_match() -> None:
    o = run(
        info(
            "dynamic_partition_retrofit=true\nsuper_block_devices=system vendor\n"
            "super_system_device_size=80\nsuper_vendor_device_size=25\nsuper_partition_size=100"
        )
    )
    assert o.first_error is not None
    assert o.first_error.id == "block_devices"
    assert o.first_error.message().endswith("80+25 == 105 != 100 == 100")


def test_retrofit_vab() -> None:
    o = run(info("virtual_ab=true\nvirtual_ab_retrofit=true"))
    assert o.slots == 2
    assert aosp_passes(o)


def test_retrofit_vab_too_big() -> None:
    o = run(info("virtual_ab=true\nvirtual_ab_retrofit=true\nsystem_image_size=100"))
    assert o.first_error is not None
    assert o.first_error.id == "super_size"


def test_vab() -> None:
    o = run(info("virtual_ab=true\nsuper_partition_size=101\nsuper_super_device_size=101"))
    assert (o.slots, o.used_bytes, o.budget_bytes) == (1, 100, 101)
    assert [p.name for p in o.partitions if p.counted][-1] == "system_other"
    assert aosp_passes(o)


def test_vab_too_big() -> None:
    o = run(
        info(
            "virtual_ab=true\nsuper_partition_size=100\nsuper_super_device_size=100\n"
            "system_image_size=100"
        )
    )
    assert o.first_error is not None


def test_vab_too_big_with_system_other() -> None:
    o = run(
        info(
            "virtual_ab=true\nsystem_other_image_size=20\nsuper_partition_size=101\n"
            "super_super_device_size=101"
        )
    )
    assert o.first_error is not None
    assert o.first_error.id == "super_size"
    assert o.first_error.message().endswith("50+20+20+20 == 110 > 101 == 101")


def test_retrofit_with_virtual_ab_is_refused() -> None:
    with pytest.raises(InfoError, match="must use regular"):
        run(info("dynamic_partition_retrofit=true\nvirtual_ab=true"))


def test_retrofit_without_ab_is_refused() -> None:
    with pytest.raises(InfoError, match="must use regular"):
        run(info("dynamic_partition_retrofit=true\nab_update=false"))


def test_warn_limit_only_warns() -> None:
    o = run(info("super_partition_warn_limit=170"))  # 170 // 2 = 85 < 90
    assert aosp_passes(o)
    assert verdicts(o)["warn_limit"] == "warn"
    assert o.warn_limit.source == "super_partition_warn_limit (update.txt:1)"


def test_error_limit_below_super() -> None:
    o = run(info("super_partition_error_limit=170"))  # 85 < 90: an error
    assert o.first_error is not None
    assert o.first_error.id == "error_limit"
    assert o.budget_bytes == 85
    assert o.first_error.right.desc == "BOARD_SUPER_PARTITION_ERROR_LIMIT / 2"


def test_alignment_rounds_up_every_size() -> None:
    # AOSP crashes here (TypeError: the alignment stays a string); the budget rounds.
    o = run(info("super_partition_alignment=16"))
    assert o.used_bytes == 64 + 32 + 32
    assert o.first_error is not None
    assert o.first_error.id == "super_size"
    system = next(p for p in o.partitions if p.name == "system")
    assert (system.bytes, system.aligned_bytes) == (50, 64)


def test_duplicates_count_twice() -> None:
    o = run(info("dynamic_partition_list=system system"))
    assert o.used_bytes == 100


def test_bad_number_names_its_line() -> None:
    with pytest.raises(InfoError, match=r"super_partition_size=20x \(update.txt:1\)"):
        run(info("super_partition_size=20x"))


def test_zero_alignment() -> None:
    with pytest.raises(InfoError, match="must not be 0"):
        run(info("super_partition_alignment=0"))


def test_missing_super_size() -> None:
    d = info()
    values = [f"{k}={d[k]}" for k in d if k != "super_partition_size"]
    with pytest.raises(InfoError, match="super_partition_size is not set"):
        run(parse_lines(values, "x"))


def test_round_trip() -> None:
    o = run(info("super_partition_alignment=16"))
    assert SuperOutcome.from_dict(o.to_dict()) == o


# --- the key=value reader -----------------------------------------------------------------


def test_lines_as_aosp_reads_them() -> None:
    d = parse_text(
        b"# comment\n  a=1  \nno equals sign\nb = x # kept\nc=\n=v\nd=1=2\na=3\n", "f.txt"
    )
    assert dict(d) == {"a": "3", "b ": " x # kept", "c": "", "": "v", "d": "1=2"}
    assert d.origin("a") == "f.txt:8"
    assert d.words("missing") == []


def test_not_text() -> None:
    with pytest.raises(InfoError, match="byte offset 2: a NUL byte"):
        parse_text(b"a=\0", "f.txt")
    with pytest.raises(InfoError, match="byte offset 2: not UTF-8"):
        parse_text(b"a=\xff", "f.txt")
