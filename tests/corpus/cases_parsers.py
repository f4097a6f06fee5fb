"""Parsers of user input: budget-file syntax and limits, baselines, options and ini keys.

A broken budget file fails as its own ``budget file`` item, at the exact line and
column, and the good file beside it still passes and reaches the report.  A broken
baseline or option stops the run before any test with a usage error (exit status 4)
that names the key.
"""

from __future__ import annotations

import json
from typing import Any

from .runner import GOOD_FILES, Case, FileContent

# -- budget files ---------------------------------------------------------------------


def bad_file(text: str, name: str = "bad.sizebudget.json5") -> dict[str, FileContent]:
    """The good file, which must still pass, and a broken one beside it."""
    return {**GOOD_FILES, name: text}


def entry(**fields: Any) -> str:
    """A one-budget file: a package set named "A" with the given fields changed."""
    budget = {"name": "A", "budget_bytes": 1024, "packages": ["good/package_manifest.json"]}
    return json.dumps({"package_set_budgets": [{**budget, **fields}]})


SYSTEM = {"packages": ["good/package_manifest.json"]}


def update(**fields: Any) -> str:
    budget = {"name": "U", "capacity_bytes": 10**6, "from": SYSTEM, "to": SYSTEM}
    return json.dumps({"update_budgets": [{**budget, **fields}]})


def image(**fields: Any) -> str:
    budget = {"name": "I", "image": "good/blob", "budget_bytes": 10**6}
    return json.dumps({"image_budgets": [{**budget, **fields}]})


def file_case(id: str, text: str, *lines: str, name: str = "bad.sizebudget.json5") -> Case:
    """The broken file fails alone, with these lines; the good budget passes."""
    return Case(
        id=id,
        files=bad_file(text, name),
        outcomes={"passed": 2, "failed": 1},
        lines=lines,
        report={"Good": None},
    )


DEEP = '{"package_set_budgets": [' + "[" * 800 + "]" * 800 + "]}"
DEEPER = "{package_set_budgets: [" + "[" * 100_000 + "]" * 100_000 + "]}"
LEVELS = "objects and lists are nested deeper than the limit of 64 levels"

BUDGET_FILE_CASES = [
    file_case(
        "parsers-json5-missing-comma",
        "{package_set_budgets: [\n  {name: 'A' budget_bytes: 1}\n]}",
        "bad.sizebudget.json5:2:14: invalid JSON5: expected ',' or '}', got 'b'",
    ),
    file_case(
        "parsers-json5-unclosed-string",
        "{package_set_budgets: [\n  {name: 'A, budget_bytes: 1}\n]}",
        "bad.sizebudget.json5:2:10: invalid JSON5: the string is not closed before the end "
        "of its line (or of the file)",
    ),
    file_case(
        "parsers-json5-unclosed-comment",
        "{package_set_budgets: [] /* forgot to close\n}",
        "bad.sizebudget.json5:1:26: invalid JSON5: a /* comment is not closed",
    ),
    file_case(
        "parsers-json-trailing-brace",
        entry() + "\n}",
        "bad.sizebudget.json:2:1: invalid JSON5: expected the end of the file after the "
        "value, got '}'",
        name="bad.sizebudget.json",
    ),
    file_case(
        "parsers-empty-file",
        "  // nothing here\n",
        "bad.sizebudget.json5:2:1: invalid JSON5: no value: the file is empty or holds only "
        "comments",
    ),
    file_case(
        "parsers-bare-word-value",
        "{package_set_budgets: [{name: A, budget_bytes: 1, packages: []}]}",
        "bad.sizebudget.json5:1:31: invalid JSON5: expected a value, got 'A' (a string "
        "needs quotes)",
    ),
    file_case(
        "parsers-duplicate-key",
        '{"package_set_budgets": [],\n "package_set_budgets": []}',
        "bad.sizebudget.json5:2:2: invalid JSON5: key 'package_set_budgets' appears twice "
        "in one object",
    ),
    file_case(
        "parsers-nesting-800-json",
        DEEP,
        f"bad.sizebudget.json:1:88: package_set_budgets[[]0[]]*: {LEVELS}",
        name="bad.sizebudget.json",
    ),
    file_case(
        "parsers-nesting-100000-json5",
        DEEPER,
        f"bad.sizebudget.json5:1:86: package_set_budgets[[]0[]]*: {LEVELS}",
    ),
    file_case(
        "parsers-size-string-of-5000-digits",
        entry(budget_bytes="9" * 4000),
        "bad.sizebudget.json5:1:40: package_set_budgets[[]0[]].budget_bytes: a size string "
        "of 4,000 characters is longer than the limit of 64",
    ),
    file_case(
        "parsers-integer-of-5000-digits",
        entry().replace("1024", "9" * 5000),
        "bad.sizebudget.json5:1:40: package_set_budgets[[]0[]].budget_bytes: an integer of "
        "more than 64 digits is longer than the limit",
    ),
    file_case(
        "parsers-size-above-2-63",
        entry(budget_bytes=2**63),
        "bad.sizebudget.json5:1:40: package_set_budgets[[]0[]].budget_bytes: size "
        "9,223,372,036,854,775,808 is larger than the largest size, "
        "9,223,372,036,854,775,807 bytes (2^63 - 1)",
    ),
    file_case(
        "parsers-huge-name",
        entry(name="n" * 5000),
        "bad.sizebudget.json5:1:27: package_set_budgets[[]0[]].name: a string of 5,000 "
        "characters is longer than the limit of 4,096",
    ),
    file_case(
        "parsers-lone-surrogate-in-name",
        entry(name="bad \ud800"),  # json.dumps writes the escape \ud800
        "bad.sizebudget.json5:1:27: package_set_budgets[[]0[]].name: the string has a lone "
        "surrogate \\ud800 at character 5, which is not a Unicode character",
    ),
    file_case(
        "parsers-boolean-budget-bytes",
        entry(budget_bytes=True),
        "bad.sizebudget.json5:1:40: package_set_budgets[[]0[]].budget_bytes: expected a "
        "size, got the boolean true",
    ),
    file_case(
        "parsers-boolean-slots",
        update(slots=True),
        "bad.sizebudget.json5:1:*: update_budgets[[]0[]].slots: expected a positive integer "
        "(1, or 2 for A/B), got true",
    ),
    file_case(
        "parsers-boolean-download-budget",
        update(download_budget_bytes=False),
        "bad.sizebudget.json5:1:*: update_budgets[[]0[]].download_budget_bytes: expected a "
        "size, got the boolean false",
    ),
    file_case(
        "parsers-boolean-warn-at",
        image(warn_at=True),
        "bad.sizebudget.json5:1:*: image_budgets[[]0[]].warn_at: expected a percentage (a "
        "number such as 95), got a boolean",
    ),
    # The keys every kind has (read by the core): the same errors in every section.
    file_case(
        "parsers-warn-at-over-100-package-set",
        entry(warn_at=150),
        "bad.sizebudget.json5:1:*: package_set_budgets[[]0[]].warn_at: must be a percentage "
        "between 0 and 100, got 150",
    ),
    file_case(
        "parsers-warn-bytes-not-below-capacity",
        update(warn_bytes="2 MB"),
        "bad.sizebudget.json5:1:*: update_budgets[[]0[]].warn_bytes: warn_bytes (2,000,000) is "
        "not below the budget (1,000,000): it could never warn",
    ),
    file_case(
        "parsers-creep-percent-string",
        image(creep_budget_percent="5%"),
        "bad.sizebudget.json5:1:*: image_budgets[[]0[]].creep_budget_percent: expected a "
        "percentage (a number such as 95), got a string",
    ),
    file_case(
        "parsers-creep-percent-beside-zero-bytes",
        entry(creep_budget_percent=5, creep_budget_bytes=0),
        "bad.sizebudget.json5:1:*: package_set_budgets[[]0[]].creep_budget_percent: "
        "creep_budget_bytes is 0, so no growth is allowed whatever the percentage (the "
        "stricter limit applies): remove one of them",
    ),
    file_case(
        "parsers-boolean-reserve-bytes",
        image(reserve_bytes=True),
        "bad.sizebudget.json5:1:*: image_budgets[[]0[]].reserve_bytes: expected a size, got "
        "the boolean true",
    ),
    file_case(
        "parsers-nan-budget-bytes",
        "{package_set_budgets: [{name: 'A', budget_bytes: NaN, packages: ['p']}]}",
        "bad.sizebudget.json5:1:36: package_set_budgets[[]0[]].budget_bytes: expected a "
        "size, got NaN",
    ),
    file_case(
        "parsers-infinity-reserve-bytes",
        "{image_budgets: [{name: 'I', image: 'i', budget_bytes: 10, reserve_bytes: -Infinity}]}",
        "bad.sizebudget.json5:1:60: image_budgets[[]0[]].reserve_bytes: expected a size, "
        "got -Infinity",
    ),
    file_case(
        "parsers-duplicate-names",
        json.dumps(
            {
                "package_set_budgets": [
                    {"name": "A", "budget_bytes": 1, "packages": ["p"]},
                    {"name": "A", "budget_bytes": 2, "packages": ["q"]},
                ]
            }
        ),
        "bad.sizebudget.json5:1:80: package_set_budgets[[]1[]].name: budget name 'A' is "
        "already used by package_set_budgets[[]0[]] on line 1; names must be unique because "
        "reports are keyed by them",
    ),
    # A file with a key of the plugin's own (here ``sharing``) is strict.
    file_case(
        "parsers-unknown-key",
        entry(budget_byte=5)[:-1] + ', "sharing": "per_set"}',
        "bad.sizebudget.json5:1:106: package_set_budgets[[]0[]].budget_byte: unknown key "
        "'budget_byte' (did you mean 'budget_bytes'?); known keys here: budget_bytes, "
        "creep_budget_bytes, creep_budget_percent, merge, name, owner, packages, symlinks, "
        "warn_at, warn_bytes",
    ),
    # A file in ffx's format is accepted as ffx accepts it: the key is ignored, and said so.
    Case(
        id="parsers-unknown-key-in-ffx-format-is-a-warning",
        files=bad_file(entry(budget_byte=5, budget_bytes=8192), "bad.sizebudget.json5"),
        # ffx's format has no blob_sizes: they come from the command line, as in ffx.
        args=("--sizebudget", "--sizebudget-blob-sizes=good/blobs.json"),
        ret=0,
        outcomes={"passed": 4},
        lines=(
            "WARNING: bad.sizebudget.json5:1:*: package_set_budgets[[]0[]].budget_byte: "
            "unknown key 'budget_byte' (did you mean 'budget_bytes'?) ignored, as ffx ignores "
            "it (the file is in ffx's format; *",
        ),
        report={"Good": None, "A": None},
    ),
    # ... unless the file is refused anyway: then the key may be why, and is listed.
    file_case(
        "parsers-unknown-key-in-ffx-format-with-an-error",
        entry(budget_byte=5, budget_bytes=-1),
        "  bad.sizebudget.json5:1:*: package_set_budgets[[]0[]].budget_bytes: size must not be "
        "negative, got -1",
        "  bad.sizebudget.json5:1:104: package_set_budgets[[]0[]].budget_byte: unknown key "
        "'budget_byte' (did you mean 'budget_bytes'?) ignored, as ffx ignores it*",
    ),
    file_case(
        "parsers-product-platform-resources-keys-need-their-budget",
        json.dumps(
            {
                "product_budgets": [
                    {
                        "name": "P",
                        "max_contents_bytes": 1,
                        "packages": ["good/package_manifest.json"],
                        "platform_resources_name": " ",
                        "platform_resources_creep_budget_bytes": 5,
                    }
                ]
            }
        ),
        "*product_budgets[[]0[]].platform_resources_name: must not be empty",
        "*product_budgets[[]0[]].platform_resources_creep_budget_bytes: only applies with "
        "platform_resources_budget_bytes",
    ),
    file_case(
        "parsers-product-without-a-limit-from-packages",
        json.dumps(
            {"product_budgets": [{"name": "P", "packages": ["good/package_manifest.json"]}]}
        ),
        "bad.sizebudget.json5:1:*: product_budgets[[]0[]]: missing required key "
        "'max_contents_bytes'",
    ),
    file_case(
        "parsers-empty-sections",
        "{package_set_budgets: [], image_budgets: []}",
        "bad.sizebudget.json5:1:1: no budgets: package_set_budgets, resource_budgets, "
        "product_budgets, update_budgets, image_budgets, super_budgets, ota_budgets, "
        "elf_budgets and flash_budgets are missing or empty",
    ),
    file_case(
        "parsers-top-level-string",
        '"package_set_budgets"',
        "bad.sizebudget.json5:1:1: expected an object, got a string",
    ),
    file_case(
        "parsers-top-level-number",
        "12",
        "bad.sizebudget.json5:1:1: expected an object, got an integer",
    ),
]

# -- baselines ------------------------------------------------------------------------


def good_report(**changes: Any) -> dict[str, Any]:
    """A JSON report of the good budget, as --sizebudget-json writes it, with changes."""
    budget: dict[str, Any] = {
        "name": "Good",
        "kind": "package_set",
        "file": "good.sizebudget.json5",
        "line": 1,
        "key": "package_set_budgets[0]",
        "budget_bytes": 8192,
        "creep_budget_bytes": 0,
        "owner": None,
        "used_bytes": 8192,
        "error": None,
        "passed": True,
        "fixed_bytes": 0,
        "parameters": {"blobfs_layout": "compact", "sharing": "per_set"},
        "packages": [
            {
                "name": "good",
                "manifest": "good/package_manifest.json",
                "used_space_in_blobfs": 8192,
                "proportional_size": 8192,
                "blobs": [
                    {
                        "merkle": "0" * 64,
                        "path": "bin/good",
                        "size": 8192,
                        "share_count": 1,
                        "charged_bytes": 8192,
                        "excluded_by": None,
                    }
                ],
            }
        ],
    }
    top = {k: v for k, v in changes.items() if k in ("schema_version", "tool")}
    budget.update({k: v for k, v in changes.items() if k not in top})
    return {"schema_version": 1, "tool": {"name": "pytest-sizebudget"}, "budgets": [budget], **top}


def baseline_case(id: str, text: str, line: str) -> Case:
    """The run stops at configure time with a usage error; no test runs."""
    return Case(
        id=id,
        files={**GOOD_FILES, "base.json": text},
        args=("--sizebudget", "--sizebudget-baseline=base.json"),
        ret=4,
        lines=(line,),
        absent=("*passed*", "*failed*"),
    )


NNI_OR_NULL = "expected a non-negative integer or null"

BASELINE_CASES = [
    Case(
        id="parsers-baseline-valid-compares",
        files={**GOOD_FILES, "base.json": json.dumps(good_report(used_bytes=4096))},
        args=("--sizebudget", "--sizebudget-baseline=base.json"),
        outcomes={"passed": 1, "failed": 1},
        lines=("*Package set 'Good' grew by 4,096 B*since the baseline*",),
        report={"Good": None},
    ),
    baseline_case(
        "parsers-baseline-used-bytes-string",
        json.dumps(good_report(used_bytes="abc")),
        f"ERROR: baseline base.json: budgets[[]0[]].used_bytes: {NNI_OR_NULL}, got 'abc'",
    ),
    baseline_case(
        "parsers-baseline-used-bytes-nan",
        json.dumps(good_report(used_bytes=float("nan"))),
        "ERROR: baseline base.json: budgets[[]0[]].used_bytes: NaN is not JSON (write numbers "
        "as numbers; a size that is not known is null)",
    ),
    baseline_case(
        "parsers-baseline-used-bytes-negative",
        json.dumps(good_report(used_bytes=-100000)),
        f"ERROR: baseline base.json: budgets[[]0[]].used_bytes: {NNI_OR_NULL}, got -100000",
    ),
    baseline_case(
        "parsers-baseline-used-bytes-true",
        json.dumps(good_report(used_bytes=True)),
        f"ERROR: baseline base.json: budgets[[]0[]].used_bytes: {NNI_OR_NULL}, got true",
    ),
    baseline_case(
        "parsers-baseline-budget-bytes-string",
        json.dumps(good_report(budget_bytes="8 KiB")),
        "ERROR: baseline base.json: budgets[[]0[]].budget_bytes: expected a non-negative "
        "integer, got '8 KiB'",
    ),
    baseline_case(
        "parsers-baseline-blob-size-negative",
        json.dumps(good_report()).replace('"size": 8192', '"size": -1'),
        "ERROR: baseline base.json: budgets[[]0[]].packages[[]0[]].blobs[[]0[]].size: "
        f"{NNI_OR_NULL}, got -1",
    ),
    baseline_case(
        "parsers-baseline-packages-not-a-list",
        json.dumps(good_report(packages={"good": 1})),
        "ERROR: baseline base.json: budgets[[]0[]].packages: expected a list, got an object",
    ),
    baseline_case(
        "parsers-baseline-name-missing",
        json.dumps(good_report()).replace('"name": "Good", ', ""),
        "ERROR: baseline base.json: budgets[[]0[]]: missing key 'name'",
    ),
    baseline_case(
        "parsers-baseline-schema-version-true",
        json.dumps(good_report(schema_version=True)),
        "ERROR: baseline base.json: schema_version true is not supported (this version reads "
        "schema_version 1)",
    ),
    baseline_case(
        "parsers-baseline-schema-version-2",
        json.dumps(good_report(schema_version=2)),
        "ERROR: baseline base.json: schema_version 2 is not supported (this version reads "
        "schema_version 1)",
    ),
    baseline_case(
        "parsers-baseline-truncated",
        json.dumps(good_report())[:100],
        "ERROR: baseline base.json:1:99: not JSON: Unterminated string starting at",
    ),
    baseline_case(
        "parsers-baseline-not-an-object",
        json.dumps([good_report()]),
        "ERROR: baseline base.json: not a pytest-sizebudget JSON report (no schema_version); "
        "write one with --sizebudget-json",
    ),
    baseline_case(
        "parsers-baseline-duplicate-key",
        '{"schema_version": 1, "budgets": [], "budgets": []}',
        "ERROR: baseline base.json:1:38: invalid JSON: key 'budgets' appears twice in one object",
    ),
    baseline_case(
        "parsers-baseline-lone-surrogate",
        json.dumps(good_report(name="Good\udc00")),
        "ERROR: baseline base.json: budgets[[]0[]].name: the string has a lone surrogate "
        "\\udc00 at character 5, which is not a Unicode character",
    ),
]

# -- options and ini keys -------------------------------------------------------------


def option_case(id: str, line: str, *args: str, ini: str = "") -> Case:
    return Case(
        id=id,
        files=GOOD_FILES,
        args=("--sizebudget", *args),
        ret=4,
        lines=(line,),
        ini=ini,
        absent=("*passed*",),
    )


TOP = "*argument --sizebudget-top: "

OPTION_CASES = [
    option_case(
        "parsers-top-negative", f"{TOP}must be 0 (show all) or more, got -1", "--sizebudget-top=-1"
    ),
    option_case(
        "parsers-top-not-a-number",
        f"{TOP}expected a whole number, got 'ten'",
        "--sizebudget-top=ten",
    ),
    option_case(
        "parsers-top-5000-digits",
        f"{TOP}expected a whole number of at most 18 digits, got '99999999999999999999...' "
        "(5,000 characters)",
        "--sizebudget-top=" + "9" * 5000,
    ),
    option_case(
        "parsers-ini-top-negative",
        "ERROR: ini option sizebudget_top: must be 0 (show all) or more, got -3",
        ini="sizebudget_top = -3\n",
    ),
    option_case(
        "parsers-ini-top-not-a-number",
        "ERROR: ini option sizebudget_top: expected a whole number, got 'lots'",
        ini="sizebudget_top = lots\n",
    ),
    option_case(
        "parsers-ini-delta-threshold-unit",
        "ERROR: ini option sizebudget_delta_threshold: unknown unit 'XB' in '1 XB' (did you "
        "mean 'B'?); known units: B, kB, KB, MB, GB, TB, KiB, MiB, GiB, TiB",
        ini="sizebudget_delta_threshold = 1 XB\n",
    ),
    option_case(
        "parsers-ini-delta-threshold-5000-digits",
        "ERROR: ini option sizebudget_delta_threshold: a size string of 5,000 characters is "
        "longer than the limit of 64",
        ini="sizebudget_delta_threshold = " + "9" * 5000 + "\n",
    ),
    option_case(
        "parsers-ini-progress-interval-negative",
        "ERROR: ini option sizebudget_progress_interval: expected seconds (0 or more), got '-1'",
        ini="sizebudget_progress_interval = -1\n",
    ),
    option_case(
        "parsers-ini-progress-interval-nan",
        "ERROR: ini option sizebudget_progress_interval: expected seconds (0 or more), got 'nan'",
        ini="sizebudget_progress_interval = nan\n",
    ),
    option_case(
        "parsers-compression-memory-bad",
        "*argument --sizebudget-compression-memory: unknown unit 'lots'*",
        "--sizebudget-compression-memory=5 lots",
    ),
]

CASES = [*BUDGET_FILE_CASES, *BASELINE_CASES, *OPTION_CASES]
