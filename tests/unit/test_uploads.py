from __future__ import annotations

import hashlib
import io

import pytest

from gate.platform_hooks.uploads import UploadError, spool_stream


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
