"""Yocto/OpenEmbedded packages as package-set members: buildhistory trees and pkgdata.

Sources, from the most exact (android_yocto.md §4.2; oe-core's ``buildhistory.bbclass``
and ``meta/lib/oe/packagedata.py``):

- ``buildhistory/packages/<arch>/<PN>/<pkg>/latest``: ``KEY = value`` lines; ``PKGSIZE``
  is the package's bytes (``lstat().st_size`` of its files, each inode once,
  uncompressed), ``PKG`` its name after renaming (``libc6`` for ``glibc``) when it differs.
  ``files-in-package.txt`` beside it lists its files.
- pkgdata ``runtime/<pkg>``: ``VAR:<pkg>: value`` lines with ``PKGSIZE:<pkg>`` (the same
  bytes), ``FILES_INFO:<pkg>`` (JSON, path -> bytes) and ``PKG:<pkg>``; renamed packages
  are found through ``runtime-reverse/<name>``.
- ``buildhistory/images/<MACHINE_ARCH>/<TCLIBC>/<image>/installed-package-sizes.txt``:
  ``<KiB>\\tKiB\\t<name>`` per installed package, rounded to whole KiB
  (``(bytes + 512) // 1024``); it names what the image installs, and is the size of last
  resort, flagged as rounded.  ``files-in-image.txt`` (``find -printf "%M %u %g %s %p ->
  %l"``) gives the image's files with their bytes.

A package is one blob keyed by a digest of its name and bytes, so a baseline diff shows a
package whose size changed as "updated".  Each tree is read once per evaluation.
"""

from __future__ import annotations

import difflib
import fnmatch
import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pytest_sizebudget.errors import InputError
from pytest_sizebudget.paths import PathProblem, check_path, printable, read_text

from .model import BlobEntry, Package

PACKAGE_BLOB_PATH = "(package)"
_PKGDATA_LINE = re.compile(r"(^.+?):\s+(.*)")


@dataclass(frozen=True, slots=True)
class YoctoSelection:
    """A ``packages`` entry naming Yocto packages (budget-file key ``key``)."""

    key: str
    buildhistory: Path | None
    image: str | None
    pkgdata: Path | None
    names: tuple[str, ...]  # package names and globs over them
    baseline: Path | None = None  # an earlier buildhistory tree of the same layout


@dataclass(frozen=True, slots=True)
class YoctoPackage:
    name: str
    size: int
    exact: bool  # False: only the image's rounded KiB were found
    source: str  # where the size was read, as reports name it
    files: tuple[tuple[str, int], ...] = ()  # (path in the image, bytes), when known


@dataclass(slots=True)
class _Tree:
    """One buildhistory tree (or pkgdata directory), read lazily."""

    latest: dict[str, tuple[int, str, Path]] | None = None  # name -> (bytes, shown, dir)
    images: dict[str, Path] = field(default_factory=dict)


def _fail(key: str, shown: str, problem: str) -> InputError:
    return InputError(f"{key}: {printable(shown)}: {problem}")


def _lines(path: Path, shown: str, key: str) -> list[str]:
    try:
        return read_text(path, shown).splitlines()
    except PathProblem as exc:
        raise InputError(f"{key}: {exc}") from None


def parse_key_values(text_lines: Sequence[str]) -> dict[str, str]:
    """buildhistory ``latest`` files: ``KEY = value`` lines."""
    out: dict[str, str] = {}
    for line in text_lines:
        name, sep, value = line.partition(" = ")
        if sep:
            out[name.strip()] = value.strip()
    return out


def _size_value(value: str, key: str, shown: str, what: str) -> int:
    if not value.isdigit():
        raise _fail(key, shown, f"{what}: expected a number of bytes, got {value!r}")
    return int(value)


class YoctoReader:
    """Reads the selections of one budget file; every tree is read once."""

    def __init__(self, display: object) -> None:
        self.display = display  # Callable[[Path], str]
        self._trees: dict[Path, _Tree] = {}
        self._pkgdata: dict[Path, dict[str, Path]] = {}

    def shown(self, path: Path) -> str:
        return str(self.display(path))  # type: ignore[operator]

    # -- buildhistory ------------------------------------------------------------------

    def _tree(self, root: Path) -> _Tree:
        return self._trees.setdefault(root.absolute(), _Tree())

    def latest(self, root: Path, key: str) -> dict[str, tuple[int, str, Path]]:
        """Package name (and renamed name) -> (PKGSIZE, where, package directory)."""
        tree = self._tree(root)
        if tree.latest is not None:
            return tree.latest
        found: dict[str, tuple[int, str, Path]] = {}
        packages = root / "packages"
        if packages.is_dir():
            for latest in sorted(packages.glob("*/*/*/latest")):
                shown = self.shown(latest)
                values = parse_key_values(_lines(latest, shown, key))
                if "PKGSIZE" not in values:
                    continue  # a recipe-level file, or a package buildhistory did not size
                size = _size_value(values["PKGSIZE"], key, shown, "PKGSIZE")
                names = {latest.parent.name, values.get("PKG") or latest.parent.name}
                for name in sorted(names):
                    other = found.get(name)
                    if other is not None and other[0] != size:
                        raise _fail(
                            key,
                            shown,
                            f"package {name!r} has PKGSIZE {size} here and {other[0]} in "
                            f"{other[1]}: two architectures build it; name the image, or "
                            "keep one",
                        )
                    found.setdefault(name, (size, shown, latest.parent))
        tree.latest = found
        return found

    def image_dir(self, root: Path, image: str, key: str) -> Path:
        parts = image.strip("/").split("/")
        images = root / "images"
        if len(parts) == 3:
            found = images.joinpath(*parts)
            if not found.is_dir():
                raise _fail(key, self.shown(found), "no such image in the buildhistory tree")
            return found
        if len(parts) != 1:
            raise InputError(
                f"{key}: image {image!r}: give the image's name or <machine>/<libc>/<image>"
            )
        candidates = sorted(p for p in images.glob(f"*/*/{parts[0]}") if p.is_dir())
        if not candidates:
            raise _fail(key, self.shown(images), f"no image {image!r} (looked for */*/{parts[0]})")
        if len(candidates) > 1:
            listed = ", ".join("/".join(c.parts[-3:]) for c in candidates)
            raise _fail(
                key,
                self.shown(images),
                f"image {image!r} is built for several machines ({listed}): "
                "name it as <machine>/<libc>/<image>",
            )
        return candidates[0]

    def installed(self, image_dir: Path, key: str) -> dict[str, int]:
        """installed-package-sizes.txt: name -> KiB, in the file's order."""
        path = image_dir / "installed-package-sizes.txt"
        shown = self.shown(path)
        out: dict[str, int] = {}
        for n, line in enumerate(_lines(path, shown, key), start=1):
            if not line.strip():
                continue
            fields = line.split()
            if len(fields) != 3 or fields[1] != "KiB" or not fields[0].isdigit():
                raise _fail(
                    key, f"{shown}:{n}", f'expected "<size>\\tKiB\\t<package>", got {line!r}'
                )
            out[fields[2]] = int(fields[0])
        return out

    def image_files(self, image_dir: Path, key: str) -> dict[str, int] | None:
        path = image_dir / "files-in-image.txt"
        if not path.is_file():
            return None
        return parse_file_list(_lines(path, self.shown(path), key), self.shown(path), key)

    # -- pkgdata -----------------------------------------------------------------------

    def pkgdata_names(self, root: Path, key: str) -> dict[str, Path]:
        """Package name (final, after renaming, and recipe-side) -> its runtime file."""
        found = self._pkgdata.get(root.absolute())
        if found is not None:
            return found
        runtime = root / "runtime"
        try:
            check_path(runtime, self.shown(runtime), "directory")
        except PathProblem as exc:
            raise InputError(f"{key}: pkgdata {exc}") from None
        names: dict[str, Path] = {}
        for f in sorted(runtime.iterdir()):
            # "<pkg>.packaged" marks a package that has files; names may hold dots.
            if not f.name.endswith(".packaged") and f.is_file():
                names[f.name] = f
        reverse = root / "runtime-reverse"
        for f in sorted(reverse.iterdir()) if reverse.is_dir() else ():
            # A renamed package (libc6) links to its runtime file (../runtime/glibc).
            if f.is_symlink():
                target = runtime / os.path.basename(os.readlink(f))
                if target.is_file():
                    names.setdefault(f.name, target)
        self._pkgdata[root.absolute()] = names
        return names

    def pkgdata_package(self, path: Path, key: str) -> tuple[int, tuple[tuple[str, int], ...]]:
        shown = self.shown(path)
        values: dict[str, str] = {}
        for line in _lines(path, shown, key):
            m = _PKGDATA_LINE.match(line)
            if m:
                values[m.group(1)] = m.group(2)
        pkg = path.name
        size = values.get(f"PKGSIZE:{pkg}")
        if size is None:
            raise _fail(key, shown, f"no PKGSIZE:{pkg} line (is it a pkgdata runtime file?)")
        files: tuple[tuple[str, int], ...] = ()
        info = values.get(f"FILES_INFO:{pkg}")
        if info:
            try:
                decoded = json.loads(info.encode("latin1").decode("unicode_escape"))
            except (ValueError, UnicodeError) as exc:
                raise _fail(key, shown, f"FILES_INFO:{pkg} is not JSON: {exc}") from None
            if isinstance(decoded, dict):
                files = tuple(
                    sorted((_in_image(p), v) for p, v in decoded.items() if isinstance(v, int))
                )
        return _size_value(size, key, shown, f"PKGSIZE:{pkg}"), files

    # -- a selection ---------------------------------------------------------------------

    def read(self, sel: YoctoSelection, *, baseline: bool = False) -> list[YoctoPackage]:
        """The packages a selection names, sorted by name; raises ``InputError``."""
        key = sel.key
        root = sel.baseline if baseline else sel.buildhistory
        installed: dict[str, int] | None = None
        image_files: dict[str, int] | None = None
        sizes_file = ""
        if root is not None:
            try:
                check_path(root, self.shown(root), "directory")
            except PathProblem as exc:
                what = "baseline" if baseline else "buildhistory"
                raise InputError(f"{key}: {what} {exc}") from None
        if root is not None and sel.image is not None:
            image_dir = self.image_dir(root, sel.image, key)
            installed = self.installed(image_dir, key)
            sizes_file = self.shown(image_dir / "installed-package-sizes.txt")
            image_files = self.image_files(image_dir, key)
        latest = self.latest(root, key) if root is not None else {}
        pkgdata = self.pkgdata_names(sel.pkgdata, key) if sel.pkgdata is not None else {}
        universe = list(installed) if installed is not None else sorted(set(latest) | set(pkgdata))
        chosen = select(universe, sel.names, key, strict=not baseline)
        out = []
        for name in chosen:
            out.append(
                self._package(name, latest, pkgdata, installed, image_files, key, sizes_file)
            )
        return out

    def _package(
        self,
        name: str,
        latest: Mapping[str, tuple[int, str, Path]],
        pkgdata: Mapping[str, Path],
        installed: Mapping[str, int] | None,
        image_files: Mapping[str, int] | None,
        key: str,
        sizes_file: str,
    ) -> YoctoPackage:
        files: tuple[tuple[str, int], ...] = ()
        if name in latest:
            size, source, directory = latest[name]
            listed = directory / "files-in-package.txt"
            if listed.is_file():
                shown = self.shown(listed)
                files = tuple(
                    sorted(parse_file_list(_lines(listed, shown, key), shown, key).items())
                )
            exact = True
        elif name in pkgdata:
            size, files = self.pkgdata_package(pkgdata[name], key)
            source, exact = self.shown(pkgdata[name]), True
        elif installed is not None and name in installed:
            size, exact, source = installed[name] * 1024, False, sizes_file
        else:
            raise InputError(f"{key}: package {name!r}: no PKGSIZE for it in any source given")
        if exact and installed is not None and name in installed:
            kib = (size + 512) // 1024
            if kib != installed[name]:
                raise InputError(
                    f"{key}: package {name!r}: {source} says {size} bytes ({kib} KiB) but "
                    f"the image's installed-package-sizes.txt says {installed[name]} KiB: "
                    "the trees come from different builds"
                )
        if image_files is not None and files:
            # The image's own sizes where it lists the file (what was installed).
            files = tuple((p, image_files.get(p, s)) for p, s in files)
        return YoctoPackage(name, size, exact, source, files)


def parse_file_list(lines: Sequence[str], shown: str, key: str) -> dict[str, int]:
    """files-in-image.txt / files-in-package.txt: in-image path -> bytes of regular files
    and links (directories are left out: they are not the packages' bytes)."""
    out: dict[str, int] = {}
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        fields = line.split(None, 4)
        if len(fields) != 5 or not fields[3].isdigit():
            raise _fail(
                key, f"{shown}:{n}", f"expected '<mode> <user> <group> <size> <path>', got {line!r}"
            )
        mode, size, rest = fields[0], int(fields[3]), fields[4]
        if mode.startswith("d"):
            continue
        # A link's line ends " -> <target>"; a name holding " -> " is ambiguous (as it is
        # to buildhistory-diff), and read up to the first.
        path = rest.split(" -> ", 1)[0] if mode.startswith("l") else rest
        out[_in_image(path)] = size
    return out


def _in_image(path: str) -> str:
    """``./usr/bin/x`` (find) and ``/usr/bin/x`` (FILES_INFO) alike as ``usr/bin/x``."""
    return path[2:] if path.startswith("./") else path.lstrip("/")


def select(universe: Sequence[str], names: Sequence[str], key: str, *, strict: bool) -> list[str]:
    """Names in ``universe`` that ``names`` (names and globs) pick, sorted, each once."""
    known = set(universe)
    chosen: set[str] = set()
    for pattern in names:
        if any(c in pattern for c in "*?["):
            # One compiled pattern run over the names by filter(): no per-name call of ours.
            hits = list(filter(re.compile(fnmatch.translate(pattern)).match, universe))
        else:
            hits = [pattern] if pattern in known else []
        if not hits and strict:
            close = difflib.get_close_matches(pattern.strip("*?"), universe, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise InputError(f"{key}: {pattern!r} matches no package{hint}")
        chosen.update(hits)
    return sorted(chosen)


def package_key(name: str, size: int) -> str:
    return hashlib.sha256(f"yocto\0{name}\0{size}".encode()).hexdigest()


def as_package(p: YoctoPackage, origin: str) -> Package:
    key = package_key(p.name, p.size)
    return Package(
        name=p.name,
        origin=origin if p.exact else f"{origin}, whole KiB",
        kind="yocto",
        blobs=(BlobEntry(merkle=key, path=PACKAGE_BLOB_PATH, size=p.size),),
        fixed_sizes=((key, p.size),),
    )
