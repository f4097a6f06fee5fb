"""Every collected budget in every report: internal errors, dead workers, stopped
sessions, Gerrit keys, report and cache paths, names that are not printable."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from .runner import GOOD_FILES, Case, FileContent

KIND_MODULE = Path(__file__).parents[2] / "conftest_examples" / "file_kind.py"


def _copy_kind(path: Path) -> None:
    shutil.copy(KIND_MODULE, path)


def _fifo(path: Path) -> None:
    os.mkfifo(path)


MANIFEST = "good/package_manifest.json"


def budgets(*entries: str, **top: str) -> str:
    """A budget file over the good package: entries are 'name:budget' (budget in bytes)."""
    sets = ", ".join(
        f"{{name: {json.dumps(e.rpartition(':')[0])}, budget_bytes: {e.rpartition(':')[2]}, "
        f'packages: ["{MANIFEST}"]}}'
        for e in entries
    )
    extra = "".join(f"{k}: {v}, " for k, v in top.items())
    return f'{{{extra}blob_sizes: ["good/blobs.json"], package_set_budgets: [{sets}]}}'


# good.sizebudget.json5 ("Good", passes) and second.sizebudget.json5 ("First", "Second").
TWO: dict[str, FileContent] = {
    **GOOD_FILES,
    "second.sizebudget.json5": budgets("First:8192", "Second:8192"),
}
# As TWO, with "First" over budget: the first failure of the run.
TWO_OVER: dict[str, FileContent] = {
    **GOOD_FILES,
    "second.sizebudget.json5": budgets("First:10", "Second:8192"),
}
FILES_KIND = '{file_budgets: [{name: "F1", files: ["good/blob"], budget_bytes: 100}, {name: "F2", files: ["good/blob"], budget_bytes: 100}]}'


def kind_conftest(body: str, imports: str = "") -> str:
    """A conftest.py registering the example's file kind with ``body`` as its class body."""
    return (
        f"{imports}\nfrom file_kind import FileKind\n\nclass Broken(FileKind):\n{body}\n\n"
        "def pytest_sizebudget_register_kinds(registry):\n    registry.register(Broken())\n"
    )


def with_kind(conftest: str, budget_file: str = FILES_KIND) -> dict[str, FileContent]:
    return {
        **GOOD_FILES,
        "file_kind.py": _copy_kind,
        "conftest.py": conftest,
        "files.sizebudget.json5": budget_file,
    }


def fixture_conftest(body: str) -> str:
    return f"import os\nimport pytest\n\n{body}\n"


CRASH_SECOND = fixture_conftest(
    "@pytest.fixture(autouse=True)\ndef crash(request):\n"
    "    if request.node.name == 'Second':\n        os._exit(1)\n"
)

BREAK_OUT_DIR = """
import shutil
from pathlib import Path

def pytest_collection_finish(session):
    out = Path(session.config.rootpath, "out")
    shutil.rmtree(out, ignore_errors=True)
    out.write_text("not a directory any more")
"""


# Patched for the run only, and put back: the corpus runs pytest in this process.
PATCH_HTML = """
import pytest_sizebudget.report.html as s  # imported by the session to write
KEY = object()

def broken(*a, **k):
    raise RecursionError("deep treemap")

def pytest_configure(config):
    config.stash[KEY] = s.render_html
    s.render_html = broken

def pytest_unconfigure(config):
    s.render_html = config.stash[KEY]
"""


def gerrit_is(expected: dict[str, object]) -> Callable[[Path, pytest.RunResult], None]:
    def check(root: Path, result: pytest.RunResult) -> None:
        assert json.loads((root / "g.json").read_text()) == expected

    return check


def gerrit_bytes_are(text: str) -> Callable[[Path, pytest.RunResult], None]:
    def check(root: Path, result: pytest.RunResult) -> None:
        assert (root / "g.json").read_text() == text

    return check


def names_in_report(*names: str) -> Callable[[Path, pytest.RunResult], None]:
    def check(root: Path, result: pytest.RunResult) -> None:
        report = json.loads((root / "r.json").read_text())
        assert [b["name"] for b in report["budgets"]] == list(names)

    return check


def _made(path: str) -> Callable[[Path, pytest.RunResult], None]:
    def check(root: Path, result: pytest.RunResult) -> None:
        assert (root / path).is_dir()

    return check


# Used bytes of the good package, as its blobs.json gives them: whole in every package
# set that holds it (per_set sharing, the default).
USED = 8192
GO = "http://go/fuchsia-size-stats/single_component/?f=component%3Ain%3A"
NOT_RUN_X = "not run: the session stopped early (stopping after 1 failures)"
CRASHED = "the xdist worker running it crashed (worker 'gw"
NOT_CHECKED = "not checked: the session ended before it ran"
USAGE = pytest.ExitCode.USAGE_ERROR

CASES = [
    # -- an unexpected exception while a budget item runs --------------------------------
    Case(
        id="reports-internal-fixture-raises-in-setup",
        files={
            **TWO,
            "conftest.py": fixture_conftest(
                "@pytest.fixture(scope='session')\ndef sizebudget_baseline():\n"
                "    raise RuntimeError('baseline service down')"
            ),
        },
        outcomes={"passed": 2, "errors": 3},
        lines=(
            "*ERROR at setup of size budget: First*",
            "Package set 'First' could not be checked",
            "internal error: RuntimeError: baseline service down (raised at conftest.py:6 sizebudget_baseline)",
            "3 budgets checked: 0 over budget, 3 could not be checked",
        ),
        absent=("*def sizebudget_baseline*",),
        report={
            "Good": "internal error: RuntimeError: baseline service down",
            "First": "internal error: RuntimeError",
            "Second": "internal error: RuntimeError",
        },
    ),
    Case(
        id="reports-internal-evaluator-fixture-raises",
        files={
            **GOOD_FILES,
            "conftest.py": fixture_conftest(
                "@pytest.fixture(scope='session')\ndef sizebudget_evaluator():\n"
                "    raise OSError(28, 'No space left on device')"
            ),
        },
        outcomes={"errors": 2},
        lines=(
            "1 budget checked: 0 over budget, 1 could not be checked, 1 budget file problem",
            "  good.sizebudget.json5: (measurement): internal error: OSError: [[]Errno 28] No space left on device (raised at conftest.py:6 sizebudget_evaluator)",
        ),
        report={"Good": "internal error: OSError: [Errno 28] No space left on device"},
    ),
    Case(
        id="reports-internal-kind-evaluate-raises",
        files=with_kind(
            kind_conftest(
                "    def evaluate(self, context, budget_file, budgets, base):\n"
                "        raise KeyError('no such blob')"
            ),
        ),
        outcomes={"passed": 3, "failed": 2},
        lines=(
            "Files 'F1' could not be checked",
            "internal error: KeyError: 'no such blob' (in pytest_sizebudget/evaluate.py:* _evaluate_kind; raised at conftest.py:6 evaluate)",
        ),
        report={"F1": "internal error: KeyError", "F2": "internal error: KeyError", "Good": None},
    ),
    Case(
        id="reports-internal-kind-of-one-section-spares-the-others",
        files=with_kind(
            kind_conftest(
                "    def evaluate(self, context, budget_file, budgets, base):\n"
                "        return [b.key for b in budgets]"  # a bug: not a mapping
            ),
            budget_file=budgets("Packages:8192")[:-1]
            + ', file_budgets: [{name: "F1", files: ["good/blob"], budget_bytes: 100}]}',
        ),
        outcomes={"passed": 4, "failed": 1},
        lines=("internal error: AttributeError: *",),
        report={"F1": "internal error: AttributeError", "Packages": None, "Good": None},
    ),
    Case(
        id="reports-internal-after-result-recorded-tb-short",
        files=with_kind(
            kind_conftest(
                "    def junit_properties(self, result):\n        raise ValueError('bad property')"
            ),
        ),
        args=("--sizebudget", "--tb=short", "-o", "sizebudget_junit_properties=true"),
        outcomes={"passed": 3, "failed": 2},
        lines=(
            "internal error: ValueError: bad property (in pytest_sizebudget/items.py:* _record; raised at conftest.py:6 junit_properties)",
        ),
        report={"F1": "internal error: ValueError: bad property", "F2": "internal error"},
    ),
    Case(
        id="reports-internal-tb-line",
        files=with_kind(
            kind_conftest(
                "    def evaluate(self, context, budget_file, budgets, base):\n"
                "        raise KeyError('no such blob')"
            ),
        ),
        args=("--sizebudget", "--tb=line"),
        outcomes={"passed": 3, "failed": 2},
        lines=(
            "*files.sizebudget.json5:1: Files 'F1' could not be checked: internal error: KeyError: 'no such blob' (in *",
        ),
        report={"F1": "internal error: KeyError"},
    ),
    Case(
        id="reports-internal-tb-no-keeps-the-summary",
        files=with_kind(
            kind_conftest(
                "    def evaluate(self, context, budget_file, budgets, base):\n"
                "        raise KeyError('no such blob')"
            ),
        ),
        args=("--sizebudget", "--tb=no"),
        outcomes={"passed": 3, "failed": 2},
        lines=("F1  [[]files.sizebudget.json5] * ERROR",),
        absent=("*Files 'F1' could not be checked*",),
        report={"F1": "internal error: KeyError", "F2": "internal error: KeyError"},
    ),
    Case(
        id="reports-pytest-fail-in-a-fixture-is-not-finished",
        files={
            **TWO,
            "conftest.py": fixture_conftest(
                "@pytest.fixture(autouse=True)\ndef timeout(request):\n"
                "    if request.node.name == 'Second':\n        pytest.fail('Timeout >1.0s')"
            ),
        },
        outcomes={"passed": 4, "errors": 1},
        lines=(
            "the check did not finish: Failed: Timeout >1.0s (raised at conftest.py:7 timeout)",
        ),
        report={"Second": "the check did not finish: Failed: Timeout >1.0s", "First": None},
    ),
    Case(
        id="reports-internal-total-check-raises",
        files=with_kind(
            kind_conftest(
                "    def joins_total(self, budget):\n        raise TypeError('no total here')"
            ),
            budget_file=FILES_KIND[:-1] + ", total_budget_bytes: 200}",
        ),
        outcomes={"passed": 5, "failed": 1},
        lines=(
            "3 budgets checked: 0 over budget, 0 could not be checked, 1 budget file problem",
            "  files.sizebudget.json5: total_budget_bytes: internal error: TypeError: no total here (in pytest_sizebudget/evaluate.py:* *; raised at conftest.py:6 joins_total)",
        ),
        report={"F1": None, "F2": None},
    ),
    # -- a worker that dies, a session that stops -----------------------------------------
    Case(
        id="reports-crash-in-setup-n2",
        files={**TWO, "conftest.py": CRASH_SECOND},
        args=("--sizebudget", "-n", "2"),
        outcomes={"passed": 4, "failed": 1},
        lines=("Second  [[]second.sizebudget.json5] * ERROR",),
        report={"Second": CRASHED, "First": None, "Good": None},
    ),
    Case(
        id="reports-crash-in-measurement-no-restart-n2",
        files=with_kind(
            kind_conftest(
                "    def evaluate(self, context, budget_file, budgets, base):\n        os._exit(1)",
                imports="import os",
            )
        ),
        args=(
            "--sizebudget",
            "-n",
            "2",
            "--max-worker-restart=0",
            "--dist=loadfile",
            "-p",
            "no:randomly",
        ),
        ret=1,
        lines=(
            "  files.sizebudget.json5: (measurement): the xdist worker running it crashed (worker 'gw*",
        ),
        report={"F1": NOT_CHECKED, "F2": NOT_CHECKED},
    ),
    Case(
        id="reports-stop-x",
        files=TWO_OVER,
        args=("--sizebudget", "-x", "-p", "no:randomly"),
        outcomes={"passed": 3, "failed": 1},
        lines=(
            "Second  [[]second.sizebudget.json5] * ERROR",
            "3 budgets checked: 1 over budget, 1 could not be checked",
        ),
        report={"Good": None, "First": None, "Second": NOT_RUN_X},
    ),
    Case(
        id="reports-stop-maxfail-2",
        files={**GOOD_FILES, "second.sizebudget.json5": budgets("A:10", "B:10", "C:10", "D:8192")},
        args=("--sizebudget", "--maxfail=2", "-p", "no:randomly"),
        outcomes={"passed": 3, "failed": 2},
        report={
            "A": None,
            "B": None,
            "C": "not run: the session stopped early (stopping after 2 failures)",
            "D": "not run: the session stopped early",
        },
    ),
    Case(
        id="reports-skipped-budget-is-left-out",
        files={
            **TWO,
            "conftest.py": fixture_conftest(
                "def pytest_collection_modifyitems(items):\n    for item in items:\n"
                "        if item.name == 'Second':\n"
                "            item.add_marker(pytest.mark.skip(reason='not today'))"
            ),
        },
        ret=0,
        outcomes={"passed": 4, "skipped": 1},
        report={"Good": None, "First": None},
        extra_checks=names_in_report("Good", "First"),
    ),
    Case(
        id="reports-deselected-budget-is-left-out",
        files=TWO,
        args=("--sizebudget", "-k", "Good or First"),
        ret=0,
        report={"Good": None, "First": None},
        extra_checks=names_in_report("Good", "First"),
    ),
    Case(
        id="reports-collect-only-runs-nothing-and-reports-nothing",
        files=TWO,
        args=("--sizebudget", "--collect-only"),
        ret=0,
        report={},
        extra_checks=names_in_report(),
    ),
    # -- Gerrit keys ----------------------------------------------------------------------
    Case(
        id="reports-gerrit-no-clash-is-ffx-byte-for-byte",
        files=TWO,
        args=("--sizebudget", "--sizebudget-gerrit=g.json"),
        ret=0,
        absent=("WARNING*",),
        extra_checks=gerrit_bytes_are(
            '{\n  "First": 8192,\n  "First.budget": 8192,\n  "First.creepBudget": 0,\n'
            f'  "First.owner": "{GO}First",\n'
            '  "Good": 8192,\n  "Good.budget": 8192,\n  "Good.creepBudget": 0,\n'
            f'  "Good.owner": "{GO}Good",\n'
            '  "Second": 8192,\n  "Second.budget": 8192,\n  "Second.creepBudget": 0,\n'
            f'  "Second.owner": "{GO}Second"\n}}\n'
        ),
    ),
    Case(
        id="reports-gerrit-same-name-in-two-files",
        files={**GOOD_FILES, "second.sizebudget.json5": budgets("Good:10")},
        args=("--sizebudget", "--sizebudget-gerrit=g.json"),
        outcomes={"passed": 3, "failed": 1},
        lines=(
            "WARNING: budget 'Good' in good.sizebudget.json5 would write Gerrit keys that another budget writes too; the Gerrit report keys it as 'Good [[]good.sizebudget.json5]'",
            "WARNING: budget 'Good' in second.sizebudget.json5 *'Good [[]second.sizebudget.json5]'",
        ),
        extra_checks=gerrit_is(
            {
                "Good [good.sizebudget.json5]": USED,
                "Good [good.sizebudget.json5].budget": 8192,
                "Good [good.sizebudget.json5].creepBudget": 0,
                "Good [good.sizebudget.json5].owner": f"{GO}Good",
                "Good [second.sizebudget.json5]": USED,
                "Good [second.sizebudget.json5].budget": 10,
                "Good [second.sizebudget.json5].creepBudget": 0,
                "Good [second.sizebudget.json5].owner": f"{GO}Good",
            }
        ),
    ),
    *(
        Case(
            id=f"reports-gerrit-name-ending-in-{suffix[1:]}",
            files={**GOOD_FILES, "good.sizebudget.json5": budgets("X:8192", f"X{suffix}:100")},
            args=("--sizebudget", "--sizebudget-gerrit=g.json"),
            outcomes={"passed": 2, "failed": 1},
            lines=(
                f"WARNING: budget 'X{suffix}' in good.sizebudget.json5 *'X{suffix} [[]good.sizebudget.json5]'",
            ),
            extra_checks=gerrit_is(
                {
                    "X [good.sizebudget.json5]": USED,
                    "X [good.sizebudget.json5].budget": 8192,
                    "X [good.sizebudget.json5].creepBudget": 0,
                    "X [good.sizebudget.json5].owner": f"{GO}X",
                    f"X{suffix} [good.sizebudget.json5]": USED,
                    f"X{suffix} [good.sizebudget.json5].budget": 100,
                    f"X{suffix} [good.sizebudget.json5].creepBudget": 0,
                    f"X{suffix} [good.sizebudget.json5].owner": f"{GO}X{suffix}",
                }
            ),
        )
        for suffix in (".budget", ".creepBudget", ".owner")
    ),
    Case(
        id="reports-gerrit-clash-with-an-unmeasured-budget",
        files={
            **GOOD_FILES,
            "second.sizebudget.json5": '{package_set_budgets: [{name: "Good", budget_bytes: 10, packages: ["missing/package_manifest.json"]}]}',
        },
        args=("--sizebudget", "--sizebudget-gerrit=g.json"),
        outcomes={"passed": 3, "failed": 1},
        extra_checks=gerrit_is(
            {
                "Good [good.sizebudget.json5]": USED,
                "Good [good.sizebudget.json5].budget": 8192,
                "Good [good.sizebudget.json5].creepBudget": 0,
                "Good [good.sizebudget.json5].owner": f"{GO}Good",
            }
        ),
    ),
    # -- report paths ---------------------------------------------------------------------
    *(
        Case(
            id=f"reports-{option[13:]}-path-is-a-directory",
            files={**GOOD_FILES, "out/keep": ""},
            args=("--sizebudget", f"{option}=out"),
            ret=USAGE,
            lines=(f"ERROR: {option} */out: is a directory",),
            absent=("*collected*",),
        )
        for option in ("--sizebudget-json", "--sizebudget-html", "--sizebudget-gerrit")
    ),
    Case(
        id="reports-json-path-is-a-directory-n2",  # the controller stops before any worker
        files={**GOOD_FILES, "out/keep": ""},
        args=("--sizebudget", "--sizebudget-json=out", "-n", "2"),
        ret=USAGE,
        lines=("ERROR: --sizebudget-json */out: is a directory",),
        absent=("*workers*",),
    ),
    Case(
        id="reports-json-parent-is-a-file",
        files={**GOOD_FILES, "file": "x"},
        args=("--sizebudget", "--sizebudget-json=file/r.json"),
        ret=USAGE,
        lines=(
            "ERROR: --sizebudget-json */file/r.json: cannot be created: */file is not a directory",
        ),
    ),
    Case(
        id="reports-html-where-nothing-can-be-created",
        files=GOOD_FILES,
        args=("--sizebudget", "--sizebudget-html=/proc/sizebudget.html"),
        ret=USAGE,
        lines=(
            "ERROR: --sizebudget-html /proc/sizebudget.html: no file can be created in /proc: *",
        ),
    ),
    Case(
        id="reports-gerrit-path-is-a-fifo",
        files={**GOOD_FILES, "g.json": _fifo},
        args=("--sizebudget", "--sizebudget-gerrit=g.json"),
        ret=USAGE,
        lines=("ERROR: --sizebudget-gerrit */g.json: is a FIFO",),
    ),
    Case(
        id="reports-same-path-for-two-reports",
        files=GOOD_FILES,
        args=("--sizebudget", "--sizebudget-json=r.json", "--sizebudget-html=r.json"),
        ret=USAGE,
        lines=(
            "ERROR: --sizebudget-html */r.json: --sizebudget-json writes the same file; give each report its own",
        ),
    ),
    Case(
        id="reports-json-write-fails-at-the-end",
        files={**GOOD_FILES, "out/keep": "", "conftest.py": BREAK_OUT_DIR},
        args=("--sizebudget", "--sizebudget-json=out/r.json", "--sizebudget-html=r.html"),
        ret=1,
        outcomes={"passed": 2},
        lines=(
            "Good * ok",
            "HTML report written to r.html",
            "ERROR: JSON report could not be written to out/r.json: File exists: *",
        ),
    ),
    Case(
        id="reports-html-renderer-raises",
        files={
            **GOOD_FILES,
            "conftest.py": PATCH_HTML,
        },
        args=("--sizebudget", "--sizebudget-html=r.html"),
        ret=1,
        outcomes={"passed": 2},
        lines=(
            "ERROR: HTML report could not be written to r.html: internal error: RecursionError: deep treemap *",
        ),
        report={"Good": None},
    ),
    # -- the cache directory --------------------------------------------------------------
    Case(
        id="reports-cache-dir-is-a-file",
        files={**GOOD_FILES, "cache": "x"},
        args=("--sizebudget", "--sizebudget-cache-dir=cache"),
        ret=USAGE,
        lines=(
            "ERROR: --sizebudget-cache-dir */cache: is a regular file, not a directory (--sizebudget-no-cache runs without a cache)",
        ),
    ),
    Case(
        id="reports-cache-dir-is-a-file-n2",
        files={**GOOD_FILES, "cache": "x"},
        args=("--sizebudget", "--sizebudget-cache-dir=cache", "-n", "2"),
        ret=USAGE,
        lines=("ERROR: --sizebudget-cache-dir */cache: is a regular file, not a directory *",),
        absent=("*workers*",),
    ),
    Case(
        id="reports-cache-dir-is-a-fifo",
        files={**GOOD_FILES, "cache": _fifo},
        args=("--sizebudget", "--sizebudget-cache-dir=cache"),
        ret=USAGE,
        lines=("ERROR: --sizebudget-cache-dir */cache: is a FIFO, not a directory *",),
    ),
    Case(
        id="reports-cache-dir-under-a-file",
        files={**GOOD_FILES, "file": "x"},
        args=("--sizebudget", "--sizebudget-cache-dir=file/cache"),
        ret=USAGE,
        lines=(
            "ERROR: --sizebudget-cache-dir */file/cache: cannot be created: */file is not a directory *",
        ),
    ),
    Case(
        id="reports-cache-dir-where-nothing-can-be-created",
        files=GOOD_FILES,
        args=("--sizebudget", "--sizebudget-cache-dir=/proc/sizebudget"),
        ret=USAGE,
        lines=("ERROR: --sizebudget-cache-dir /proc/sizebudget: cannot be created: *",),
    ),
    Case(
        id="reports-cache-dir-no-cache-wins",
        files={**GOOD_FILES, "cache": "x"},
        args=("--sizebudget", "--sizebudget-cache-dir=cache", "--sizebudget-no-cache"),
        ret=0,
        report={"Good": None},
    ),
    Case(
        id="reports-cache-dir-missing-is-created",
        files=GOOD_FILES,
        args=("--sizebudget", "--sizebudget-cache-dir=a/b/cache"),
        ret=0,
        extra_checks=_made("a/b/cache"),
    ),
    # -- names that are not printable -----------------------------------------------------
    Case(
        id="reports-name-with-newline",
        files={**GOOD_FILES, "good.sizebudget.json5": budgets("two\nlines:10")},
        outcomes={"passed": 1, "failed": 1},
        lines=(
            "*size budget: two\\nlines*",
            "Package set 'two\\nlines' is over budget by *",
            "two\\nlines * OVER",
            "FAILED good.sizebudget.json5::two\\nlines - *",
        ),
        absent=("lines*OVER*", "two"),
        report={"two\nlines": None},
    ),
    Case(
        id="reports-name-with-escape-sequence",
        files={**GOOD_FILES, "good.sizebudget.json5": budgets("\x1b[2J\x1b[31mred:8192")},
        ret=0,
        lines=("\\x1b[[]2J\\x1b[[]31mred * ok",),
        absent=("*\x1b*",),
        report={"\x1b[2J\x1b[31mred": None},
    ),
    Case(
        id="reports-name-with-nul-tab-and-bidi-override",
        files={**GOOD_FILES, "good.sizebudget.json5": budgets("a\x00b\tc\u202ed:10")},
        outcomes={"passed": 1, "failed": 1},
        lines=(
            "Package set 'a\\x00b\\tc\\u202ed' is over budget by *",
            "a\\x00b\\tc\\u202ed * OVER",
        ),
        absent=("*\u202e*", "*\t*"),
        report={"a\x00b\tc\u202ed": None},
    ),
    Case(
        id="reports-name-escaped-meets-name-as-written",
        files={**GOOD_FILES, "good.sizebudget.json5": budgets("x\ny:8192", "x\\ny:10")},
        args=("--sizebudget", "-rA"),
        outcomes={"passed": 2, "failed": 1},
        lines=(
            "PASSED good.sizebudget.json5::x\\ny [[]package_set_budgets[[]0]]",
            "FAILED good.sizebudget.json5::x\\ny - *",
        ),
        report={"x\ny": None, "x\\ny": None},
    ),
    Case(
        id="reports-name-of-the-measurement-item",
        files={**GOOD_FILES, "good.sizebudget.json5": budgets("(measurement):10")},
        args=("--sizebudget", "-rA"),
        outcomes={"passed": 1, "failed": 1},
        lines=("FAILED good.sizebudget.json5::(measurement) [[]package_set_budgets[[]0]] - *",),
        report={"(measurement)": None},
    ),
]
