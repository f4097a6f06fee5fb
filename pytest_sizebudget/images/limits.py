"""The fixed bounds that keep image measurement finite whatever the input.

A compressed image can expand without bound, and a sparse header can promise billions of
chunks or descriptors; each loop and each decompression is therefore bounded here, and
every bound that is hit is an ImageFormatError that names it.  The parsers read these
names at call time (``limits.MAX_EXPANDED_BYTES``), so a test or a script can lower or raise
one by assigning to it.

With a budget to decide, decompression usually stops much earlier: as soon as the
expanded size is known to exceed the partition (``measure_image(..., limit=...)``).
"""

from __future__ import annotations

# The most decompressed bytes read from one compressed image file.  Far above any real
# partition image (an Android super image is about 10 GiB), and at worst a few minutes of
# decompression (about 1.3 GB/s for zstd, 220 MB/s for gzip on this machine).
MAX_EXPANDED_BYTES = 64 << 30

# The most chunks an Android sparse header may declare.  A real image has at most one chunk
# per run of blocks (thousands; the 4 GiB benchmark image has 10,000); reading one chunk
# costs about 5 us, so this bounds a hostile header to about 20 s.
MAX_SPARSE_CHUNKS = 1 << 22

# The partition table of a full FVM has 1024 entries (64 KiB of 64-byte entries).
MAX_FVM_PARTITIONS = 1024

# The most extent descriptors a sparse FVM may declare, over all partitions.
MAX_FVM_EXTENTS = 1 << 20

# Bytes counted after the end of a sparse image's structure (Android trailing data, FVM
# bytes after the extent data) in a compressed file, where counting them means
# decompressing them.  In a plain file they cost one seek and are not bounded.
MAX_STREAM_TRAILING_BYTES = 16 << 20
