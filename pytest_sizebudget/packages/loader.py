"""``PackageLoader``: every package a budget file names, read once per evaluation.

One loader serves all of a file's kinds, so a package listed by a package set and by a
product is read (and a directory package hashed) once.  A package that cannot be read is
remembered as its error: every budget that names it fails with the same message, which
starts with the key that named it first.
"""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

from pytest_sizebudget.budget.model import BudgetFile, FileRef
from pytest_sizebudget.errors import InputError
from pytest_sizebudget.paths import check_path

from .directory import BatchHasher, load_directory_batch
from .manifest import load_manifest
from .model import Package
from .rootfs_walk import SymlinkPolicy


class PackageLoader:
    def __init__(
        self, budget_file: BudgetFile, hash_files: BatchHasher, display: Callable[[Path], str]
    ) -> None:
        self.budget_file = budget_file
        self.hash_files = hash_files
        self.display = display
        self._loaded: dict[tuple[Path, SymlinkPolicy], Package | InputError] = {}

    def load(self, ref: FileRef, symlinks: SymlinkPolicy = "follow") -> Package:
        """The package at ``ref`` (a manifest or a directory, whose links are read as
        ``symlinks`` says); raises ``InputError``."""
        resolved = ref.path.absolute()
        key = (resolved, symlinks)
        if key not in self._loaded:
            shown = self.display(ref.path)
            try:
                got: Package | InputError = self._read(resolved, shown, symlinks)
            except InputError as exc:
                got = InputError(f"{ref.key}: {exc}")
            self._loaded[key] = got
        found = self._loaded[key]
        if isinstance(found, InputError):
            raise found
        return found

    def _read(self, path: Path, shown: str, symlinks: SymlinkPolicy = "follow") -> Package:
        # One stat says what the path is: a FIFO, device, socket, loop or NUL byte is an
        # error here, before anything is opened or walked.
        st = check_path(path, shown, "file or directory")
        if stat.S_ISDIR(st.st_mode):
            return load_directory_batch(path, self.hash_files, display=shown, symlinks=symlinks)
        return load_manifest(
            path,
            working_dir=self.budget_file.root,
            include_subpackages=self.budget_file.include_subpackages,
            display=shown,
        )
