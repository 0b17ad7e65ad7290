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
    "code_hidden_by_packer": ("加固包代码无法检查", "code hidden by a packer"),
    "unpacked_mismatch": ("未加固包与加固包不一致", "unpacked build does not match"),
    "facts_outdated": ("保存的安装包信息过旧", "stored facts too old"),
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
CALLBACK_STATES = {"pending": ("待发送", "pending"), "delivered": ("已送达", "delivered"), "failed": ("失败", "failed")}
EVENTS = {"check.completed": ("检查完成", "check completed"), "check.reviewed": ("复核完成", "check reviewed"),
          "check.failed": ("检查失败", "check failed"), "listing.delist_required": ("需下架", "delist required")}
PLATFORMS = {"android": ("安卓", "Android"), "ios": ("iOS", "iOS"), "harmony": ("鸿蒙", "HarmonyOS"),
             "harmonyos": ("鸿蒙", "HarmonyOS")}
HOST_STATES = {"filed": ("已备案", "filed"), "unfiled": ("未备案", "not filed"),
               "third_party": ("第三方 SDK（由 SDK 提供方备案）", "third-party SDK (filed by its vendor)"),
               "reference": ("仅为引用，无需备案", "reference only, needs no filing"),
               "unfileable": ("非公网地址，无法备案", "not a public address, cannot be filed")}
IP_SCOPES = {"public": ("公网", "public"), "private": ("内网", "private"), "loopback": ("本机", "loopback"),
             "link_local": ("链路本地", "link-local"), "shared": ("运营商共享", "shared (CGN)"),
             "documentation": ("文档示例", "documentation"), "multicast": ("组播", "multicast"),
             "reserved": ("保留", "reserved")}
EVIDENCE_HOW = {"url": ("网址", "URL"), "url_in_text": ("文本中的网址", "URL in text"), "bare_host": ("域名", "host name"),
                "bare_ip": ("IP", "IP"), "deep_link": ("深度链接", "deep link"),
                "network_config": ("网络安全配置", "network security config"), "manifest": ("清单文件", "manifest"),
                "native": ("原生库", "native library"), "asset": ("资源文件", "asset"), "code": ("代码", "code")}
REFERENCE_KINDS = {"licence_file": ("许可证文件", "licence file"), "message_catalogue": ("文案目录", "message catalogue"),
                   "build_metadata": ("构建元数据", "build metadata"), "xml_identifier": ("XML 标识", "XML identifier"),
                   "schema_location": ("XML 模式地址", "schema location"), "oauth_scope": ("OAuth 范围", "OAuth scope"),
                   "link_in_text": ("文本中的链接", "link in text")}
AUDIT_ACTIONS = {
    "check": ("检查", "check"), "precheck": ("开发者自检", "developer pre-check"),
    "review.approved": ("复核通过", "review approved"), "review.rejected": ("复核拒绝", "review rejected"),
    "review.claimed": ("认领复核", "review claimed"), "review.released": ("释放认领", "claim released"),
    "exemption.add": ("登记豁免", "exemption added"), "exemption.revoke": ("撤销豁免", "exemption revoked"),
    "client.create": ("新建客户端", "client created"), "client.rotate": ("轮换密钥", "secrets rotated"),
    "client.disable": ("停用客户端", "client disabled"), "client.enable": ("启用客户端", "client enabled"),
    "client.rotate_key": ("轮换 API 密钥", "API key rotated"), "client.rotate_secret": ("轮换回调密钥", "webhook secret rotated"),
    "console.login": ("登录", "sign-in"), "console.logout": ("退出", "sign-out"),
    "console.user_create": ("新建用户", "user created"), "console.user_unlock": ("解锁用户", "user unlocked"),
    "console.user_password_reset": ("重置密码", "password reset"), "console.user_disable": ("停用用户", "user disabled"),
    "console.user_enable": ("启用用户", "user enabled"), "console.user_role": ("修改角色", "role changed"),
    "filings.import": ("导入备案", "filings imported"), "filings.import_rejected": ("备案导入被拒", "filings import rejected"),
    "filings.sync": ("同步备案", "filings pulled"), "filings.sync_rejected": ("备案同步被拒", "filings pull rejected"),
    "listing.reevaluated": ("在架应用重新判定", "listing re-decided"),
    "listing.delist_notice": ("下架通知", "delist notice"), "report.delivered": ("报送成功", "report delivered"),
    "report.rejected": ("报送被拒", "report rejected"), "report.delivery_failed": ("报送失败", "report delivery failed"),
    "callback.failed": ("回调失败", "callback failed"), "db.upgrade": ("升级数据库", "database upgraded"),
    "audit.purge": ("清理审计日志", "audit purged"), "application.created": ("备案申请创建", "application created"),
    "application.precheck": ("备案申请预检", "application pre-checked"),
    "application.submitted": ("备案申请提交", "application submitted"),
    "application.corrected": ("备案申请补正", "application corrected"),
    "application.approved": ("备案申请通过", "application approved"),
    "application.rejected": ("备案申请未通过", "application rejected"),
    "application.returned": ("备案申请退回", "application returned"),
    "bulk.approved": ("批量批准", "bulk approved"), "bulk.rejected": ("批量拒绝", "bulk rejected"),
}
REPORT_STATES = {"pending": ("待发送", "pending"), "delivered": ("已送达", "delivered"), "rejected": ("被拒收", "rejected")}
