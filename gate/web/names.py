"""What every raw code the console meets is called, in Chinese and English: reason codes, severities, filing
states, sources of a host. A page never prints a code on its own in zh-CN; an unknown code (a newer catalogue than
this table) is shown as "其他原因 (code)" so it is still findable, and a test keeps this table complete for
gate.decide.CATALOGUE.
"""

from __future__ import annotations

REASONS: dict[str, tuple[str, str]] = {
    "package_malformed": ("安装包无法读取", "package unreadable"),
    "split_mismatch": ("拆分包不一致", "split APKs do not match"),
    "package_unsigned": ("未签名", "unsigned"),
    "signature_invalid": ("签名无效", "signature invalid"),
    "signature_min_sdk_uncovered": ("低版本系统无法校验签名", "signature not verifiable on old Android"),
    "unfiled": ("未备案", "not filed"),
    "filing_cancelled": ("备案已注销", "filing cancelled"),
    "filing_blacklisted": ("列入违法违规名单", "filing blacklisted"),
    "key_mismatch": ("签名与备案不符", "key differs from the filing"),
    "key_rotated": ("密钥已轮换", "key rotated"),
    "upload_key_only": ("仅上传密钥签名", "signed by the upload key only"),
    "domain_not_filed": ("域名未备案", "domain not filed"),
    "name_mismatch": ("名称不符", "name differs"),
    "entity_mismatch": ("主办单位不符", "unit differs"),
    "exempted": ("按豁免放行", "exempted"),
    "review_approved": ("复核通过", "approved on review"),
    "review_rejected": ("复核未通过", "rejected on review"),
    "filing_number_not_shown": ("未展示备案号", "filing number not shown"),
    "content_approval_missing": ("缺少前置审批", "content approval missing"),
}

SEVERITIES = {"info": ("提示", "info"), "review": ("需复核", "review"), "block": ("拦截", "block")}
FILING_STATES = {"active": ("正常", "active"), "cancelled": ("已注销", "cancelled"),
                 "revoked": ("已撤销", "revoked")}
HOST_KINDS = {"contact": ("访问", "contacted"), "reference": ("仅引用", "reference only")}
CLIENT_ROLES = {"store": ("应用商店", "store"), "oem": ("终端厂商", "device maker"), "developer": ("开发者", "developer"),
                "admin": ("管理员", "admin")}


def name(table: dict, code: str | None, lang: str) -> str:
    """The name of ``code`` in ``lang`` ("zh"/"en"); an unknown code keeps the code beside a generic word."""
    if not code:
        return "-"
    found = table.get(code)
    if found is None:
        return f"其他 ({code})" if lang == "zh" else code
    return found[1] if lang == "en" else found[0]
