"""Host names and text from outside, as the gate normalises or refuses them (oracles: the standard library's IDNA
2003 codec and ipaddress, which getaddrinfo and the socket layer themselves rely on)."""

from __future__ import annotations

import pytest

from gate.services.fetch import _declared_length, ascii_host
from gate.services.uploads import UploadError
from gate.text import clean_filename, text_problem


@pytest.mark.parametrize("host", ["下载.示例.中国", "例子。公司", "ＥＸＡＭＰＬＥ.cn", "bücher.de"])
def test_names_map_to_what_the_idna_codec_gives(host):
    assert ascii_host(host) == host.encode("idna").decode("ascii").lower()


@pytest.mark.parametrize("host, address", [("１２７．０．０．１", "127.0.0.1"), ("127。0。0。1", "127.0.0.1"),
                                           ("::1", "::1"), ("0:0:0:0:0:0:0:1", "::1")])
def test_literals_come_out_canonical(host, address):
    assert ascii_host(host) == address


@pytest.mark.parametrize("host", ["\u0301bad.cn", "a\u200bb\x00.cn", "-lead.cn", "x" * 64 + ".cn"])
def test_unmappable_names_are_package_url_invalid(host):
    with pytest.raises(UploadError) as refused:
        ascii_host(host)
    assert refused.value.code == "package_url_invalid"


@pytest.mark.parametrize("value, length", [("123", 123), (" 42 ", 42), ("²", None), ("١٢", None), ("-1", None),
                                           ("", None), (None, None)])
def test_only_ascii_digits_are_a_content_length(value, length):
    assert _declared_length(value) == length


def test_text_problems_and_file_names():
    assert text_problem("门禁示例科技有限公司") is None
    assert text_problem("a\x00b") == "contains a NUL character"
    assert text_problem("a\ud800") == "contains a lone UTF-16 surrogate"
    assert clean_filename("C:\\dir\\hello\x00\x1f\udcff.apk") == "hello.apk"
    assert clean_filename("\x00") == "package.apk" and len(clean_filename("a" * 300)) == 255
