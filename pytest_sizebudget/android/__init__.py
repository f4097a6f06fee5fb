"""Android build outputs read for size budgets, without pytest.

- ``info``: key=value files (``misc_info.txt``, ``dynamic_partitions_info.txt``) read the way
  AOSP's ``common.LoadDictionaryFromLines`` reads them, every value remembering its line;
- ``partition_sizes``: AOSP's ``check_partition_sizes.py`` checks, reimplemented exactly
  (slot count, limits, rounding, order, messages) over such a dictionary;
- ``liblp``: the logical-partition metadata of ``super.img`` / ``super_empty.img``;
- ``super_image``: where that metadata lies (raw, Android sparse, split, super_empty) and
  what it says as a dictionary of the same keys;
- ``target_files``: a target-files directory or ``.zip`` (``META/``, ``IMAGES/``).

Facts: ``shared/reference/android_super.md``; every reader streams (a super partition is
larger than 10 GB) and raises an ``InputError`` naming the file, the offset or line, and
what is wrong.
"""
