"""Product and update (OTA) accounting: whole systems, not package sets (pytest-free).

Product (``ffx assembly size-check product``, reference §1.6):

- total = the sum of on-disk sizes over the **distinct** merkles of all packages;
- per package: ``used_space_in_blobfs`` = the sum of its blobs' full sizes, and
  ``proportional_size`` = the sum of ``size // references`` over its blobs, where
  ``references`` counts every (package, path) that names the merkle (``breakdown.rs``).

Update, from system F (what the device runs) to system T (what it installs), with the
update package's blobs P:

- ``download_bytes`` = the stored data size (before block alignment) of every distinct
  merkle of T ∪ P that is not in F: what travels;
- ``peak_bytes`` = max(disk(F ∪ T), slots × disk(T)) + disk(P − (F ∪ T)), where disk()
  sums on-disk sizes over distinct merkles.  With one slot that is the space both
  systems and the update package need at once; with two, the ``to`` system is also
  reserved twice, as size_checker.go's "Space reserved for slot B" does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .accounting import BlobCharge, MissingBlob, PackageCharge
from .budget.model import BudgetFile, FileRef, Layout
from .budget.product_budget import ProductBudget, SystemSpec, UpdateBudget
from .errors import InputError, MeasurementError, SizeBudgetError
from .measure.blob import BlobMeasurement
from .measure.cache import BlobCache
from .measure.engine import BlobRequest, MeasurementEngine
from .packages.blob_sizes import BlobSizeIndex
from .packages.directory import load_directory
from .packages.manifest import load_manifest
from .packages.model import Package
from .product_inputs import System, load_compressed_sizes, load_images_manifest, load_report
from .report.model import BudgetResult

if TYPE_CHECKING:
    from .evaluate import BudgetEvaluator


# -- measurement ---------------------------------------------------------------------


@runtime_checkable
class BlobMeasurer(Protocol):
    """Measures blob files fully (on-disk and stored data sizes) for one layout.

    A ``sizebudget_sizer`` that also has this method is used for product and update
    budgets; otherwise they use a ``MeasurementEngine`` of their own.
    """

    def measure_blobs(
        self, requests: Sequence[BlobRequest], layout: Layout
    ) -> Mapping[BlobRequest, BlobMeasurement | MeasurementError]: ...


class EngineMeasurer:
    """``BlobMeasurer`` over one ``MeasurementEngine`` per layout (in-memory cache)."""

    def __init__(self, cache_root: Path | None = None, threads: int | None = None) -> None:
        self.cache_root = cache_root
        self.threads = threads
        self._engines: dict[Layout, MeasurementEngine] = {}

    def measure_blobs(
        self, requests: Sequence[BlobRequest], layout: Layout
    ) -> Mapping[BlobRequest, BlobMeasurement | MeasurementError]:
        engine = self._engines.get(layout)
        if engine is None:
            engine = MeasurementEngine(layout, BlobCache(self.cache_root, layout), self.threads)
            self._engines[layout] = engine
        return engine.measure(requests)


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
    measurer: BlobMeasurer,
    layout: Layout,
    need_stored: Iterable[str] = (),
) -> SizeTable:
    """On-disk sizes of every blob (stated by the input, else blobs.json, else measured)
    and stored data sizes of ``need_stored`` (blobs.json ``compressed_file_size``, else
    measured).  Nothing is guessed: what cannot be sized is explained per merkle."""
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
    sources: dict[str, tuple[Path, int | None]] = {}
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
        if merkle in compressed:
            table.stored[merkle] = compressed[merkle]
    every = {m for s in systems for m in s.merkles()}
    to_measure = sorted(
        m
        for m in every
        if (m not in table.on_disk or (m in wanted_stored and m not in table.stored))
        and m in sources
    )
    requests = {
        m: BlobRequest(sources[m][0], expected_merkle=m, expected_size=sources[m][1])
        for m in to_measure
    }
    answers: Mapping[BlobRequest, BlobMeasurement | MeasurementError] = {}
    if requests:
        try:
            answers = measurer.measure_blobs(list(requests.values()), layout)
        except SizeBudgetError as exc:
            answers = {r: MeasurementError(str(exc)) for r in requests.values()}
    for merkle, request in requests.items():
        got = answers.get(request)
        if isinstance(got, BlobMeasurement):
            table.on_disk.setdefault(merkle, got.size_on_disk)
            if merkle in wanted_stored:
                table.stored.setdefault(merkle, got.stored_data_bytes)
        else:
            why = str(got) if got is not None else "the measurer gave no answer"
            if merkle not in table.on_disk:
                table.why_no_size[merkle] = why
            table.why_no_stored[merkle] = why
    for merkle in every - table.on_disk.keys() - table.why_no_size.keys():
        table.why_no_size[merkle] = "not in any blobs.json, and no source file to measure"
    for merkle in wanted_stored - table.stored.keys() - table.why_no_stored.keys():
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


# -- evaluation ----------------------------------------------------------------------


class _Loader:
    """Reads systems for one budget file, each file once."""

    def __init__(self, evaluator: BudgetEvaluator, bf: BudgetFile) -> None:
        self.ev = evaluator
        self.bf = bf
        self._packages: dict[Path, Package | InputError] = {}

    def package(self, ref: FileRef) -> Package:
        resolved = ref.path.absolute()
        if resolved not in self._packages:
            shown = self.ev.display(ref.path)
            try:
                if resolved.is_dir():
                    got: Package | InputError = load_directory(
                        resolved, self.ev.hasher, display=shown
                    )
                elif not resolved.exists():
                    raise InputError(f"{shown}: does not exist")
                else:
                    got = load_manifest(
                        resolved,
                        working_dir=self.bf.root,
                        include_subpackages=self.bf.include_subpackages,
                        display=shown,
                    )
            except InputError as exc:
                got = InputError(f"{ref.key}: {exc}")
            self._packages[resolved] = got
        found = self._packages[resolved]
        if isinstance(found, InputError):
            raise found
        return found

    def system(self, label: str, spec: SystemSpec) -> System:
        if spec.form == "packages":
            packages = tuple(self.package(ref) for ref in spec.files)
            shown = ", ".join(p.origin for p in packages[:3])
            more = f" and {len(packages) - 3} more" if len(packages) > 3 else ""
            return System(label, f"packages {shown}{more}", packages)
        ref = spec.files[0]
        shown = self.ev.display(ref.path)
        try:
            if spec.form == "images_manifest":
                packages, given = load_images_manifest(ref.path, shown)
            else:
                packages, given = load_report(ref.path, shown, spec.budgets)
        except InputError as exc:
            raise InputError(f"{ref.key}: {exc}") from None
        return System(label, f"{spec.form.replace('_', ' ')} {shown}", packages, given)

    def index(self, extra: Sequence[FileRef]) -> tuple[BlobSizeIndex, dict[str, int]]:
        refs = [*self.bf.blob_sizes, *extra]
        try:
            index = self.ev.blob_sizes.index([(r.path, self.ev.display(r.path)) for r in refs])
            compressed: dict[str, int] = {}
            for path in [*(r.path for r in refs), *self.ev.blob_sizes.extra]:
                for m, s in load_compressed_sizes(path, self.ev.display(path)).items():
                    compressed.setdefault(m, s)
        except InputError as exc:
            raise InputError(f"blob_sizes: {exc}") from None
        return index, compressed


@runtime_checkable
class EngineProvider(Protocol):
    """A sizer that owns a ``MeasurementEngine`` per layout (and so its cache)."""

    def engine(self, layout: Layout) -> MeasurementEngine: ...


class ProvidedEngines:
    """``BlobMeasurer`` over the engines of a sizer, so measurements share its cache."""

    def __init__(self, provider: EngineProvider) -> None:
        self.provider = provider

    def measure_blobs(
        self, requests: Sequence[BlobRequest], layout: Layout
    ) -> Mapping[BlobRequest, BlobMeasurement | MeasurementError]:
        return self.provider.engine(layout).measure(requests)


def measurer_for(evaluator: BudgetEvaluator) -> BlobMeasurer:
    """The sizer itself when it measures fully, its engines when it has them, else our own."""
    sizer = evaluator.sizer
    if isinstance(sizer, BlobMeasurer):
        return sizer
    if isinstance(sizer, EngineProvider):
        return ProvidedEngines(sizer)
    return EngineMeasurer()


def evaluate_systems(
    evaluator: BudgetEvaluator, bf: BudgetFile, base: Mapping[str, BudgetResult]
) -> dict[str, BudgetResult]:
    """Results of the file's product and update budgets, by budget key."""
    loader = _Loader(evaluator, bf)
    measurer: BlobMeasurer | None = None
    out: dict[str, BudgetResult] = {}
    for b in bf.budgets:
        if not isinstance(b, ProductBudget | UpdateBudget):
            continue
        if measurer is None:
            measurer = measurer_for(evaluator)
        try:
            if isinstance(b, ProductBudget):
                out[b.key] = _product(loader, measurer, b, base[b.key])
            else:
                out[b.key] = _update(loader, measurer, b, base[b.key])
        except SizeBudgetError as exc:
            out[b.key] = base[b.key].with_error(str(exc))
    return out


def _missing_text(what: str, missing: Mapping[str, str], where: Mapping[str, Sequence[str]]) -> str:
    one = len(missing) == 1
    lines = [f"{len(missing)} blob{'' if one else 's'} of {what} {'has' if one else 'have'} {{}}:"]
    for merkle in sorted(missing):
        refs = ", ".join(where.get(merkle, ())[:3]) or "?"
        lines.append(f"  {refs} merkle {merkle}: {missing[merkle]}")
    return "\n".join(lines)


def _where(systems: Sequence[System]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for s in systems:
        for p in s.packages:
            for b in p.blobs:
                out.setdefault(b.merkle, []).append(f"{p.name}: {b.path}")
    return out


def _product(
    loader: _Loader, measurer: BlobMeasurer, b: ProductBudget, base: BudgetResult
) -> BudgetResult:
    system = loader.system(b.name, b.system)
    index, compressed = loader.index(())
    table = size_systems([system], index, compressed, measurer, loader.bf.blobfs_layout)
    usage = account_product(system.packages, table.on_disk)
    result = replace(
        base,
        parameters={"blobfs_layout": loader.bf.blobfs_layout, "input": system.description},
        packages=usage.packages,
        used_bytes=usage.total_bytes,
        extra={
            "distinct_blobs": usage.distinct_blobs,
            "blob_references": usage.references,
            "max_contents_bytes": b.budget_bytes,
        },
    )
    if table.why_no_size:
        text = _missing_text(f"product {b.name!r}", table.why_no_size, _where([system]))
        return replace(result, used_bytes=None, error=text.format("no known size"))
    return result


def _update(
    loader: _Loader, measurer: BlobMeasurer, b: UpdateBudget, base: BudgetResult
) -> BudgetResult:
    source = loader.system("from", b.source)
    target = loader.system("to", b.target)
    systems = [source, target]
    if b.update_package is not None:
        package = loader.package(b.update_package)
        systems.append(System("update_package", b.update_package.key, (package,)))
    f_set, t_set = source.merkles(), target.merkles()
    p_set = systems[2].merkles() if len(systems) == 3 else set()
    new = (t_set | p_set) - f_set
    index, compressed = loader.index([*b.source.blob_sizes, *b.target.blob_sizes])
    table = size_systems(systems, index, compressed, measurer, loader.bf.blobfs_layout, new)
    where = _where(systems[1:])
    layout = loader.bf.blobfs_layout
    result = replace(base, parameters={"blobfs_layout": layout, "slots": b.slots})
    if table.why_no_size:
        text = _missing_text(f"update {b.name!r}", table.why_no_size, _where(systems))
        return result.with_error(text.format("no known on-disk size"))
    usage = account_update(f_set, t_set, p_set, table.on_disk, table.stored, b.slots, where)
    to_usage = account_product(target.packages, table.on_disk)
    failed = []
    if usage.peak_bytes > b.budget_bytes:
        failed.append("peak_bytes")
    download_missing = {m: table.why_no_stored[m] for m in new if m not in table.stored}
    if (
        b.download_budget_bytes is not None
        and usage.download_bytes is not None
        and usage.download_bytes > b.download_budget_bytes
    ):
        failed.append("download_bytes")
    extra: dict[str, Any] = {
        "peak_bytes": usage.peak_bytes,
        "capacity_bytes": b.budget_bytes,
        "download_bytes": usage.download_bytes,
        "download_budget_bytes": b.download_budget_bytes,
        "slots": b.slots,
        "from_bytes": usage.from_bytes,
        "to_bytes": usage.to_bytes,
        "union_bytes": usage.union_bytes,
        "update_package_bytes": usage.update_package_bytes,
        "update_package_extra_bytes": usage.update_package_extra_bytes,
        "from": source.description,
        "to": target.description,
        "new_blobs": [
            {
                "merkle": n.merkle,
                "size": n.on_disk,
                "stored_bytes": n.stored,
                "saves_peak_bytes": n.saves_peak,
                "in": list(n.where),
            }
            for n in usage.new_blobs
        ],
        "failed_checks": failed,
    }
    dl_text: str | None = None
    if download_missing:
        dl_text = _missing_text(f"update {b.name!r}", download_missing, where).format(
            "no known download size"
        )
        # Without a download budget nothing is checked against it: the peak still decides.
        extra["download_unknown"] = dl_text
    result = replace(result, used_bytes=usage.peak_bytes, packages=to_usage.packages, extra=extra)
    if dl_text is not None and b.download_budget_bytes is not None:
        return result.with_error(dl_text)
    return result
