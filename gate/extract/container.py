"""The ZIP container read the way Android's libziparchive reads it — and refused wherever tools could disagree.

INTERFACE STUB: being implemented. Public API (stable):

    ZipEntry (frozen): name, raw_name, method, flags, crc32, compressed_size, uncompressed_size,
                       local_header_offset, data_offset, is_directory
    ContainerLimits (frozen): max_entries, max_total_inflated, max_inflate_ratio, max_entry_inflated
    ApkContainer.open(path, *, limits=DEFAULT_LIMITS) -> ApkContainer      (raises ContainerError / LimitExceeded)
    ApkContainer.from_bytes(data, *, limits=DEFAULT_LIMITS) -> ApkContainer
    .size, .entries (central-directory order), .get(name) -> ZipEntry | None, names()
    .central_directory_offset, .central_directory_size, .eocd_offset
    .view(start, end) -> memoryview over the raw file bytes
    .read(entry_or_name, *, max_size=None) -> bytes  (inflates once; checks size and CRC; ContainerError/LimitExceeded)
    .close(); usable as a context manager
"""
