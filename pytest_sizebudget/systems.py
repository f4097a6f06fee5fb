"""Whole systems, for the product and update kinds: reading, sizing and accounting them.

Product (``ffx assembly size-check product``, reference §1.6):

- total = the sum of on-disk sizes over the **distinct** merkles of all packages;
- per package: ``used_space_in_blobfs`` = the sum of its blobs' full sizes, and
  ``proportional_size`` = the sum of ``size // references`` over its blobs, where
  ``references`` counts every (package, path) that names the merkle (``breakdown.rs``).

Update, from system F (what the device runs) to system T (what it installs), with the
update package's blobs P:

- ``download_bytes`` = the Type-1 delivery-blob size (``measure.delivery``) of every
  distinct merkle of T ∪ P that is not in F: what an OTA fetches (with
  ``download_size: "stored"``, their stored data sizes in the filesystem instead);
- ``peak_bytes`` = max(disk(F ∪ T), slots × disk(T)) + disk(P − (F ∪ T)), where disk()
  sums on-disk sizes over distinct merkles.  With one slot that is the space both
  systems and the update package need at once; with two, the ``to`` system is also
  reserved twice, as size_checker.go's "Space reserved for slot B" does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from .accounting import BlobCharge, MissingBlob, PackageCharge
from .budget.model import Budget, BudgetFile, FileRef
from .budget.system_spec import SystemSpec
from .errors import InputError, MeasurementError, SizeBudgetError
from .kinds.base import EvaluationContext
from .measure.blob import BlobMeasurement
from .measure.formats import StorageFormat, storage_format
from .measure.requests import BlobRequest
from .measure.sizer import BlobSizer
from .packages.blob_sizes import BlobSizeIndex
from .packages.model import Package
from .product_inputs import System, load_compressed_sizes, load_images_contents, load_report
from .report.model import BudgetResult


@dataclass(slots=True)
class SizeTable:
    on_disk: dict[str, int] = field(default_factory=dict)
    stored: dict[str, int] = field(default_factory=dict)
    why_no_size: dict[str, str] = field(default_factory=dict)
    why_no_stored: dict[str, str] = field(default_factory=dict)


def size_systems(
    systems: Sequence[System],
    index: BlobSizeIndex,
    compressed: Mapping[str, int],
    sizer: BlobSizer,
    layout: StorageFormat,
    need_stored: Iterable[str] = (),
    *,
    delivery: bool = False,
) -> SizeTable:
    """On-disk sizes of every blob (stated by the input, else blobs.json, else measured)
    and stored data sizes of ``need_stored`` (blobs.json ``compressed_file_size``, else
    measured); with ``delivery``, their delivery-blob sizes instead (always measured: no
    input states them).  Nothing is guessed: what cannot be sized is explained per
    merkle."""
    table = SizeTable()
    stated_by: dict[str, str] = {}
    for s in systems:
        for merkle, size in s.given.items():
            known = table.on_disk.setdefault(merkle, size)
            if known != size:
                raise InputError(
                    f"blob {merkle} is {known} bytes on disk in {stated_by[merkle]} but "
                    f"{size} in {s.description}"
                )
            stated_by.setdefault(merkle, s.description)
            listed = index.get(merkle)
            if listed is not None and listed != size:
                raise InputError(
                    f"blob {merkle} is {size} bytes on disk in {s.description} but {listed} "
                    f"in {index.origin[merkle]} (different blobfs layouts?)"
                )
    sources: dict[str, tuple[Path | str, int | None]] = {}
    for s in systems:
        for p in s.packages:
            for b in p.blobs:
                if b.source is not None:
                    sources.setdefault(b.merkle, (b.source, b.size))
                if b.merkle not in table.on_disk:
                    listed = index.get(b.merkle)
                    if listed is not None:
                        table.on_disk[b.merkle] = listed
    wanted_stored = set(need_stored)
    for merkle in wanted_stored:
        if merkle in compressed and not delivery:
            table.stored[merkle] = compressed[merkle]
    every = {m for s in systems for m in s.merkles()}
    to_measure = sorted(
        m
        for m in every
        if (m not in table.on_disk or (m in wanted_stored and m not in table.stored))
        and m in sources
    )
    requests = {
        m: BlobRequest(Path(sources[m][0]), expected_merkle=m, expected_size=sources[m][1])
        for m in to_measure
    }
    answers: dict[BlobRequest, BlobMeasurement | MeasurementError] = {}
    # Only the blobs whose download counts need a delivery size (small blobs then need
    # compressing too); the rest are measured as the filesystem stores them.
    with_delivery = [r for m, r in requests.items() if delivery and m in wanted_stored]
    plain = [r for m, r in requests.items() if not (delivery and m in wanted_stored)]
    for batch, want in ((plain, False), (with_delivery, True)):
        if not batch:
            continue
        try:
            if want:
                answers.update(sizer.measure_blobs(batch, layout, delivery=True))
            else:  # the call a BlobSizer written before delivery sizes existed accepts
                answers.update(sizer.measure_blobs(batch, layout))
        except SizeBudgetError as exc:
            answers.update({r: MeasurementError(str(exc)) for r in batch})
    for merkle, request in requests.items():
        got = answers.get(request)
        if isinstance(got, BlobMeasurement):
            table.on_disk.setdefault(merkle, got.size_on_disk)
            if merkle in wanted_stored:
                stored = got.delivery_bytes if delivery else got.stored_data_bytes
                if stored is not None:
                    table.stored.setdefault(merkle, stored)
                else:
                    table.why_no_stored[merkle] = "the sizer gave no delivery-blob size"
        else:
            why = str(got) if got is not None else "the sizer gave no answer"
            if merkle not in table.on_disk:
                table.why_no_size[merkle] = why
            table.why_no_stored[merkle] = why
    for merkle in every - table.on_disk.keys() - table.why_no_size.keys():
        table.why_no_size[merkle] = "not in any blobs.json, and no source file to measure"
    for merkle in wanted_stored - table.stored.keys() - table.why_no_stored.keys():
        if delivery:
            table.why_no_stored[merkle] = (
                f"only its on-disk size is known (from {stated_by.get(merkle, 'blobs.json')}); "
                "a delivery-blob size is measured from the blob's bytes, so give package "
                'manifests whose blobs can be measured, or set download_size: "stored" '
                "to count the stored sizes a blobs.json's compressed_file_size gives"
            )
            continue
        table.why_no_stored[merkle] = (
            f"only its on-disk size is known (from {stated_by.get(merkle, 'blobs.json')}); "
            "an images manifest, a JSON report or a blobs.json without compressed_file_size "
            "does not say how many bytes an update transfers: list a blobs.json with "
            "compressed_file_size in blob_sizes, or give package manifests whose blobs can "
            "be measured"
        )
    return table


# -- accounting ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProductUsage:
    total_bytes: int
    distinct_blobs: int
    references: int
    packages: tuple[PackageCharge, ...]
    missing: tuple[MissingBlob, ...] = ()


def account_product(packages: Sequence[Package], sizes: Mapping[str, int]) -> ProductUsage:
    """Total over distinct merkles; per package used and proportional sizes (breakdown.rs)."""
    refs: Counter[str] = Counter(b.merkle for p in packages for b in p.blobs)
    charges = []
    missing = []
    for p in packages:
        blobs = []
        for b in p.blobs:
            size = sizes.get(b.merkle)
            count = refs[b.merkle]
            if size is None:
                missing.append(MissingBlob(p.name, p.origin, b.path, b.merkle))
                blobs.append(BlobCharge(b.merkle, b.path, None, count, 0))
            else:
                blobs.append(BlobCharge(b.merkle, b.path, size, count, size // count))
        charges.append(
            PackageCharge(
                name=p.name,
                origin=p.origin,
                used_space_in_blobfs=sum(c.size or 0 for c in blobs),
                proportional_size=sum(c.charged_bytes for c in blobs),
                blobs=tuple(blobs),
            )
        )
    total = sum(sizes.get(m, 0) for m in refs)
    return ProductUsage(total, len(refs), sum(refs.values()), tuple(charges), tuple(missing))


@dataclass(frozen=True, slots=True)
class NewBlob:
    """A blob the update brings: in ``to`` or the update package, not in ``from``."""

    merkle: str
    on_disk: int
    stored: int | None
    where: tuple[str, ...]  # "package: path" of every reference in to / update package
    saves_peak: int  # how much lower peak_bytes would be without this blob


@dataclass(frozen=True, slots=True)
class UpdateUsage:
    from_bytes: int
    to_bytes: int
    union_bytes: int  # disk(F ∪ T)
    update_package_bytes: int  # disk(P)
    update_package_extra_bytes: int  # disk(P − (F ∪ T)), what P adds to the peak
    slots: int
    peak_bytes: int
    download_bytes: int | None  # None when a new blob's stored size is unknown
    new_blobs: tuple[NewBlob, ...]  # largest on-disk first


def _disk(merkles: Iterable[str], sizes: Mapping[str, int]) -> int:
    return sum(sizes[m] for m in merkles)


def account_update(
    source: set[str],
    target: set[str],
    update_package: set[str],
    on_disk: Mapping[str, int],
    stored: Mapping[str, int],
    slots: int = 1,
    where: Mapping[str, Sequence[str]] | None = None,
) -> UpdateUsage:
    """Sets of merkles in; every on-disk size must be known."""
    union = source | target
    from_b, to_b, union_b = _disk(source, on_disk), _disk(target, on_disk), _disk(union, on_disk)
    extra_p = _disk(update_package - union, on_disk)
    peak = max(union_b, slots * to_b) + extra_p
    new = (target | update_package) - source
    download = None
    if all(m in stored for m in new):
        download = sum(stored[m] for m in new)
    blobs = []
    for m in new:
        s = on_disk[m]
        in_t = m in target
        # Without m (dropped from ``to`` and from the update package):
        peak_without = max(union_b - s * in_t, slots * (to_b - s * in_t)) + (
            extra_p - s * (m in update_package and not in_t)
        )
        blobs.append(
            NewBlob(m, s, stored.get(m), tuple((where or {}).get(m, ())), peak - peak_without)
        )
    blobs.sort(key=lambda b: (-b.on_disk, b.merkle))
    return UpdateUsage(
        from_bytes=from_b,
        to_bytes=to_b,
        union_bytes=union_b,
        update_package_bytes=_disk(update_package, on_disk),
        update_package_extra_bytes=extra_p,
        slots=slots,
        peak_bytes=peak,
        download_bytes=download,
        new_blobs=tuple(blobs),
    )


# -- reading systems -----------------------------------------------------------------


class SystemLoader:
    """Reads the systems of one budget file's product and update budgets."""

    def __init__(self, context: EvaluationContext, budget_file: BudgetFile) -> None:
        self.context = context
        self.bf = budget_file

    def package(self, ref: FileRef) -> Package:
        return self.context.packages.load(ref)

    def system(self, label: str, spec: SystemSpec) -> System:
        if spec.form == "packages":
            packages = tuple(self.package(ref) for ref in spec.files)
            shown = ", ".join(p.origin for p in packages[:3])
            more = f" and {len(packages) - 3} more" if len(packages) > 3 else ""
            return System(label, f"packages {shown}{more}", packages)
        ref = spec.files[0]
        shown = self.context.display(ref.path)
        maximum = None
        try:
            filesystem = None
            if spec.form == "images_manifest":
                packages, given, maximum, filesystem = load_images_contents(ref.path, shown)
            else:
                packages, given = load_report(ref.path, shown, spec.budgets)
        except InputError as exc:
            raise InputError(f"{ref.key}: {exc}") from None
        description = f"{spec.form.replace('_', ' ')} {shown}"
        return System(label, description, packages, given, maximum, filesystem)

    def storage_format(self, systems: Sequence[System]) -> StorageFormat:
        """The storage format of these systems' blobs: the budget file's ``filesystem``,
        else what their images manifests say, else blobfs; blobfs in the file's layout.

        Sizes of two filesystems cannot be added up, so a file and a manifest, or two
        manifests, that name different filesystems are an error."""
        said: dict[str, str] = {}
        for s in systems:
            if s.filesystem is not None:
                said.setdefault(s.filesystem, s.description)
        written = self.bf.filesystem
        if written is not None:
            other = [f for f in said if f != written]
            if other:
                raise InputError(
                    f"{self.bf.display} says filesystem {written!r} but {said[other[0]]} "
                    f"holds a {other[0]} image: its sizes are {other[0]} sizes (remove "
                    "'filesystem' to follow the manifest, or give inputs of one filesystem)"
                )
            return self.bf.storage_format
        if len(said) > 1:
            (a, da), (b, db) = sorted(said.items())[:2]
            raise InputError(
                f"{da} holds a {a} image but {db} a {b} image: sizes of two filesystems "
                "cannot be compared or added"
            )
        return storage_format("fxfs" if "fxfs" in said else "blobfs", self.bf.blobfs_layout)

    def index(self, extra: Sequence[FileRef]) -> tuple[BlobSizeIndex, dict[str, int]]:
        refs = [*self.bf.blob_sizes, *extra]
        store, display = self.context.blob_sizes, self.context.display
        try:
            index = store.index([(r.path, display(r.path)) for r in refs])
            compressed: dict[str, int] = {}
            for path in [*(r.path for r in refs), *store.extra]:
                for m, s in load_compressed_sizes(path, display(path)).items():
                    compressed.setdefault(m, s)
        except InputError as exc:
            raise InputError(f"blob_sizes: {exc}") from None
        return index, compressed


_B = TypeVar("_B", bound=Budget)


def evaluate_each(
    context: EvaluationContext,
    budget_file: BudgetFile,
    budgets: Sequence[_B],
    base: Mapping[str, BudgetResult],
    one: Callable[[SystemLoader, _B, BudgetResult], BudgetResult],
) -> dict[str, BudgetResult]:
    """``one`` for each budget, with one loader for the file (each package read once);
    a budget whose inputs cannot be read fails alone, with the message."""
    loader = SystemLoader(context, budget_file)
    out: dict[str, BudgetResult] = {}
    for b in budgets:
        try:
            out[b.key] = one(loader, b, base[b.key])
        except SizeBudgetError as exc:
            out[b.key] = base[b.key].with_error(str(exc))
    return out


def missing_text(
    what: str, problem: str, missing: Mapping[str, str], where: Mapping[str, Sequence[str]]
) -> str:
    """``N blobs of <what> have <problem>:`` and one line per merkle, with its references."""
    one = len(missing) == 1
    lines = [
        f"{len(missing)} blob{'' if one else 's'} of {what} {'has' if one else 'have'} {problem}:"
    ]
    for merkle in sorted(missing):
        refs = ", ".join(where.get(merkle, ())[:3]) or "?"
        lines.append(f"  {refs} merkle {merkle}: {missing[merkle]}")
    return "\n".join(lines)


def where_used(systems: Sequence[System]) -> dict[str, list[str]]:
    """merkle -> every ``package: path`` that names it, in the systems' order."""
    out: dict[str, list[str]] = {}
    for s in systems:
        for p in s.packages:
            for b in p.blobs:
                out.setdefault(b.merkle, []).append(f"{p.name}: {b.path}")
    return out
