"""v3 proof-of-rotation: the signing-certificate lineage, each node signed by its predecessor's key.

Wire format (apksig V3SigningCertificateLineage, little-endian): ``uint32 version (=1)``, then length-prefixed
nodes, each ``length-prefixed signed_data (length-prefixed certificate, uint32 parent's signature algorithm id) |
uint32 flags | uint32 algorithm id this node uses to sign the next | length-prefixed signature``. Node *n*'s
signed data is signed by node *n-1*'s key with the algorithm node *n-1* names; the first node is unsigned.
"""

from __future__ import annotations

from gate.extract.signing import certs
from gate.extract.signing.algorithms import SIGNATURE_ALGORITHMS
from gate.extract.signing.wire import Reader, WireError
from gate.records import record

LINEAGE_VERSION = 1


class LineageError(Exception):
    """The lineage is malformed (``kind="malformed"``) or a node's signature did not verify (``"did_not_verify"``)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@record
class LineageNode:
    """One certificate of a v3 rotation lineage, with its flags and the algorithms that sign it and the next."""

    cert: bytes  # DER
    flags: int
    parent_sig_alg: int  # algorithm the parent used to sign this node (0 for the first node)
    sig_alg: int  # algorithm this node uses to sign the next

    def __init__(self, cert: bytes, flags: int, parent_sig_alg: int, sig_alg: int) -> None:
        object.__setattr__(self, "__dict__", {
            "cert": cert, "flags": flags, "parent_sig_alg": parent_sig_alg, "sig_alg": sig_alg
        })


def parse_lineage(value: bytes) -> tuple[LineageNode, ...]:
    """Parse and verify a proof-of-rotation attribute value; nodes oldest first. Raises LineageError."""
    nodes: list[LineageNode] = []
    try:
        reader = Reader(value)
        if not reader.remaining():
            raise LineageError("malformed", "empty lineage")
        version = reader.u32()
        if version != LINEAGE_VERSION:
            raise LineageError("malformed", f"unknown lineage version {version}")
        last_key = None
        last_alg_id = 0
        while reader.remaining():
            node = reader.prefixed()
            signed_data_raw = node.prefixed()
            flags = node.u32()
            sig_alg_id = node.u32()
            signature = node.prefixed_bytes()
            if last_key is not None:
                alg = SIGNATURE_ALGORITHMS.get(last_alg_id)
                if alg is None:
                    raise LineageError("malformed", f"node #{len(nodes) + 1}: unknown algorithm {last_alg_id:#x}")
                if not certs.verify_signature(last_key, alg.key_type, alg.hash, signed_data_raw.data, signature,
                                              pss=alg.pss):
                    raise LineageError("did_not_verify", f"node #{len(nodes) + 1} is not signed by its predecessor")
            signed = Reader(signed_data_raw.data)
            cert_der = signed.prefixed_bytes()
            parent_alg = signed.u32()
            if last_key is not None and parent_alg != last_alg_id:
                raise LineageError("did_not_verify", f"node #{len(nodes) + 1}: signature algorithm id mismatch")
            try:
                parsed = certs.parse_certificate(cert_der)
                last_key = certs.load_public_key(certs.canonical_spki(certs.spki_der(parsed)))
            except certs.CertificateError as exc:
                raise LineageError("did_not_verify", f"node #{len(nodes) + 1}: {exc}") from None
            if any(node.cert == cert_der for node in nodes):
                # apksig refuses a lineage naming a certificate twice (POR_DID_NOT_VERIFY): with A -> B -> A -> C
                # "the root" and "an ancestor" stop meaning one thing, and the sub-lineage checks pick either copy.
                raise LineageError("did_not_verify", f"node #{len(nodes) + 1} repeats an earlier certificate")
            last_alg_id = sig_alg_id
            nodes.append(LineageNode(cert_der, flags, parent_alg, sig_alg_id))
    except WireError as exc:
        raise LineageError("malformed", f"malformed lineage: {exc}") from None
    if not nodes:
        raise LineageError("malformed", "lineage without nodes")
    return tuple(nodes)


def certs_of(lineage: tuple[LineageNode, ...]) -> tuple[bytes, ...]:
    return tuple(n.cert for n in lineage)


def sub_lineage(lineage: tuple[LineageNode, ...], cert: bytes) -> tuple[LineageNode, ...] | None:
    """The lineage up to and including ``cert``; None when ``cert`` is not in it."""
    for i, node in enumerate(lineage):
        if node.cert == cert:
            return lineage[:i + 1]
    return None


def consolidate(lineages: list[tuple[LineageNode, ...]]) -> tuple[LineageNode, ...] | None:
    """The longest lineage, provided every other one is a prefix of it (same certificates in the same order);
    raises LineageError("inconsistent") otherwise. None when there is no lineage at all."""
    if not lineages:
        return None
    longest = max(lineages, key=len)
    for other in lineages:
        if certs_of(longest)[:len(other)] != certs_of(other):
            raise LineageError("inconsistent", "signers carry lineages that do not extend one another")
    return longest
