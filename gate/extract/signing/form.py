"""The filing form (备案) view of an APK's signers: 包名 / 公钥 / 签名MD5 / SHA-1 in the notations MIIT's filing
form and the cloud consoles ask for.

签名MD5 is the MD5 of the DER signing certificate; consoles show it upper-case and colon-separated
(``AB:CD:…``) while the filing form accepts plain lowercase hex, so both are given. 公钥 is the RSA modulus in
hex (for other key types, the DER SubjectPublicKeyInfo in hex, which is what the form's field then holds).
"""

from __future__ import annotations

from collections.abc import Iterable

from gate.extract.facts import SignerCertificate


def colon_hex(digest: str) -> str:
    """``ab12…`` -> ``AB:12:…``."""
    upper = digest.upper()
    return ":".join(upper[i:i + 2] for i in range(0, len(upper), 2))


def filing_form_lines(package: str | None, signers: Iterable[SignerCertificate]) -> list[str]:
    """Readable lines to copy into the filing form, one block per signer."""
    signers = list(signers)
    lines = [f"包名 (package): {package if package else '-'}"]
    if not signers:
        lines.append("签名 (signature): 无已验证的签名 / no verified signer")
        return lines
    for number, signer in enumerate(signers, start=1):
        prefix = f"签名者 #{number} (signer #{number})" if len(signers) > 1 else "签名者 (signer)"
        lines += [
            f"{prefix}: {signer.subject}",
            f"公钥 (public key, {signer.key_algorithm} {signer.key_size}): {signer.public_key}",
            f"签名MD5 (MD5): {colon_hex(signer.cert_md5)}",
            f"签名MD5 (md5, plain): {signer.cert_md5}",
            f"SHA-1: {colon_hex(signer.cert_sha1)}",
            f"SHA-1 (plain): {signer.cert_sha1}",
            f"SHA-256: {colon_hex(signer.cert_sha256)}",
        ]
    return lines
