"""Run-wide settings, resolved once from the command line and ini (pytest-free data)."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path

from .measure.memory import DEFAULT_COMPRESSION_MEMORY
from .measure.remote import DEFAULT_TIMEOUT as DEFAULT_REMOTE_TIMEOUT

DEFAULT_PATTERNS = ("*.sizebudget.json5", "*.sizebudget.json")
DEFAULT_TOP = 10
DEFAULT_PROGRESS_INTERVAL = 5.0  # seconds between progress lines in a CI log
DEFAULT_MARKDOWN_LIMIT = 65_536  # a GitHub comment's limit, in characters
# report.markdown's MIN_LIMIT, here so that the options can state and check it without
# importing the renderer (test_markdown checks that the two agree).
MIN_MARKDOWN_LIMIT = 2_048


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    enabled: bool = False
    patterns: tuple[str, ...] = DEFAULT_PATTERNS
    blob_sizes: tuple[Path, ...] = ()
    root: Path | None = None
    json_path: Path | None = None
    gerrit_path: Path | None = None
    breakdown_path: Path | None = None  # ffx's size breakdown text of product budgets
    verbose_json_path: Path | None = None  # ffx's verbose JSON of package-set budgets
    top_n: int = DEFAULT_TOP
    owner_template: str | None = None
    junit_properties: bool = True
    cache_dir: Path | None = None  # --sizebudget-cache-dir; None: pytest's cache directory
    no_cache: bool = False
    verify: bool = False
    rootdir: Path = Path()
    baseline_path: Path | None = None  # an earlier run's JSON report
    html_path: Path | None = None
    delta_threshold: int = 0  # summary hides smaller deltas (bytes)
    compression_memory: int = DEFAULT_COMPRESSION_MEMORY  # bytes for zstd contexts
    progress_interval: float = DEFAULT_PROGRESS_INTERVAL
    cache_url: str | None = None  # --sizebudget-cache-url: a Bazel remote-cache HTTP server
    cache_timeout: float = DEFAULT_REMOTE_TIMEOUT  # seconds per socket operation
    markdown_path: Path | None = None  # --sizebudget-markdown
    markdown_limit: int = DEFAULT_MARKDOWN_LIMIT  # bytes (and so characters) at most
    github_summary: bool = False  # append the Markdown to $GITHUB_STEP_SUMMARY
    metrics_path: Path | None = None  # --sizebudget-metrics (GitLab metrics report)

    def is_budget_file(self, path: Path) -> bool:
        """Does ``path`` match a budget-file pattern (basename, or rootdir-relative with a /)?"""
        for pattern in self.patterns:
            if "/" in pattern:
                try:
                    rel = path.absolute().relative_to(self.rootdir).as_posix()
                except ValueError:
                    continue
                if fnmatch.fnmatchcase(rel, pattern):
                    return True
            elif fnmatch.fnmatchcase(path.name, pattern):
                return True
        return False

    def display(self, path: Path) -> str:
        try:
            return path.absolute().relative_to(self.rootdir).as_posix()
        except ValueError:
            return path.as_posix()
