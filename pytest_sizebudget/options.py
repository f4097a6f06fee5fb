"""Every ``--sizebudget*`` option and ``sizebudget_*`` ini key, and ``Settings`` from them."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from .errors import shown
from .measure.memory import DEFAULT_COMPRESSION_MEMORY
from .measure.remote import url_problem
from .settings import (
    DEFAULT_MARKDOWN_LIMIT,
    DEFAULT_PATTERNS,
    DEFAULT_PROGRESS_INTERVAL,
    DEFAULT_TOP,
    MIN_MARKDOWN_LIMIT,
    Settings,
)
from .units import SizeSyntaxError, parse_size


def _top(value: str) -> int:
    if len(value.strip()) > 18:  # int() refuses thousands of digits, and no one has 10^18
        raise argparse.ArgumentTypeError(
            f"expected a whole number of at most 18 digits, got {shown(value, 20)}"
        )
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {shown(value)}") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be 0 (show all) or more, got {n}")
    return n


def _size(value: str) -> int:
    try:
        return parse_size(value)
    except SizeSyntaxError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(parser: pytest.Parser) -> None:
    group = parser.getgroup("sizebudget", "size budgets (pytest-sizebudget)")
    group.addoption(
        "--sizebudget",
        action="store_true",
        dest="sizebudget",
        help="collect budget files and check every budget as a test item",
    )
    group.addoption(
        "--sizebudget-blob-sizes",
        action="append",
        default=[],
        metavar="PATH",
        dest="sizebudget_blob_sizes",
        help="a Fuchsia blobs.json giving on-disk blob sizes to every budget file (repeatable)",
    )
    group.addoption(
        "--sizebudget-root",
        metavar="DIR",
        dest="sizebudget_root",
        help="resolve relative paths in budget files from DIR (default: each file's 'root' key, "
        "else its directory)",
    )
    group.addoption(
        "--sizebudget-json",
        metavar="PATH",
        dest="sizebudget_json",
        help="write the full JSON report (also a baseline for later runs) to PATH",
    )
    group.addoption(
        "--sizebudget-gerrit",
        metavar="PATH",
        dest="sizebudget_gerrit",
        help="write the Gerrit binary-size plugin JSON to PATH",
    )
    group.addoption(
        "--sizebudget-breakdown",
        metavar="PATH",
        dest="sizebudget_breakdown",
        help="write ffx's size breakdown text of the product budgets to PATH "
        "(ffx size-check product --size-breakdown-output)",
    )
    group.addoption(
        "--sizebudget-verbose-json",
        metavar="PATH",
        dest="sizebudget_verbose_json",
        help="write ffx's verbose JSON of the package-set budgets to PATH "
        "(ffx size-check package --verbose-json-output)",
    )
    group.addoption(
        "--sizebudget-baseline",
        metavar="PATH",
        dest="sizebudget_baseline",
        help="compare with the JSON report of an earlier run: deltas, creep budgets, blob diffs",
    )
    group.addoption(
        "--sizebudget-html",
        metavar="PATH",
        dest="sizebudget_html",
        help="write a self-contained HTML report (treemaps, tables) to PATH",
    )
    group.addoption(
        "--sizebudget-markdown",
        metavar="PATH",
        dest="sizebudget_markdown",
        help="write a Markdown report (for a pull-request comment or a job summary) to PATH, "
        "at most sizebudget_markdown_limit characters",
    )
    group.addoption(
        "--sizebudget-metrics",
        metavar="PATH",
        dest="sizebudget_metrics",
        help="write a GitLab metrics report (OpenMetrics text: used and budget bytes of every "
        "budget) to PATH",
    )
    group.addoption(
        "--sizebudget-top",
        metavar="N",
        type=_top,
        default=None,
        dest="sizebudget_top",
        help=f"packages and blobs shown in failure breakdowns (0: all; default {DEFAULT_TOP})",
    )
    group.addoption(
        "--sizebudget-cache-dir",
        metavar="DIR",
        dest="sizebudget_cache_dir",
        help="keep blob measurements in DIR (default: pytest's cache directory, "
        ".pytest_cache/d/sizebudget); DIR may be shared between runs, jobs and machines",
    )
    group.addoption(
        "--sizebudget-cache-url",
        metavar="URL",
        dest="sizebudget_cache_url",
        help="share blob measurements through a Bazel remote-cache HTTP server (bazel-remote, "
        "nginx WebDAV): a local miss asks it, new measurements are uploaded; credentials "
        "from SIZEBUDGET_CACHE_TOKEN or SIZEBUDGET_CACHE_USER/_PASSWORD",
    )
    group.addoption(
        "--sizebudget-no-cache",
        action="store_true",
        dest="sizebudget_no_cache",
        help="measure every blob again: neither read nor write the measurement cache",
    )
    group.addoption(
        "--sizebudget-verify",
        action="store_true",
        dest="sizebudget_verify",
        help="check that every manifest blob's content has the merkle root the manifest "
        "claims; a mismatch fails the budget",
    )
    group.addoption(
        "--sizebudget-compression-memory",
        metavar="SIZE",
        type=_size,
        default=DEFAULT_COMPRESSION_MEMORY,
        dest="sizebudget_compression_memory",
        help="memory for level-14 zstd contexts, e.g. '256 MiB' (default 64 MiB): more lets "
        "blobs of 1 GiB and up compress on more threads; one context is always allowed",
    )
    parser.addini(
        "sizebudget_enable",
        "check size budgets without passing --sizebudget",
        type="bool",
        default=False,
    )
    parser.addini(
        "sizebudget_files",
        "glob patterns of budget files (a pattern with / matches the rootdir-relative path)",
        type="linelist",
        default=list(DEFAULT_PATTERNS),
    )
    parser.addini(
        "sizebudget_owner_template",
        "owner URL for budgets without 'owner': {name} becomes the query-encoded name, "
        "{raw_name} the name as written",
        type="string",
        default="",
    )
    # A string, not a bool: "auto" (the default) depends on junit_family.
    parser.addini(
        "sizebudget_junit_properties",
        "record used/budget/creep bytes as JUnit <property> elements: auto (only with "
        "junit_family xunit1 or legacy, whose schema allows them), true or false",
        type="string",
        default="auto",
    )
    parser.addini(
        "sizebudget_markdown_limit",
        "most characters (UTF-8 bytes) of the Markdown report; detail is dropped to fit "
        f"(default {DEFAULT_MARKDOWN_LIMIT:,}, a GitHub comment's limit; "
        f"at least {MIN_MARKDOWN_LIMIT:,})",
        type="string",
        default=str(DEFAULT_MARKDOWN_LIMIT),
    )
    parser.addini(
        "sizebudget_github_summary",
        "append the Markdown report to $GITHUB_STEP_SUMMARY when that variable is set "
        "(GitHub Actions job summary)",
        type="bool",
        default=False,
    )
    # A string, checked by _top: pytest's "int" type raised a bare ValueError
    # (INTERNALERROR) for a value that is not a number.
    parser.addini(
        "sizebudget_top", "default for --sizebudget-top", type="string", default=str(DEFAULT_TOP)
    )
    parser.addini(
        "sizebudget_progress_interval",
        "seconds between measurement progress lines when the output is not a terminal "
        f"(default {DEFAULT_PROGRESS_INTERVAL:g}; 0: every update)",
        type="string",
        default=str(DEFAULT_PROGRESS_INTERVAL),
    )
    parser.addini(
        "sizebudget_cache_url",
        "default for --sizebudget-cache-url (a Bazel remote-cache HTTP server)",
        type="string",
        default="",
    )
    parser.addini(
        "sizebudget_cache_timeout",
        "seconds the remote cache may take per network operation before the run measures "
        "locally (default 5)",
        type="string",
        default="5",
    )
    parser.addini(
        "sizebudget_delta_threshold",
        "hide deltas smaller than this (bytes or a size such as '1 KiB') from the summary; "
        "verdicts do not change",
        type="string",
        default="0",
    )


def _remote(config: pytest.Config) -> tuple[str | None, float]:
    """The remote cache URL (option, else ini) and its timeout, checked."""
    url = config.getoption("sizebudget_cache_url")
    where = "--sizebudget-cache-url"
    if not url:
        url = str(config.getini("sizebudget_cache_url")).strip()
        where = "ini option sizebudget_cache_url"
    if url:
        problem = url_problem(url)
        if problem is not None:
            # Not the URL itself: it may hold the credentials it is refused for.
            raise pytest.UsageError(f"{where}: {problem}")
    raw = str(config.getini("sizebudget_cache_timeout"))
    try:
        timeout = float(raw)
    except ValueError:
        timeout = -1.0
    if not 0 < timeout <= 3600:
        raise pytest.UsageError(
            f"ini option sizebudget_cache_timeout: expected seconds (more than 0, at most "
            f"3600), got {shown(raw)}"
        )
    return url or None, timeout


_TRUE = ("true", "yes", "y", "on", "1")
_FALSE = ("false", "no", "n", "off", "0")
# junit_family values whose schema allows <properties> in a <testcase>.
_PROPERTY_FAMILIES = ("xunit1", "legacy")


def junit_properties(config: pytest.Config) -> bool:
    """Whether budget items record JUnit properties: ``auto`` follows ``junit_family``
    (pytest's default, xunit2, has a schema without testcase properties)."""
    raw = str(config.getini("sizebudget_junit_properties")).strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    if raw != "auto":
        raise pytest.UsageError(
            f"ini option sizebudget_junit_properties: expected auto, true or false, got {raw!r}"
        )
    try:
        family = str(config.getini("junit_family"))
    except ValueError:  # -p no:junitxml: no JUnit file, no family
        return False
    return family in _PROPERTY_FAMILIES


def _markdown_limit(config: pytest.Config) -> int:
    raw = str(config.getini("sizebudget_markdown_limit"))
    try:
        limit = parse_size(raw)
    except SizeSyntaxError as exc:
        raise pytest.UsageError(f"ini option sizebudget_markdown_limit: {exc}") from None
    if limit < MIN_MARKDOWN_LIMIT:
        raise pytest.UsageError(
            "ini option sizebudget_markdown_limit: "
            f"must be at least {MIN_MARKDOWN_LIMIT:,}, got {limit:,}"
        )
    return limit


def settings_from_config(config: pytest.Config) -> Settings:
    base = config.invocation_params.dir

    def path(value: str | None) -> Path | None:
        return (base / value).absolute() if value else None

    top = config.getoption("sizebudget_top")
    if top is None:
        ini_top = str(config.getini("sizebudget_top"))
        try:
            top = _top(ini_top)
        except argparse.ArgumentTypeError as exc:
            raise pytest.UsageError(f"ini option sizebudget_top: {exc}") from None
    patterns = tuple(str(p) for p in config.getini("sizebudget_files")) or DEFAULT_PATTERNS
    template = str(config.getini("sizebudget_owner_template")) or None
    try:
        delta_threshold = parse_size(str(config.getini("sizebudget_delta_threshold")) or "0")
    except SizeSyntaxError as exc:
        raise pytest.UsageError(f"ini option sizebudget_delta_threshold: {exc}") from None
    raw_interval = str(config.getini("sizebudget_progress_interval"))
    try:
        interval = float(raw_interval)
    except ValueError:
        interval = -1.0
    if not 0 <= interval < float("inf"):
        raise pytest.UsageError(
            f"ini option sizebudget_progress_interval: expected seconds (0 or more), "
            f"got {raw_interval!r}"
        )
    cache_url, cache_timeout = _remote(config)
    return Settings(
        cache_url=cache_url,
        cache_timeout=cache_timeout,
        progress_interval=interval,
        enabled=bool(config.getoption("sizebudget")) or bool(config.getini("sizebudget_enable")),
        patterns=patterns,
        blob_sizes=tuple(base / p for p in config.getoption("sizebudget_blob_sizes")),
        root=path(config.getoption("sizebudget_root")),
        json_path=path(config.getoption("sizebudget_json")),
        gerrit_path=path(config.getoption("sizebudget_gerrit")),
        breakdown_path=path(config.getoption("sizebudget_breakdown")),
        verbose_json_path=path(config.getoption("sizebudget_verbose_json")),
        top_n=top,
        owner_template=template,
        junit_properties=junit_properties(config),
        rootdir=config.rootpath,
        cache_dir=path(config.getoption("sizebudget_cache_dir")),
        no_cache=bool(config.getoption("sizebudget_no_cache")),
        verify=bool(config.getoption("sizebudget_verify")),
        baseline_path=path(config.getoption("sizebudget_baseline")),
        html_path=path(config.getoption("sizebudget_html")),
        delta_threshold=delta_threshold,
        compression_memory=config.getoption("sizebudget_compression_memory"),
        markdown_path=path(config.getoption("sizebudget_markdown")),
        markdown_limit=_markdown_limit(config),
        github_summary=bool(config.getini("sizebudget_github_summary")),
        metrics_path=path(config.getoption("sizebudget_metrics")),
    )
