"""The decision engine: package facts + the filings naming its identifier -> allow / review / block, with reasons.

Pure: no I/O, no settings, no clock. The same facts, filings and policy always give the same decision, which is what
makes a stored check reproducible (gate.db keeps the facts JSON and the filing version used).

Steps (the code below refers to them by number):
  1. The package is readable the way a device reads it, and every APK of
     a split set belongs with its base; an unpacked build given beside a
     packed package pairs with it (gate.pairing).                           block: package_malformed, split_mismatch,
                                                                                   unpacked_mismatch
  2. Its signature verifies (apksigner's rules) and names its signers.    block: package_unsigned, signature_invalid,
                                                                            signature_min_sdk_uncovered
  3. A filing lists the package's identifier on this platform.            block: unfiled
  4. That filing is in force.                                             block: filing_blacklisted, filing_cancelled
  5. Every verified signer is covered by a filed key — itself, or an
     ancestor in its verified v3 rotation lineage.                        block: key_mismatch; info: key_rotated
     An App Bundle's signer is its upload key, not the app signing key.    policy: upload_key_only (review)
  6. The filed domains/IPs cover the hosts and IPs the package contains.  policy: domain_not_filed (review)
     A packer (加固) hides the code, and no paired unpacked build shows it:  policy: code_hidden_by_packer (review)
  7. The app's label resembles the filed service name (服务名称).           policy: name_mismatch (review)
  8. The uploading developer's entity is the filing's unit (主办单位).       policy: entity_mismatch (review)
  9. The app shows its own filing number (service or main licence).       policy: filing_number_not_shown (info)
 10. The store's category needs no content approval (前置审批) the filing
     lacks (gate.content_approvals).                                        policy: content_approval_missing (review)
Steps 1-5 are not configurable and stop at their first block: without a verified identity tied to a filing in
force, nothing after them means anything. Fail closed: ``allow`` is only reached after step 5 found a covering key.
A mini-program declaration (format ``miniprogram``, gate.miniprogram) is the one input without a package: steps 2
and 5 do not apply (the AppID is issued and held by the platform that asks; nothing is signed), the rest do.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import field
from typing import Any

from gate.content_approvals import missing_approvals
from gate.coverage import check_coverage
from gate.extract.facts import NetworkFacts, PackageFacts, SignatureFacts, SignerCertificate
from gate.filings.records import Filing, PlatformIdentity

# The policy and its settings table live in gate.policy (gate.config reads it without the engine); re-exported.
from gate.policy import Policy as Policy
from gate.policy import PolicyError as PolicyError
from gate.records import FACTORY, record

VERDICTS = ("allow", "review", "block")  # in order of severity
DECLARATION_FORMAT = "miniprogram"  # facts of a mini-program declaration (gate.miniprogram), not of a package
SEVERITY_VERDICT = {"info": "allow", "review": "review", "block": "block"}
MAX_EVIDENCE_ITEMS = 50  # hosts listed in one reason; the count says how many there were

# code -> (default severity, zh message, en message). Codes are a contract: add, never rename.
CATALOGUE: dict[str, tuple[str, str, str]] = {
    "package_malformed": ("block", "安装包无法按设备的方式读取：{problems}。请使用标准工具重新构建。",
                          "The package cannot be read the way a device reads it: {problems}. Rebuild it with the "
                          "standard tools."),
    "split_mismatch": ("block", "拆分安装包集合中的 {splits} 与基础APK不一致或未通过签名校验：{details}。同一集合中的每个APK必须"
                       "使用相同的包名、版本号和签名证书。",
                       "In the split APK set, {splits} does not belong with the base APK or does not verify: "
                       "{details}. Every APK of a set must carry the same package name, versionCode and signers."),
    "package_unsigned": ("block", "安装包未签名。请使用备案中登记的密钥签名。",
                         "The package is not signed. Sign it with the key listed in its filing."),
    "signature_invalid": ("block", "安装包签名校验未通过（{errors}）。请重新签名并用 {verifier} 确认。",
                          "The package's signature does not verify ({errors}). Re-sign it and confirm with "
                          "`{verifier}`."),
    "signature_min_sdk_uncovered": ("block", "安装包声明 minSdkVersion {min_sdk}，但 Android {release} 以下版本（API "
                                    "{unverified_sdks}）无法校验其签名（{errors}），设备将拒绝安装；自 Android {release}"
                                    "（API {valid_from_sdk}）起其 {schemes} 签名有效，签名者为 {signers}。请同时使用 v1（JAR）"
                                    "签名（apksigner sign --v1-signing-enabled true），或将 minSdkVersion 提高到 "
                                    "{valid_from_sdk}。",
                                    "The package declares minSdkVersion {min_sdk}, but Android versions below "
                                    "{release} (API {unverified_sdks}) cannot verify its signature ({errors}) and "
                                    "will not install it; from Android {release} (API {valid_from_sdk}) its {schemes} "
                                    "signature is valid, signed by {signers}. Sign it with v1 (JAR) signing as well "
                                    "(apksigner sign --v1-signing-enabled true), or raise minSdkVersion to "
                                    "{valid_from_sdk}."),
    "unfiled": ("block", "未找到{platform}标识 {identifier} 的APP备案，完成备案前不得上架或预置。",
                "No filing (APP备案) lists {platform} identifier {identifier}: the app may not be listed or "
                "preinstalled until it is filed."),
    "filing_cancelled": ("block", "{identifier} 的备案 {service_licence} 状态为{status_zh}，不得分发。",
                         "The filing {service_licence} of {identifier} is {status}: the app may not be "
                         "distributed."),
    "filing_blacklisted": ("block", "备案 {service_licence} 已被列入违法违规名单，不得分发。",
                           "The filing {service_licence} is on the regulator's blacklist (违法违规名单): the app "
                           "may not be distributed."),
    "key_mismatch": ("block", "安装包的签名证书为 {signers}，备案 {service_licence} 登记的是 {filed}。请用备案的密钥签名，"
                     "或先变更备案。",
                     "The package is signed by {signers}, the filing {service_licence} lists {filed}. Sign it with "
                     "the filed key, or update the filing first."),
    "key_rotated": ("info", "签名证书 {signer} 仅通过 v3 密钥轮换谱系与备案 {service_licence} 的 {ancestor} 匹配，请变更"
                    "备案登记新证书。",
                    "The signer {signer} matches the filing {service_licence} only through its v3 rotation "
                    "lineage ({ancestor}). Update the filing to list the new certificate."),
    "upload_key_only": ("review", "App Bundle 仅由上传密钥 {signer} 签名，与备案 {service_licence} 匹配的是上传密钥，而非"
                        "设备上安装的 APK 的应用签名密钥。请确认应用签名密钥也已备案。",
                        "The App Bundle is signed by its upload key {signer} only: it matches the filing "
                        "{service_licence}, but the APKs devices install carry the app signing key. Make sure that "
                        "key is filed too."),
    "domain_not_filed": ("review", "安装包使用了备案 {service_licence} 未登记的域名/IP：{hosts}。请补充备案或移除。",
                         "The package uses domains/IPs not listed in the filing {service_licence}: {hosts}. Add "
                         "them to the filing or remove them."),
    "code_hidden_by_packer": ("review", "安装包经{packers}加固，应用代码被加密隐藏：无法检查其使用的网络资源（域名/IP）是否已在"
                              "备案 {service_licence} 中登记。请在提交加固包的同时提交其未加固的安装包（相同包名、版本号和签名证书），"
                              "由未加固包确定网络资源。",
                              "The package is protected by {packers}: its code is encrypted, so the network resources "
                              "(domains/IPs) it uses could not be checked against the filing {service_licence}. Upload "
                              "the unpacked build beside it (same package name, versionCode and signing certificates): "
                              "its network resources settle it."),
    "unpacked_mismatch": ("block", "随附的未加固安装包与加固包不是同一个应用版本：{differences}。两者必须具有相同的包名、版本号"
                          "（versionCode）和签名证书。",
                          "The unpacked build given beside the packed package is not the same app version: "
                          "{differences}. Both must carry the same package name, versionCode and signer "
                          "certificates."),
    "name_mismatch": ("review", "应用名称“{label}”与备案服务名称“{service_name}”不符。",
                      "The app name \"{label}\" differs from the filed service name \"{service_name}\"."),
    "entity_mismatch": ("review", "上传开发者“{developer_entity}”不是备案主办单位“{unit_name}”。",
                        "The uploading developer \"{developer_entity}\" is not the filing's unit "
                        "\"{unit_name}\"."),
    # Outcomes a person recorded (gate.exemptions, the console's review workflow); never produced by decide().
    "exempted": ("info", "预置应用 {package}（证书 SHA-256 {cert_sha256}）按豁免 #{exemption_id} 放行：{category_zh}。"
                 "批准人 {approved_by}，有效期至 {expires_at}。",
                 "Preinstalled {package} (certificate SHA-256 {cert_sha256}) passes under exemption "
                 "#{exemption_id}: {category_en}. Approved by {approved_by}, valid until {expires_at}."),
    "review_approved": ("info", "人工复核通过：{reviewer} 于 {at} 批准了此安装包（SHA-256 {package_sha256}）。意见：{comment}",
                        "Approved on review by {reviewer} at {at} for this package (SHA-256 {package_sha256}). "
                        "Comment: {comment}"),
    "review_rejected": ("block", "人工复核未通过：{reviewer} 于 {at} 拒绝了此安装包。意见：{comment}",
                        "Rejected on review by {reviewer} at {at}. Comment: {comment}"),
    "filing_number_not_shown": ("info", "安装包中未找到其备案号 {service_licence}（或主体备案号 {main_licence}）。请在应用内显著位置"
                                "展示备案号并链接至备案系统网站（若从服务器加载，可忽略本提示）。",
                                "The package does not contain its filing number {service_licence} (nor the main "
                                "number {main_licence}). Show it prominently in the app, linked to the filing "
                                "system's site (ignore this if the app loads it from its server)."),
    # Said of a decision taken again from stored facts (gate.db.checks.note_outdated_facts), never by decide().
    "facts_outdated": ("review", "此检查保存的安装包信息由旧版本网关读取，缺少 {missing}：规则 {rules} 无法据此判断，且安装包已不在"
                       "网关中、无法重新读取。请重新上传安装包。",
                       "The package facts stored with this check were read by an older gate and lack {missing}: the "
                       "rules {rules} could not be applied to them, and the package is no longer at hand to be read "
                       "again. Upload the package again."),
    "content_approval_missing": ("review", "应用分类“{category}”需要前置审批：{required_zh}，备案 {service_licence} 未登记。"
                                 "请在备案中补充前置审批。",
                                 "The category \"{category}\" needs a content approval (前置审批): {required_en}; the "
                                 "filing {service_licence} lists none. Add it to the filing."),
}
# The facts fields (gate.extract.facts.missing_fields names) each rule reads beyond the package's identity: stored
# facts written by an older gate that lack one cannot make that rule speak (gate.db.checks.note_outdated_facts).
RULE_INPUTS: dict[str, tuple[str, ...]] = {
    "problems": ("package_malformed", "split_mismatch"),
    "signature.verified_from_sdk": ("signature_min_sdk_uncovered",),
    "signature.lineage": ("key_rotated",),
    "platform": ("unfiled",),
    "pairing": ("unpacked_mismatch", "code_hidden_by_packer"),
    "protection": ("code_hidden_by_packer",),
    "network": ("domain_not_filed",),
    "label": ("name_mismatch",),
    "labels": ("name_mismatch",),
    "filing_numbers": ("filing_number_not_shown",),
}
# How a developer checks the signature of each format before uploading again (the signature_invalid message).
VERIFIERS = {"aab": "jarsigner -verify", "ipa": "codesign --verify --deep --strict",
             "hap": "hap-sign-tool verify-app", "app": "hap-sign-tool verify-app",
             "rpk": "npm run release (hap-toolkit) with the filed key",
             "rpks": "npm run release (hap-toolkit) with the filed key"}
_STATUS_ZH = {"cancelled": "已注销", "revoked": "已撤销", "active": "正常"}


@record
class Reason:
    """One reason of a decision: a catalogue code, its severity, the message in Chinese and English, evidence."""

    code: str
    severity: str
    message: dict[str, str]
    evidence: dict[str, Any] = field(default_factory=dict)

    def __init__(self, code: str, severity: str, message: dict[str, str], evidence: dict[str, Any] = FACTORY) -> None:
        object.__setattr__(self, "__dict__", {
            "code": code, "severity": severity, "message": message,
            "evidence": {} if evidence is FACTORY else evidence
        })

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "severity": self.severity, "message": dict(self.message),
                "evidence": self.evidence}


@record
class Decision:
    """The verdict on one package (the shape of ``gate check --json``, docs/filings.md "Decisions")."""

    path: str
    verdict: str
    reasons: tuple[Reason, ...]
    filing: Filing | None
    package: dict[str, Any]

    def __init__(self, path: str, verdict: str, reasons: tuple[Reason, ...], filing: Filing | None,
                 package: dict[str, Any]) -> None:
        object.__setattr__(self, "__dict__", {
            "path": path, "verdict": verdict, "reasons": reasons, "filing": filing, "package": package
        })

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "verdict": self.verdict, "reasons": [r.as_dict() for r in self.reasons],
                "filing": self.filing.summary() if self.filing is not None else None, "package": self.package}


# domain_not_filed said of a mini-program declaration: its domains are declared, not found in a package.
DECLARED_DOMAINS_MESSAGES = ("小程序声明的服务器域名未在备案 {service_licence} 中登记：{hosts}。请补充备案或从声明中移除。",
                             "The mini program declares server domains not listed in the filing {service_licence}: "
                             "{hosts}. Add them to the filing or remove them from the declaration.")

# A path that names no readable file (missing, a directory, empty) is blocked as package_malformed too, but the advice
# is to check the path: rebuilding would not help.
FILE_PROBLEMS = frozenset({"file_not_found", "file_is_directory", "file_empty", "file_unreadable"})
FILE_UNREADABLE_MESSAGES = ("安装包文件无法读取：{problems}。请确认路径指向一个完整的安装包文件。",
                            "The package file cannot be read: {problems}. Check that the path names a complete "
                            "package file.")


def reason(code: str, severity: str | None = None, *, messages: tuple[str, str] | None = None,
           **evidence: Any) -> Reason:
    """A catalogue reason with its bilingual message (or ``messages``, zh and en) filled from the evidence."""
    default, zh, en = CATALOGUE[code]
    if messages is not None:
        zh, en = messages
    fill = {k: (", ".join(map(str, v)) if isinstance(v, (list, tuple)) else v) for k, v in evidence.items()}
    fill.setdefault("status_zh", _STATUS_ZH.get(str(evidence.get("status")), evidence.get("status")))
    return Reason(code, severity or default, {"zh": zh.format_map(fill), "en": en.format_map(fill)}, evidence)


def fingerprint_text(hex_digest: str | None) -> str:
    """``abcd…`` -> ``AB:CD:…``: how keytool, apksigner and the filing form print certificate digests."""
    if not hex_digest:
        return "-"
    return ":".join(hex_digest[i:i + 2] for i in range(0, len(hex_digest), 2)).upper()


# --- step 5 helpers -------------------------------------------------------------------------------------------

def _norm_key(value: str | None) -> str | None:
    return value.lower().lstrip("0") if value else None


def key_matches(cert: SignerCertificate, filed: PlatformIdentity) -> str | None:
    """Which filed value this certificate matches ("signature_md5", …, "public_key"), or None.

    Every value both sides have must agree: one matching digest beside a contradicting one (a device maker's item
    claiming the filed MD5 with another certificate's SHA-256, or a filing mixing two certificates) is no match.
    """
    pairs = (("signature_md5", cert.cert_md5, filed.signature_md5),
             ("signature_sha1", cert.cert_sha1, filed.signature_sha1),
             ("signature_sha256", cert.cert_sha256, filed.signature_sha256),
             ("public_key", _norm_key(cert.public_key), _norm_key(filed.public_key)))
    compared = [(name, mine.lower() == theirs) for name, mine, theirs in pairs if mine and theirs]
    if not compared or not all(agrees for _, agrees in compared):
        return None
    return compared[0][0]


def lineage_ancestors(signer: SignerCertificate,
                      lineage: Sequence[SignerCertificate]) -> tuple[SignerCertificate, ...]:
    """The certificates this signer rotated from (oldest first), per its verified v3 proof-of-rotation.

    The verified lineage ends with the current signer; the ancestors are the entries before it. A lineage that does
    not name the signer proves nothing about it, so it lends the signer no ancestors (fail closed).
    """
    shas = [c.cert_sha256 for c in lineage]
    if signer.cert_sha256 in shas:
        return tuple(lineage[: shas.index(signer.cert_sha256)])
    return ()


Cover = tuple[str, SignerCertificate, str]  # ("direct"|"rotated", matching certificate, matched field)


def _cover(signer: SignerCertificate, ancestors: Sequence[SignerCertificate],
           filed: Sequence[PlatformIdentity]) -> Cover | None:
    """("direct"|"rotated", matching certificate, matched field) — the signer itself is preferred."""
    for how, certs in (("direct", (signer,)), ("rotated", tuple(reversed(ancestors)))):
        for cert in certs:
            for ident in filed:
                matched = key_matches(cert, ident)
                if matched:
                    return how, cert, matched
    return None


def _filed_text(filed: Sequence[PlatformIdentity]) -> list[str]:
    out = []
    for f in filed:
        if f.signature_md5:
            out.append(f"MD5 {fingerprint_text(f.signature_md5)}")
        if f.signature_sha1:
            out.append(f"SHA-1 {fingerprint_text(f.signature_sha1)}")
        if f.signature_sha256:
            out.append(f"SHA-256 {fingerprint_text(f.signature_sha256)}")
        if f.public_key:
            out.append(f"public key {f.public_key[:16]}…")
    return out or ["no key"]


# --- steps 6-8 helpers ----------------------------------------------------------------------------------------

def _coverage(network: NetworkFacts, filed: Iterable[str]) -> tuple[list[str], list[str], list[dict[str, Any]]]:
    """Uncovered first-party hosts and IPs, by gate.coverage (public-suffix aware), as plain strings, and for each
    the evidence a reviewer needs (kind, SDK, scope, where and how it was found)."""
    cov = check_coverage(network, list(filed))
    details = [{"host": h.host, "kind": h.kind, "third_party": h.third_party,
                "evidence": [e.as_dict() for e in h.evidence]} for h in cov.uncovered_hosts]
    details += [{"ip": i.ip, "kind": i.kind, "scope": i.scope, "evidence": [e.as_dict() for e in i.evidence]}
                for i in cov.uncovered_ips]
    return sorted({h.host for h in cov.uncovered_hosts}), sorted({i.ip for i in cov.uncovered_ips}), details


_NAME_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)


def name_key(text: str) -> str:
    """A name as compared: NFKC (full-width and half-width brackets and spaces differ between registrations of the
    same company or app name), case-folded, without spaces and punctuation."""
    return _NAME_NOISE.sub("", unicodedata.normalize("NFKC", text).casefold())


# Step 7 compares every label of a package (five for a small app with its translations) with the same filed name on
# every upload of that app, and difflib's ratio cost ~0.1 ms of a small check's CPU. A pure function of its two
# strings, so a remembered answer is the answer: pairs of short names (MEMO_NAME_CHARS) are kept, the last
# MEMO_ENTRIES of them.
MEMO_ENTRIES = 4096
MEMO_NAME_CHARS = 256


def name_similarity(label: str, service_name: str) -> float:
    """1.0 when one name contains the other (``微信`` vs ``微信 - 极速版``), else difflib's ratio on the
    normalised characters (NFKC, case-folded, without spaces and punctuation)."""
    if len(label) + len(service_name) <= MEMO_NAME_CHARS:
        return _remembered_similarity(label, service_name)
    return _similarity(label, service_name)


@functools.lru_cache(maxsize=MEMO_ENTRIES)
def _remembered_similarity(label: str, service_name: str) -> float:
    return _similarity(label, service_name)


def _similarity(label: str, service_name: str) -> float:
    a, b = name_key(label), name_key(service_name)
    if not a or not b:
        return 0.0
    if a in b or b in a:
        return 1.0
    import difflib  # here: only a filing found for the package needs it, and `gate check` starts without it

    return difflib.SequenceMatcher(None, a, b).ratio()


# --- the engine -----------------------------------------------------------------------------------------------

def _package_summary(facts: PackageFacts) -> dict[str, Any]:
    summary: dict[str, Any] = {"format": facts.format, "package": facts.package, "version_code": facts.version_code,
               "signers": [s.cert_sha256 for s in facts.signature.signers]}
    if facts.pairing is not None:  # the unpacked build checked beside it (gate.pairing)
        summary["sha256"] = facts.sha256
        summary["unpacked"] = {"sha256": facts.pairing.unpacked_sha256, "paired": facts.pairing.paired}
    return summary


# "There is no signature at all": the only rules gate.extract.signing can break on a package that carries no JAR
# signature files and no APK Signing Block. Any other issue code means a signature is there but broken; so does an
# issue of one member of a set (an RPK set whose member is unsigned is a set signed wrongly).
_UNSIGNED_CODES = frozenset({"v1_no_manifest", "v1_no_signatures", "rpk_unsigned"})  # rpk: gate.extract.quickapp


def _looks_unsigned(sig: SignatureFacts) -> bool:
    if sig.signers or any(sig.schemes.values()) or not sig.errors:
        return False
    return all(issue.part is None and issue.code in _UNSIGNED_CODES for issue in sig.errors)


def _issue_messages(sig: SignatureFacts) -> list[str]:
    """The signature issues as reasons show them (their messages, as the facts JSON says them)."""
    return [issue.message for issue in sig.errors]


def _min_sdk_uncovered(sig: SignatureFacts) -> Reason:
    later = sig.verified_from_sdk
    assert later is not None  # the caller checked
    low, high = later.unverified_sdks
    return reason("signature_min_sdk_uncovered", min_sdk=low, unverified_sdks=f"{low}–{high}",
                  valid_from_sdk=later.min_sdk, release=later.release, errors=_issue_messages(sig),
                  schemes=[name for name, ok in later.schemes.items() if ok],
                  signers=[f"{s.subject} (SHA-256 {fingerprint_text(s.cert_sha256)})" for s in later.signers],
                  signer_sha256=[s.cert_sha256 for s in later.signers])


def verdict_of(reasons: Sequence[Reason]) -> str:
    """The verdict these reasons give: the worst of their severities (allow when there is none)."""
    worst = max((VERDICTS.index(SEVERITY_VERDICT[r.severity]) for r in reasons), default=0)
    return VERDICTS[worst]


def _newest(filings: Sequence[Filing]) -> Filing:
    return max(filings, key=lambda f: (f.approved_at or "", f.service_licence))


def decide(facts: PackageFacts, filings: Sequence[Filing], *, policy: Policy, platform: str = "android",
           developer_entity: str | None = None, category: str | None = None) -> Decision:
    """Decide on one package. ``filings``: every filing listing ``facts.package`` on ``platform``, any status.
    ``category``: the store's category for the app (upload metadata), for step 10."""
    if not isinstance(policy, Policy):
        raise PolicyError("no decision policy given: the gate never decides without one", code="policy_missing")
    reasons: list[Reason] = []

    def done(filing: Filing | None) -> Decision:
        return Decision(facts.path, verdict_of(reasons), tuple(reasons), filing, _package_summary(facts))

    platform = facts.platform or platform  # the package's own platform wins over the caller's default
    # 1. Readable; a split set's APKs belong together.
    mismatched = [p for p in facts.problems if p.code == "split_mismatch"]
    if mismatched:
        reasons.append(reason("split_mismatch", splits=[p.message.split(":", 1)[0] for p in mismatched],
                              details=[p.message for p in mismatched]))
    if facts.problems and len(mismatched) == len(facts.problems):
        return done(None)
    if facts.pairing is not None and not facts.pairing.paired and not facts.problems:
        # The unpacked build is someone else's or another version: its network facts must not stand for this one.
        reasons.append(reason("unpacked_mismatch", differences=[_difference_text(d) for d in facts.pairing.differences],
                              found=[dict(d) for d in facts.pairing.differences],
                              unpacked_sha256=facts.pairing.unpacked_sha256))
        return done(None)
    if facts.problems or not facts.package:
        problems = [p.as_dict() for p in facts.problems if p.code != "split_mismatch"] or [{"code": "identifier_missing",
                                                                "message": "no package identifier"}]
        codes = [p["code"] for p in problems]
        reasons.append(reason("package_malformed", problems=codes, details=problems,
                              messages=FILE_UNREADABLE_MESSAGES if FILE_PROBLEMS.issuperset(codes) else None))
        return done(None)

    # 2. Signature verifies and names signers. A mini-program declaration (gate.miniprogram) has no package and no
    # signature: its identity is the AppID the platform itself issued and holds, so steps 2 and 5 do not apply.
    declaration = facts.format == DECLARATION_FORMAT
    sig = facts.signature
    if not declaration:
        if not sig.verified:
            if sig.verified_from_sdk is not None:
                # Newer platform versions would verify it, the oldest in its range cannot: blocked all the same
                # (apksigner's verdict), but said as it is rather than "not signed".
                reasons.append(_min_sdk_uncovered(sig))
            elif _looks_unsigned(sig):
                reasons.append(reason("package_unsigned", errors=_issue_messages(sig)))
            else:
                reasons.append(reason("signature_invalid", errors=_issue_messages(sig) or ["verification failed"],
                                      verifier=VERIFIERS.get(facts.format or "", "apksigner verify")))
            return done(None)
        if not sig.signers:  # verified with no signer is contradictory: fail closed
            reasons.append(reason("signature_invalid", errors=["verified but no signer reported"],
                                  verifier=VERIFIERS.get(facts.format or "", "apksigner verify")))
            return done(None)

    # 3. Filed.
    candidates = [f for f in filings if f.identities_for(platform, facts.package)]
    if not candidates:
        reasons.append(reason("unfiled", platform=platform, identifier=facts.package))
        return done(None)

    # 4. In force. The blacklist concerns the app, so any blacklisted filing of the identifier blocks.
    blacklisted = [f for f in candidates if f.blacklisted]
    if blacklisted:
        f = _newest(blacklisted)
        reasons.append(reason("filing_blacklisted", service_licence=f.service_licence, identifier=facts.package))
        return done(f)
    in_force = [f for f in candidates if f.active]
    if not in_force:
        f = _newest(candidates)
        reasons.append(reason("filing_cancelled", service_licence=f.service_licence, identifier=facts.package,
                              status=f.status))
        return done(f)

    # 5. Keys: every verified signer covered by the same filing (itself or a lineage ancestor).
    filing: Filing | None = None
    # The candidate covering most signers, to explain a mismatch.
    best: tuple[int, Filing, list[Cover | None]] | None = None
    covers: list[tuple[SignerCertificate, Cover | None]] = []
    if declaration:
        filing = _newest(in_force)
    for candidate in in_force if not declaration else ():
        filed = candidate.identities_for(platform, facts.package)
        found = [_cover(s, lineage_ancestors(s, sig.lineage), filed) for s in sig.signers]
        if all(found):
            filing, covers = candidate, list(zip(sig.signers, found))
            break
        if best is None or sum(map(bool, found)) > best[0]:
            best = (sum(map(bool, found)), candidate, found)
    if filing is None:
        assert best is not None
        _, nearest, found = best
        uncovered = [s for s, c in zip(sig.signers, found) if not c]
        reasons.append(reason(
            "key_mismatch", service_licence=nearest.service_licence,
            signers=[f"MD5 {fingerprint_text(s.cert_md5)} (SHA-256 {fingerprint_text(s.cert_sha256)})"
                     for s in uncovered],
            filed=_filed_text(nearest.identities_for(platform, facts.package)),
            uncovered_signers=[s.cert_sha256 for s in uncovered]))
        return done(nearest)
    for signer, cover in covers:
        assert cover is not None  # every signer of the chosen filing is covered
        how, cert, matched = cover
        if how == "rotated":
            reasons.append(reason("key_rotated", policy.key_rotated, service_licence=filing.service_licence,
                                  signer=fingerprint_text(signer.cert_sha256),
                                  ancestor=fingerprint_text(cert.cert_sha256), matched=matched))

    if facts.format == "aab":
        reasons.append(reason("upload_key_only", policy.upload_key_only, service_licence=filing.service_licence,
                              signer=", ".join(fingerprint_text(s.cert_sha256) for s in sig.signers)))

    # 6. Network resources covered by filed domains/IPs. Code a packer hides cannot be read: say so, whatever the
    # domain policy, unless a paired unpacked build supplied the network facts (then they are read as usual).
    protection, pairing = facts.protection, facts.pairing
    # A paired "unpacked" build that is itself packed shows no more than the package: it settles nothing.
    settled = pairing is not None and pairing.paired and not (
        pairing.unpacked_protection is not None and pairing.unpacked_protection.code_hidden)
    if protection is not None and protection.code_hidden and not settled:
        reasons.append(reason("code_hidden_by_packer", policy.packed, service_licence=filing.service_licence,
                              packers=[p.name for p in protection.packers],
                              packer_keys=[p.key for p in protection.packers],
                              found=[e.as_dict() for p in protection.packers for e in p.evidence][:MAX_EVIDENCE_ITEMS],
                              unpacked_is_packed=bool(pairing and pairing.unpacked_protection
                                                      and pairing.unpacked_protection.code_hidden)))
    if policy.unfiled_domains != "off":
        hosts, ips, details = _coverage(facts.network, filing.domains)
        if hosts or ips:
            shown = (hosts + ips)[:MAX_EVIDENCE_ITEMS]
            reasons.append(reason("domain_not_filed", policy.unfiled_domains,
                                  messages=DECLARED_DOMAINS_MESSAGES if declaration else None,
                                  service_licence=filing.service_licence, hosts=shown,
                                  uncovered_hosts=hosts[:MAX_EVIDENCE_ITEMS], uncovered_ips=ips[:MAX_EVIDENCE_ITEMS],
                                  count=len(hosts) + len(ips), found=details[:MAX_EVIDENCE_ITEMS]))

    # 7. Label vs filed service name: the best of the package's labels counts.
    if policy.name_mismatch != "off":
        labels = [x for x in (facts.label, *facts.labels.values()) if x]
        closest = max((name_similarity(x, filing.service_name) for x in labels), default=0.0)
        if closest < policy.name_similarity:
            reasons.append(reason("name_mismatch", policy.name_mismatch, label=facts.label or "",
                                  service_name=filing.service_name, similarity=round(closest, 3)))

    # 8. Uploader's entity vs the filing's unit (only when the caller knows who uploads).
    if policy.entity_mismatch != "off" and developer_entity:
        if name_key(developer_entity) != name_key(filing.unit_name):
            reasons.append(reason("entity_mismatch", policy.entity_mismatch, developer_entity=developer_entity,
                                  unit_name=filing.unit_name))

    # 9. The app's own filing number in its strings. None: not looked for (preinstall list items, old facts).
    if policy.number_not_shown != "off" and facts.filing_numbers is not None:
        own_numbers = [n for n in facts.filing_numbers if number_is_filings(n.number, filing)]
        if not own_numbers:
            others = [n.number for n in facts.filing_numbers][:MAX_EVIDENCE_ITEMS]
            reasons.append(reason("filing_number_not_shown", policy.number_not_shown,
                                  service_licence=filing.service_licence, main_licence=filing.main_licence,
                                  found=others))

    # 10. Content approvals the store's category needs.
    if policy.content_approval != "off" and category:
        missing = missing_approvals(category, filing.content_approvals)
        if missing:
            reasons.append(reason("content_approval_missing", policy.content_approval, category=category,
                                  service_licence=filing.service_licence,
                                  required=[r.key for r in missing],
                                  required_zh="、".join(r.approval_zh for r in missing),
                                  required_en="; ".join(r.approval_en for r in missing),
                                  filed=list(filing.content_approvals)))
    return done(filing)


def _difference_text(d: dict[str, Any]) -> str:
    """One unpacked_mismatch difference in words: ``package cn.a (packed) ≠ cn.b (unpacked)``."""
    def shown(v: object) -> str:
        return ", ".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)
    return f"{d.get('field')} {shown(d.get('packed'))} (packed) ≠ {shown(d.get('unpacked'))} (unpacked)"


def number_is_filings(number: str, filing: Filing) -> bool:
    """A number shown in the app names this filing: its service licence, or its main licence (主体备案号) alone.

    A service number without its type letter (``-1`` for ``-1A``) still names the service; another service's number
    of the same unit does not.
    """
    if number in (filing.service_licence, filing.main_licence):
        return True
    return bool(re.fullmatch(r"[0-9]+", number.rsplit("-", 1)[-1])) and \
        filing.service_licence.startswith(number) and filing.service_licence[len(number):].isalpha()
