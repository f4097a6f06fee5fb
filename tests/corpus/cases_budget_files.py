"""Budget files that are not what they should be."""

from __future__ import annotations

from .runner import GOOD_FILES, Case

CASES = [
    Case(
        id="budget-file-invalid-json5",
        files={
            **GOOD_FILES,
            "bad.sizebudget.json5": "{\n  package_set_budgets: [\n    {name: 'x',, }\n  ]\n}",
        },
        outcomes={"passed": 2, "failed": 1},
        lines=("bad.sizebudget.json5:3:16: invalid JSON5: *",),
        report={"Good": None},
    ),
    Case(
        id="budget-file-unknown-filesystem",
        files={
            **GOOD_FILES,
            "bad.sizebudget.json5": "{\n  filesystem: 'ext4',\n"
            "  package_set_budgets: [{name: 'x', budget_bytes: 1, packages: []}],\n}",
        },
        outcomes={"passed": 2, "failed": 1},
        lines=("bad.sizebudget.json5:2:* filesystem: must be one of 'blobfs', 'fxfs', got 'ext4'",),
        report={"Good": None},
    ),
    Case(
        id="budget-file-blobfs-layout-with-fxfs",
        files={
            **GOOD_FILES,
            "bad.sizebudget.json5": "{\n  filesystem: 'fxfs',\n  blobfs_layout: 'compact',\n"
            "  package_set_budgets: [{name: 'x', budget_bytes: 1, packages: []}],\n}",
        },
        outcomes={"passed": 2, "failed": 1},
        lines=('bad.sizebudget.json5:3:* blobfs_layout: applies to filesystem "blobfs" only;*',),
        report={"Good": None},
    ),
    Case(
        id="update-budget-unknown-download-size",
        files={
            **GOOD_FILES,
            "bad.sizebudget.json5": "{update_budgets: [{name: 'u', capacity_bytes: 1,\n"
            "  download_size: 'gzip', from: {packages: ['good/package_manifest.json']},\n"
            "  to: {packages: ['good/package_manifest.json']}}]}",
        },
        outcomes={"passed": 2, "failed": 1},
        lines=(
            "*bad.sizebudget.json5:2:*: update_budgets[[]0].download_size: must be one of "
            "'delivery_blob', 'stored', got 'gzip'",
        ),
        report={"Good": None},
    ),
]
