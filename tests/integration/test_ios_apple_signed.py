"""A real Apple-signed executable (CMake's macOS universal binary from PyPI, pinned: fixtures/apple_signed.py),
verified offline against the Apple Root CA the gate ships; and transplanted into an IPA, where it must not vouch
for an identity it never sealed.

Expected values: the signer and team are what the binary's own certificate names (Kitware's Developer ID, team
W38PE5Y733, as Apple's notarised release states); Apple Root CA's SHA-256 is the value Apple publishes.
"""

import hashlib
import plistlib
import zipfile

from asn1crypto import x509

from gate.extract.container import ApkContainer
from gate.extract.ios import APPLE_ROOT_CA_SHA256, apple_root, codesign, read_ipa
from gate.extract.ios.cms import verify_signed_data
from gate.extract.ios.macho import read_slices
from tests import requirements

KITWARE_TEAM = "W38PE5Y733"


def test_the_shipped_root_is_apples():
    assert hashlib.sha256(apple_root()).hexdigest() == APPLE_ROOT_CA_SHA256


def test_cmake_verifies_offline_to_apple_root_on_every_slice():
    binary = requirements.apple_signed().read_bytes()
    slices = read_slices(binary)
    assert sorted(s.arch for s in slices) == ["arm64", "x86_64"]
    for piece in slices:
        image = binary[piece.offset:piece.offset + piece.size]
        start, size = piece.signature
        signature = codesign.parse_superblob(image[start:start + size])
        assert [d.algorithm for d in signature.code_directories] == ["sha1", "sha256"]
        assert signature.code_directories[0].team_id == KITWARE_TEAM
        for directory in signature.code_directories:
            assert codesign.page_hash_errors(directory, image) == []
        result = verify_signed_data(signature.cms, detached_content=signature.code_directories[0].raw,
                                    roots=(apple_root(),), code_signing=True)
        assert result.verified, result.errors
        assert len(result.chain) == 3  # Developer ID Application -> Developer ID Certification Authority -> root
        assert KITWARE_TEAM in x509.Certificate.load(result.chain[0]).subject.native["common_name"]
        assert hashlib.sha256(result.chain[-1]).hexdigest() == APPLE_ROOT_CA_SHA256
        assert codesign.bound_directory_errors(signature, result.signed_attributes) == []
        # A CodeDirectory that is not the one signed does not verify (the CMS binds the exact bytes).
        forged = bytearray(signature.code_directories[0].raw)
        forged[-1] ^= 1
        assert not verify_signed_data(signature.cms, detached_content=bytes(forged), roots=(apple_root(),)).verified


def test_an_apple_signature_transplanted_into_an_ipa_does_not_vouch_for_its_bundle_id(tmp_path):
    ipa = tmp_path / "transplant.ipa"
    with zipfile.ZipFile(ipa, "w") as archive:
        archive.writestr("Payload/Cm.app/Info.plist", plistlib.dumps(
            {"CFBundleIdentifier": "cn.example.transplant", "CFBundleExecutable": "cmake"}))
        archive.write(requirements.apple_signed(), "Payload/Cm.app/cmake")
    with ApkContainer.open(ipa) as container:
        facts = read_ipa(str(ipa), container)
    assert facts.package == "cn.example.transplant"
    assert "arm64: chain_to_trusted_root" in facts.signature.verified_parts  # Apple's signature itself is good
    assert not facts.signature.verified
    assert any(e.message.startswith("ios_special_slot_unsealed") for e in facts.signature.errors)
