"""v2/v3 verity content digests (VERITY_CHUNKED_SHA256) on packages apksigner signs with --verity-enabled.

The package is signed here and apksigner's own verdict is read live (the oracle), so the test proves the gate's
fs-verity Merkle tree on a layout apksigner wrote: a 1.5 MB stored asset makes the tree two levels deep.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import zipfile

import pytest

from fixtures import forge, toolchain
from gate.extract.container import ApkContainer
from gate.extract.signing import block as blk
from gate.extract.signing import verify_apk_signatures
from tests import requirements
from tests.oracle import FIXTURES

pytestmark = [pytest.mark.oracle, requirements.needs_tools("apksigner", "zipalign", "keytool")]

VERITY_ALGORITHMS = {0x0421, 0x0423, 0x0425}


@pytest.fixture(scope="module")
def verity_apk(tmp_path_factory):
    work = tmp_path_factory.mktemp("verity")
    unsigned = work / "unsigned.apk"
    shutil.copyfile(FIXTURES / "unsigned.apk", unsigned)
    with zipfile.ZipFile(unsigned, "a") as archive:
        archive.writestr(zipfile.ZipInfo("assets/blob.bin"), random.Random(7).randbytes(1_500_000),
                         compress_type=zipfile.ZIP_STORED)
    aligned = toolchain.zipalign(unsigned, work / "aligned.apk")
    keystore = toolchain.keystore(FIXTURES.parent / "keys" / "rsa2048.p12")
    return toolchain.sign(aligned, work / "verity.apk", keystore,
                          extra=("--verity-enabled", "true"))


def _apksigner_verifies(path) -> bool:
    proc = subprocess.run(["apksigner", "verify", str(path)], capture_output=True, text=True)
    return proc.returncode == 0


def _gate(path):
    with ApkContainer.open(path) as container:
        return verify_apk_signatures(container, min_sdk=21, target_sdk=34)


def _signature_algorithms(data: bytes, block_id: int) -> set[int]:
    value = dict(forge.signing_block_pairs(forge.ZipLayout.parse(data).signing_block))[block_id]
    signer = forge._sequence(forge._sequence(value)[0])[0]
    _signed, pos = forge._prefixed(signer, 0)
    if block_id == forge.V3_BLOCK_ID:
        pos += 8  # min and max SDK
    signatures, _ = forge._prefixed(signer, pos)
    return {int.from_bytes(s[:4], "little") for s in forge._sequence(signatures)}


def test_verity_signed_package_verifies_like_apksigner(verity_apk):
    data = verity_apk.read_bytes()
    for block_id in (forge.V2_BLOCK_ID, forge.V3_BLOCK_ID):
        assert _signature_algorithms(data, block_id) & VERITY_ALGORITHMS, "apksigner wrote no verity signature"
    with ApkContainer.open(verity_apk) as container:
        signing_block = blk.find_signing_block(container)
        assert signing_block.offset % blk.VERITY_BLOCK_SIZE == 0  # apksigner pads for verity
        covered = signing_block.offset + (container.eocd_offset - container.central_directory_offset)
        assert covered > 128 * blk.VERITY_BLOCK_SIZE  # more than one tree block of hashes: two levels
    assert _apksigner_verifies(verity_apk)
    facts = _gate(verity_apk)
    assert facts.verified and facts.schemes["v2"] and facts.schemes["v3"], facts.errors


def test_tampered_verity_package_fails_like_apksigner(verity_apk, tmp_path):
    # One byte of the stored asset flipped and both CRC-32 fields fixed: only the content digests can notice.
    tampered = tmp_path / "tampered.apk"
    tampered.write_bytes(forge.tamper_stored_entry(verity_apk.read_bytes(), "assets/blob.bin", at=1_000_000))
    assert not _apksigner_verifies(tampered)
    facts = _gate(tampered)
    assert not facts.verified
    assert any("digest_mismatch" in e.message for e in facts.errors), facts.errors
    assert os.path.getsize(tampered) == os.path.getsize(verity_apk)  # same layout, other bytes
