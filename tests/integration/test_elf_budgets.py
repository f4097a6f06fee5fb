"""ELF budgets as users run them, checked against GNU ld's own ``--print-memory-usage``.

Every test program is compiled and linked here by the real toolchain (Debian's
``gcc-arm-none-eabi``, the host's ``gcc`` for a 64-bit program; ``.ci/run`` installs
them), and every region's ``used_bytes`` must equal the "Used Size" ld printed for the
same link, and ``budget_bytes`` its "Region Size".  The tests skip only where the
toolchain is missing.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.firmware_builds import (
    HELPER_C,
    LAYOUTS,
    MAIN_C,
    Build,
    Layout,
    build,
    build_host,
    strip_all,
    without_section_headers,
)

WARNING = "pytest_sizebudget.plugin.SizeBudgetWarning"


def write_budgets(pytester: pytest.Pytester, *entries: dict[str, Any]) -> None:
    pytester.makeini("[pytest]\nconsole_output_style = classic\n")
    (pytester.path / "fw.sizebudget.json5").write_text(json.dumps({"elf_budgets": list(entries)}))


def run(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict[str, Any]]:
    result = pytester.runpytest("--sizebudget", "--sizebudget-json=r.json", *args)
    report = json.loads((pytester.path / "r.json").read_text())
    return result, {b["name"]: b for b in report["budgets"]}


def rel(pytester: pytest.Pytester, path: Path) -> str:
    return path.relative_to(pytester.path).as_posix()


def assert_matches_ld(report: dict[str, Any], name: str, b: Build) -> None:
    for region, (used, size) in b.usage.items():
        entry = report[f"{name}/{region}"]
        assert entry["error"] is None, entry["error"]
        assert (entry["used_bytes"], entry["budget_bytes"]) == (used, size), (region, entry)


@pytest.mark.parametrize("big_endian", [False, True], ids=["le", "be"])
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_every_region_matches_ld(pytester: pytest.Pytester, layout: str, big_endian: bool) -> None:
    b = build(pytester.path / "out", LAYOUTS[layout], big_endian=big_endian)
    elf = rel(pytester, b.elf)
    write_budgets(pytester, {"name": "fw", "elf": elf, "map": rel(pytester, b.map)})
    result, report = run(pytester)
    assert_matches_ld(report, "fw", b)
    assert set(report) == {f"fw/{r}" for r in b.usage}
    order = "big-endian" if big_endian else "little-endian"
    assert {e["elf_region"]["elf"] for e in report.values()} == {f"ELF32 {order} ARM"}
    over = b.overflows()
    assert {
        n.split("/")[1]: e["used_bytes"] - e["budget_bytes"]
        for n, e in report.items()
        if not e["passed"]
    } == over
    result.assert_outcomes(passed=1 + len(b.usage) - len(over), failed=len(over))


def test_inline_regions_give_the_same_numbers(pytester: pytest.Pytester) -> None:
    b = build(pytester.path / "out", LAYOUTS["ccm"])
    regions = [
        {"name": "FLASH", "origin": "0x08000000", "length": "32 KiB"},
        {"name": "RAM", "origin": 0x20000000, "length": 16384},
        {"name": "CCM", "origin": 0x10000000, "length": 8192},
        {"name": "EMPTY", "origin": 0x30000000, "length": 0},
    ]
    write_budgets(pytester, {"name": "fw", "elf": rel(pytester, b.elf), "regions": regions})
    result, report = run(pytester)
    assert_matches_ld(report, "fw", b)
    result.assert_outcomes(passed=5)


@pytest.mark.parametrize("how", ["strip-all", "no-section-headers"])
@pytest.mark.parametrize("layout", ["basic", "ccm", "tls", "overflow"])
def test_stripped_programs(pytester: pytest.Pytester, layout: str, how: str) -> None:
    b = build(pytester.path / "out", LAYOUTS[layout])
    stripped = pytester.path / "out" / "stripped.elf"
    if how == "strip-all":
        strip_all(b.elf, stripped)
    else:
        without_section_headers(b.elf, stripped)
    write_budgets(pytester, {"name": "fw", "elf": "out/stripped.elf", "map": rel(pytester, b.map)})
    _, report = run(pytester)
    assert_matches_ld(report, "fw", b)
    source = "program headers" if how == "no-section-headers" else "sections"
    assert {e["elf_region"]["source"] for e in report.values()} == {source}


def test_host_program_64_bit(pytester: pytest.Pytester) -> None:
    b = build_host(pytester.path / "out")
    write_budgets(
        pytester, {"name": "host", "elf": rel(pytester, b.elf), "map": rel(pytester, b.map)}
    )
    result, report = run(pytester)
    assert_matches_ld(report, "host", b)
    assert report["host/ROM"]["elf_region"]["elf"] == "ELF64 little-endian X86_64"
    # The map's Memory Configuration of a 64-bit link has 16 hex digits per number.
    assert "0x0000000000400000" in b.map.read_text()
    result.assert_outcomes(passed=3)


def test_failure_lists_sections_objects_and_limits(pytester: pytest.Pytester) -> None:
    b = build(pytester.path / "out", LAYOUTS["basic"])
    write_budgets(
        pytester,
        {
            "name": "fw",
            "elf": rel(pytester, b.elf),
            "map": rel(pytester, b.map),
            "regions": ["FLASH", "RAM"],
            "limits": {"RAM": {"budget_bytes": 3000}, "FLASH": {"warn_at": 20}},
        },
    )
    result, report = run(pytester, "-W", f"default::{WARNING}")
    assert set(report) == {"fw/FLASH", "fw/RAM"}
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "Memory region 'fw/RAM' is over budget by 108 B",
            '  used          3,108 B (3.04 KiB)  (ld\'s "Used Size")',
            "  budget        3,000 B (2.93 KiB)",
            "  region        RAM (xrw) 0x20000000, length 20,480 B (20.00 KiB), 15.18% used",
            "  elf           out/basic.elf (ELF32 little-endian ARM, from sections)",
            "Largest sections in RAM:",
            "         2,048 B  .stack  (at 0x20000424)",
            "         1,024 B  .bss  (at 0x20000004)",
            "            32 B  .noinit  (at 0x20000404)",
            "             4 B  .data  (at 0x20000000)",
            "Largest input objects (out/basic.map):",
            "         2,048 B  (fill)",
            "         1,060 B  basic_0.o",
        ]
    )
    # FLASH: the table at 0x4000 leaves a gap; .data counts at its load address.
    flash = report["fw/FLASH"]["elf_region"]
    assert flash["gap_bytes"] == 16404 - 336 - 16 - 4
    assert {(s["name"], s["place"]) for s in flash["sections"]} == {
        (".text", "run"),
        (".table", "run"),
        (".data", "load"),
    }
    result.stdout.fnmatch_lines(
        ["*memory region 'fw/FLASH' is at 25.0% of its budget, above warn_at 20%*"]
    )


def test_baseline_deltas_of_sections_and_objects(pytester: pytest.Pytester) -> None:
    out = pytester.path / "out"
    b = build(out, LAYOUTS["basic"])
    entry = {
        "name": "fw",
        "elf": rel(pytester, b.elf),
        "map": rel(pytester, b.map),
        "limits": {"RAM": {"creep_budget_bytes": 100}},
    }
    write_budgets(pytester, entry)
    result = pytester.runpytest("--sizebudget", "--sizebudget-json=base.json")
    result.assert_outcomes(passed=4)
    bigger = Layout(
        "basic", LAYOUTS["basic"].script, (MAIN_C.replace("buffer[1024]", "buffer[1536]"), HELPER_C)
    )
    build(out, bigger)
    result, report = run(pytester, "--sizebudget-baseline=base.json")
    ram = report["fw/RAM"]
    assert ram["delta_bytes"] == 512
    changes = ram["elf_region"]["changes"]
    assert changes[0] == {
        "what": "object",
        "name": changes[0]["name"],
        "old_bytes": 1060,
        "new_bytes": 1572,
        "delta_bytes": 512,
    }
    assert {
        "what": "section",
        "name": ".bss",
        "old_bytes": 1024,
        "new_bytes": 1536,
        "delta_bytes": 512,
    } in changes
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        [
            "Memory region 'fw/RAM' grew by 512 B since the baseline, over its creep budget of 100 B by 412 B",
            "Changes since the baseline (largest first):",
            "            +512 B  object basic_0.o  (1,060 -> 1,572 B)",
            "            +512 B  section .bss  (1,024 -> 1,536 B)",
        ]
    )


def test_errors_stay_with_their_budget(pytester: pytest.Pytester) -> None:
    b = build(pytester.path / "out", LAYOUTS["basic"])
    elf = rel(pytester, b.elf)
    write_budgets(
        pytester,
        {"name": "good", "elf": elf, "map": rel(pytester, b.map)},
        {"name": "no map", "elf": elf, "map": "out/missing.map"},
        {
            "name": "flash only",
            "elf": elf,
            "regions": [{"name": "FLASH", "origin": 0x08000000, "length": 65536}],
        },
    )
    result, report = run(pytester)
    assert report["no map"]["error"].startswith(
        "elf_budgets[1].map: out/missing.map: does not exist"
    )
    outside = report["flash only/FLASH"]["error"]
    assert outside.startswith(
        "elf_budgets[2]: out/basic.elf: 4 allocated section range(s) lie "
        "outside every memory region: .data (address 0x20000000, 4 B)"
    )
    assert ".stack (address 0x20000424, 2,048 B)" in outside
    result.assert_outcomes(passed=4, failed=2)


def test_same_results_with_xdist(pytester: pytest.Pytester) -> None:
    b = build(pytester.path / "out", LAYOUTS["ccm"])
    write_budgets(
        pytester, {"name": "fw", "elf": rel(pytester, b.elf), "map": rel(pytester, b.map)}
    )
    _, serial = run(pytester)
    _, parallel = run(pytester, "-n", "2")
    assert serial == parallel


def test_example_firmware_matches_its_map(pytester: pytest.Pytester) -> None:
    """The prebuilt example in conftest_examples/firmware is what its build notes say."""
    here = Path(__file__).parents[2] / "conftest_examples" / "firmware"
    if not here.exists():
        pytest.skip("no firmware example")
    for name in ("blinky.elf", "blinky.map"):
        shutil.copy(here / name, pytester.path / name)
    write_budgets(pytester, {"name": "blinky", "elf": "blinky.elf", "map": "blinky.map"})
    _, report = run(pytester)
    usage = (here / "memory-usage.txt").read_text()
    from tests.firmware_builds import parse_memory_usage

    for region, (used, size) in parse_memory_usage(usage).items():
        assert (
            report[f"blinky/{region}"]["used_bytes"],
            report[f"blinky/{region}"]["budget_bytes"],
        ) == (used, size)
