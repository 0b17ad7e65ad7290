from __future__ import annotations

import hashlib
import io
import threading

import pytest

from gate.services.uploads import HashingSpool, UploadError, spool_stream


def no_spool_helpers() -> bool:
    return not any(t.name == "gate-spool" for t in threading.enumerate())


def test_spool_hashes_while_writing(tmp_path):
    data = b"x" * (3 * 1024 * 1024 + 17)
    spooled = spool_stream(io.BytesIO(data), limit=len(data), directory=str(tmp_path))
    assert spooled.size == len(data) and spooled.sha256 == hashlib.sha256(data).hexdigest()
    assert open(spooled.path, "rb").read() == data
    spooled.discard()
    assert list(tmp_path.iterdir()) == []


def test_declared_length_over_cap_is_refused_before_reading(tmp_path):
    class Unreadable(io.RawIOBase):
        def read(self, n=-1):
            raise AssertionError("must not read")

    with pytest.raises(UploadError) as info:
        spool_stream(Unreadable(), limit=10, declared_length=11, directory=str(tmp_path))
    assert (info.value.code, info.value.status) == ("upload_too_large", 413)
    assert list(tmp_path.iterdir()) == []


def test_stream_over_cap_is_refused_and_removed(tmp_path):
    with pytest.raises(UploadError) as info:
        spool_stream(io.BytesIO(b"y" * 5000), limit=4096, directory=str(tmp_path))
    assert info.value.code == "upload_too_large"
    assert list(tmp_path.iterdir()) == []


def test_spool_hashes_on_a_helper_thread_in_order_and_copies_reused_buffers(tmp_path):
    spool = HashingSpool(limit=1 << 30, directory=str(tmp_path))
    buffer, expected = bytearray(65536), hashlib.sha256()
    for i in range(200):  # the caller reuses one buffer, as socket readers do
        buffer[:] = bytes([i % 251]) * len(buffer)
        expected.update(buffer)
        spool.write(buffer)
    spooled = spool.finish()
    assert (spooled.size, spooled.sha256) == (200 * 65536, expected.hexdigest())
    with open(spooled.path, "rb") as stream:
        assert hashlib.sha256(stream.read()).hexdigest() == expected.hexdigest()
    assert no_spool_helpers()


@pytest.mark.parametrize("size", [1000, 3 << 20])  # written inline, and by the helper thread
def test_a_failed_disk_write_surfaces_and_nothing_stays(tmp_path, size):
    spool = HashingSpool(limit=1 << 30, directory=str(tmp_path))
    real = spool._file

    class FullDisk:
        def write(self, data):
            raise OSError(28, "No space left on device")

        def __getattr__(self, name):
            return getattr(real, name)

    spool._file = FullDisk()
    with pytest.raises(UploadError) as refused:  # a full disk is the gate's state: 507 spool_full, retry later
        for _ in range(0, size, 1000):
            spool.write(b"x" * 1000)
        spool.finish()
    assert (refused.value.code, refused.value.status, refused.value.retry_after) == ("spool_full", 507, 60)
    assert list(tmp_path.iterdir()) == []
    assert no_spool_helpers()


def test_abort_mid_stream_stops_the_helper_and_deletes(tmp_path):
    spool = HashingSpool(limit=1 << 30, directory=str(tmp_path))
    for _ in range(100):
        spool.write(b"y" * 65536)
    spool.abort()
    spool.abort()  # twice (a refusal, then the request's teardown) is harmless
    assert list(tmp_path.iterdir()) == []
    assert no_spool_helpers()
