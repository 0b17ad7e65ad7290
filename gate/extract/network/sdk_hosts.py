"""Well-known third-party SDK and platform domains, so their hosts are reported apart from the app's own.

An app embedding the WeChat OpenSDK or Umeng analytics contains those vendors' hosts; the vendor files them, the app
developer cannot. The decision engine therefore lists them separately and never counts them as unfiled.

Curated by hand. Each entry is a registrable domain (or a more specific host suffix), the SDK label reported as
``third_party``, and its basis: the operator of the domain and the SDK or service known to call it, taken from the
vendors' public integration documentation and from the third-party-SDK lists Chinese apps publish under the MIIT
rules. The table was written from that knowledge without network access at the time; an entry whose basis is later
found wrong should be corrected rather than deleted silently. The most specific suffix wins, so ``bugly.qq.com`` is
labelled Bugly while ``open.weixin.qq.com`` is labelled WeChat. Match on whole labels, never on substrings.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

# suffix -> (label, basis)
SDK_DOMAINS: dict[str, tuple[str, str]] = {
    # Tencent
    "qq.com": ("Tencent", "Tencent's main domain (QQ, TBS X5 WebView, Tencent ads GDT)"),
    "weixin.qq.com": ("WeChat SDK (Tencent)", "WeChat OpenSDK login/share/pay endpoints, open.weixin.qq.com"),
    "wx.qq.com": ("WeChat SDK (Tencent)", "WeChat web endpoints operated by Tencent"),
    "wechat.com": ("WeChat SDK (Tencent)", "WeChat international domain operated by Tencent"),
    "bugly.qq.com": ("Bugly (Tencent)", "Tencent Bugly crash reporting SDK upload hosts"),
    "gtimg.cn": ("Tencent", "Tencent static content CDN"),
    "gdt.qq.com": ("Tencent Ads (GDT)", "Tencent Youlianghui (优量汇) ads SDK"),
    "tencent.com": ("Tencent", "Tencent corporate and service domain"),
    "qcloud.com": ("Tencent Cloud", "Tencent Cloud service domain"),
    "myqcloud.com": ("Tencent Cloud", "Tencent Cloud COS/CDN endpoints"),
    "tencentcloudapi.com": ("Tencent Cloud", "Tencent Cloud API endpoints"),
    # Alibaba / Ant Group
    "alipay.com": ("Alipay SDK (Ant Group)", "Alipay payment SDK gateway (openapi.alipay.com, mclient.alipay.com)"),
    "alipayobjects.com": ("Alipay SDK (Ant Group)", "Alipay static resources"),
    "alipaydev.com": ("Alipay SDK (Ant Group)", "Alipay sandbox gateway"),
    "antgroup.com": ("Ant Group", "Ant Group corporate domain"),
    "aliyun.com": ("Alibaba Cloud", "Alibaba Cloud service domain"),
    "aliyuncs.com": ("Alibaba Cloud", "Alibaba Cloud OSS/SLS/HTTPDNS endpoints"),
    "alicdn.com": ("Alibaba", "Alibaba CDN"),
    "taobao.com": ("Alibaba", "Taobao, also Alibaba SDK endpoints"),
    "mmstat.com": ("Alibaba", "Alibaba UT analytics"),
    # Analytics and push
    "umeng.com": ("Umeng (Alibaba)", "Umeng U-App/U-Push SDK endpoints"),
    "umengcloud.com": ("Umeng (Alibaba)", "Umeng SDK upload hosts"),
    "umsns.com": ("Umeng (Alibaba)", "Umeng U-Share SDK"),
    "umindex.com": ("Umeng (Alibaba)", "Umeng SDK"),
    "jpush.cn": ("JPush (Jiguang)", "Jiguang push SDK"),
    "jiguang.cn": ("JPush (Jiguang)", "Jiguang developer services SDK"),
    "jpush.io": ("JPush (Jiguang)", "Jiguang push SDK, international"),
    "getui.com": ("Getui", "Getui (个推) push SDK"),
    "getui.net": ("Getui", "Getui push SDK"),
    "igexin.com": ("Getui", "Getui push SDK legacy domain"),
    "gepush.com": ("Getui", "Getui push SDK"),
    "mob.com": ("MobTech (ShareSDK)", "MobTech ShareSDK/MobPush"),
    "sensorsdata.cn": ("Sensors Analytics", "Sensors Data analytics SDK"),
    "talkingdata.com": ("TalkingData", "TalkingData analytics SDK"),
    "growingio.com": ("GrowingIO", "GrowingIO analytics SDK"),
    # Maps
    "baidu.com": ("Baidu", "Baidu service domain (map, location, push, stat SDKs)"),
    "map.baidu.com": ("Baidu Maps", "Baidu Maps SDK (api.map.baidu.com)"),
    "bdimg.com": ("Baidu", "Baidu static content"),
    "bdstatic.com": ("Baidu", "Baidu static content"),
    "amap.com": ("Amap (AutoNavi)", "Amap/Gaode maps and location SDK (restapi.amap.com)"),
    "autonavi.com": ("Amap (AutoNavi)", "Amap map tiles"),
    # Device makers' push services
    "hicloud.com": ("Huawei Mobile Services", "HMS Push/Account/Analytics endpoints"),
    "huawei.com": ("Huawei Mobile Services", "Huawei corporate and HMS domain"),
    "dbankcloud.cn": ("Huawei Mobile Services", "Huawei cloud endpoints for HMS"),
    "dbankcloud.com": ("Huawei Mobile Services", "Huawei cloud endpoints for HMS"),
    "xiaomi.com": ("Xiaomi Push", "Xiaomi MiPush SDK (api.xmpush.xiaomi.com)"),
    "xiaomi.net": ("Xiaomi Push", "Xiaomi service domain"),
    "mi.com": ("Xiaomi", "Xiaomi service domain"),
    "heytapmobi.com": ("OPPO Push (HeyTap)", "OPPO/HeyTap push SDK"),
    "heytapmobile.com": ("OPPO Push (HeyTap)", "OPPO/HeyTap push SDK"),
    "oppomobile.com": ("OPPO Push (HeyTap)", "OPPO service domain"),
    "coloros.com": ("OPPO Push (HeyTap)", "OPPO ColorOS service domain"),
    "vivo.com.cn": ("vivo Push", "vivo push SDK"),
    "vivo.com": ("vivo Push", "vivo service domain"),
    "meizu.com": ("Meizu Push", "Meizu push SDK"),
    "honor.com": ("Honor Push", "Honor push SDK"),
    # Ads
    "pangle.io": ("Pangle (ByteDance)", "Pangle ads SDK"),
    "pangolin-sdk-toutiao.com": ("Pangle (ByteDance)", "Pangle/CSJ (穿山甲) ads SDK"),
    "snssdk.com": ("ByteDance", "ByteDance SDK endpoints"),
    "toutiao.com": ("ByteDance", "ByteDance service domain"),
    "bytedance.com": ("ByteDance", "ByteDance corporate domain"),
    "byteimg.com": ("ByteDance", "ByteDance static content"),
    "kuaishou.com": ("Kuaishou", "Kuaishou ads/login SDK"),
    "gifshow.com": ("Kuaishou", "Kuaishou service domain"),
    "kwai.com": ("Kuaishou", "Kuaishou international"),
    "ksapisrv.com": ("Kuaishou", "Kuaishou API endpoints"),
    # Google / Firebase and other international SDKs
    "google.com": ("Google", "Google service domain"),
    "googleapis.com": ("Google/Firebase", "Google and Firebase API endpoints"),
    "gstatic.com": ("Google", "Google static content"),
    "firebaseio.com": ("Firebase (Google)", "Firebase Realtime Database"),
    "firebase.com": ("Firebase (Google)", "Firebase"),
    "app-measurement.com": ("Firebase (Google)", "Google Analytics for Firebase"),
    "crashlytics.com": ("Firebase (Google)", "Firebase Crashlytics"),
    "google-analytics.com": ("Google", "Google Analytics"),
    "doubleclick.net": ("Google Ads", "Google ad serving"),
    "googlesyndication.com": ("Google Ads", "Google AdMob/AdSense"),
    "sentry.io": ("Sentry", "Sentry error reporting SDK (default DSN host)"),
    "facebook.com": ("Facebook SDK", "Meta Facebook SDK graph endpoints"),
    "facebook.net": ("Facebook SDK", "Meta Facebook SDK"),
    "unity3d.com": ("Unity", "Unity engine services"),
    "applovin.com": ("AppLovin", "AppLovin ads SDK"),
    # Social
    "weibo.com": ("Weibo SDK (Sina)", "Sina Weibo share/login SDK"),
    "weibo.cn": ("Weibo SDK (Sina)", "Sina Weibo share/login SDK"),
    "sinaimg.cn": ("Weibo SDK (Sina)", "Sina image CDN"),
    "netease.im": ("NetEase Yunxin", "NetEase Yunxin IM SDK"),
    # International analytics, attribution, ads and crash SDKs: the network signatures of the Exodus Privacy tracker
    # database (https://reports.exodus-privacy.eu.org/en/trackers/), written down from the published list.
    "adjust.com": ("Adjust", "Exodus: Adjust network signature (app.adjust.com)"),
    "appsflyer.com": ("AppsFlyer", "Exodus: AppsFlyer network signature"),
    "branch.io": ("Branch", "Exodus: Branch network signature (api.branch.io)"),
    "onesignal.com": ("OneSignal", "Exodus: OneSignal network signature"),
    "amplitude.com": ("Amplitude", "Exodus: Amplitude network signature (api.amplitude.com)"),
    "mixpanel.com": ("Mixpanel", "Exodus: Mixpanel network signature"),
    "segment.io": ("Segment", "Exodus: Segment network signature (api.segment.io)"),
    "braze.com": ("Braze", "Exodus: Braze (formerly Appboy) network signature"),
    "appboy.com": ("Braze", "Exodus: Braze (formerly Appboy) network signature"),
    "flurry.com": ("Flurry", "Exodus: Flurry Analytics network signature"),
    "supersonicads.com": ("ironSource", "Exodus: ironSource network signature"),
    "vungle.com": ("Vungle", "Exodus: Vungle network signature"),
    "chartboost.com": ("Chartboost", "Exodus: Chartboost network signature"),
    "inmobi.com": ("InMobi", "Exodus: InMobi network signature"),
    "adcolony.com": ("AdColony", "Exodus: AdColony network signature"),
    "tapjoy.com": ("Tapjoy", "Exodus: Tapjoy network signature"),
    "tapjoyads.com": ("Tapjoy", "Exodus: Tapjoy network signature"),
    "bugsnag.com": ("Bugsnag", "Exodus: Bugsnag network signature (notify.bugsnag.com)"),
    "instabug.com": ("Instabug", "Exodus: Instabug network signature"),
    "nr-data.net": ("New Relic", "Exodus: New Relic network signature"),
    "appmetrica.yandex.net": ("AppMetrica (Yandex)", "Exodus: Yandex AppMetrica network signature"),
}


# The last two labels of every entry: a host whose last two labels are not among them matches nothing (one lookup
# instead of a walk for the vast majority of hosts, which are first-party).
_TAILS = frozenset(".".join(suffix.split(".")[-2:]) for suffix in SDK_DOMAINS)


@lru_cache(maxsize=65536)
def sdk_for_host(host: str) -> str | None:
    """The SDK label for ``host`` (lowercase), by the most specific matching suffix; None for first-party hosts."""
    if host[host.rfind(".", 0, host.rfind(".")) + 1:] not in _TAILS:
        return None
    labels = host.split(".")
    for i in range(len(labels) - 1):
        entry = SDK_DOMAINS.get(".".join(labels[i:]))
        if entry is not None:
            return entry[0]
    return None


def sdk_for_hosts(hosts: Iterable[str]) -> dict[str, str]:
    """``sdk_for_host`` of many hosts at once (a package's facts: thousands of hosts, nearly all first-party): the
    hosts the table attributes, with their label. The first-party test runs inline, without a call per host."""
    tails, out = _TAILS, {}
    for host in hosts:
        if host[host.rfind(".", 0, host.rfind(".")) + 1:] in tails:
            label = sdk_for_host(host)
            if label is not None:
                out[host] = label
    return out


# Third-party SDKs by the Java packages of their code: a host that only classes under one of these packages load
# is that SDK's (gate.extract.network.dex_code), even when SDK_DOMAINS does not know the host.
#
# Source: the code signatures of the Exodus Privacy tracker database (https://reports.exodus-privacy.eu.org/en/
# trackers/, published by Exodus Privacy under CC-BY-SA; facts, not code), written down from the published list
# for the SDKs Chinese apps carry, and the package names in the vendors' own integration guides (marked "vendor").
# No PyPI or npm package ships the list (exodus-core fetches it at run time), so it is not read from one. Labels
# match SDK_DOMAINS where both name the same SDK. Longest prefix wins.
# package prefix -> (label, source)
SDK_PACKAGES: dict[str, tuple[str, str]] = {
    "com.umeng.": ("Umeng (Alibaba)", "Exodus: Umeng Analytics / Umeng Push / Umeng Share (com.umeng.)"),
    "com.tencent.bugly.": ("Bugly (Tencent)", "Exodus: Bugly (com.tencent.bugly)"),
    "com.tencent.mm.opensdk.": ("WeChat SDK (Tencent)", "vendor: WeChat OpenSDK package"),
    "com.tencent.mm.sdk.": ("WeChat SDK (Tencent)", "vendor: legacy WeChat SDK package"),
    "com.tencent.smtt.": ("Tencent", "vendor: Tencent TBS X5 WebView (com.tencent.smtt)"),
    "com.tencent.stat.": ("Tencent", "Exodus: Tencent MTA (com.tencent.stat)"),
    "com.tencent.android.tpush.": ("Tencent", "Exodus: Tencent Push / XG (com.tencent.android.tpush)"),
    "com.tencent.tauth.": ("Tencent", "vendor: QQ Connect SDK (com.tencent.tauth)"),
    "com.qq.e.": ("Tencent Ads (GDT)", "Exodus: Tencent Ads / GDT (com.qq.e.)"),
    "com.alipay.": ("Alipay SDK (Ant Group)", "vendor: Alipay payment SDK (com.alipay.sdk)"),
    "com.alibaba.sdk.android.": ("Alibaba Cloud", "vendor: Alibaba Cloud EMAS SDKs (com.alibaba.sdk.android)"),
    "com.ut.mini.": ("Alibaba", "Exodus: Alibaba UT analytics (com.ut.mini)"),
    "cn.jpush.": ("JPush (Jiguang)", "Exodus: JPush (cn.jpush.)"),
    "cn.jiguang.": ("JPush (Jiguang)", "Exodus: Jiguang (cn.jiguang.)"),
    "com.igexin.": ("Getui", "Exodus: Getui (com.igexin)"),
    "com.getui.": ("Getui", "Exodus: Getui (com.getui)"),
    "com.mob.": ("MobTech (ShareSDK)", "Exodus: MobTech / ShareSDK (com.mob.)"),
    "cn.sharesdk.": ("MobTech (ShareSDK)", "Exodus: ShareSDK (cn.sharesdk)"),
    "com.baidu.mobstat.": ("Baidu", "Exodus: Baidu Mobile Stat (com.baidu.mobstat)"),
    "com.baidu.location.": ("Baidu Maps", "Exodus: Baidu Location (com.baidu.location)"),
    "com.baidu.mapapi.": ("Baidu Maps", "Exodus: Baidu Map (com.baidu.mapapi)"),
    "com.baidu.android.pushservice.": ("Baidu", "Exodus: Baidu Push (com.baidu.android.pushservice)"),
    "com.amap.api.": ("Amap (AutoNavi)", "Exodus: Amap / AutoNavi (com.amap.api)"),
    "com.loc.": ("Amap (AutoNavi)", "Exodus: Amap location (com.loc.)"),
    "com.huawei.hms.": ("Huawei Mobile Services", "Exodus: Huawei Mobile Services (com.huawei.hms)"),
    "com.huawei.agconnect.": ("Huawei Mobile Services", "vendor: AppGallery Connect (com.huawei.agconnect)"),
    "com.xiaomi.mipush.": ("Xiaomi Push", "Exodus: Xiaomi MiPush (com.xiaomi.mipush)"),
    "com.xiaomi.push.": ("Xiaomi Push", "Exodus: Xiaomi MiPush (com.xiaomi.push)"),
    "com.heytap.msp.push.": ("OPPO Push (HeyTap)", "vendor: OPPO/HeyTap push (com.heytap.msp.push)"),
    "com.coloros.mcssdk.": ("OPPO Push (HeyTap)", "vendor: OPPO push legacy (com.coloros.mcssdk)"),
    "com.vivo.push.": ("vivo Push", "vendor: vivo push (com.vivo.push)"),
    "com.meizu.cloud.pushsdk.": ("Meizu Push", "vendor: Meizu push (com.meizu.cloud.pushsdk)"),
    "com.hihonor.push.": ("Honor Push", "vendor: Honor push (com.hihonor.push)"),
    "com.bytedance.sdk.openadsdk.": ("Pangle (ByteDance)", "Exodus: Pangle / CSJ (com.bytedance.sdk.openadsdk)"),
    "com.bytedance.applog.": ("ByteDance", "Exodus: ByteDance AppLog / DataRangers (com.bytedance.applog)"),
    "com.kwad.sdk.": ("Kuaishou", "Exodus: Kuaishou ads (com.kwad.sdk)"),
    "com.sensorsdata.analytics.": ("Sensors Analytics", "Exodus: Sensors Analytics (com.sensorsdata.analytics)"),
    "com.tendcloud.": ("TalkingData", "Exodus: TalkingData (com.tendcloud.)"),
    "com.growingio.": ("GrowingIO", "Exodus: GrowingIO (com.growingio)"),
    "com.google.firebase.": ("Firebase (Google)", "Exodus: Google Firebase Analytics / Crashlytics (com.google.firebase)"),
    "com.google.android.gms.ads.": ("Google Ads", "Exodus: Google AdMob (com.google.android.gms.ads)"),
    "com.google.android.gms.analytics.": ("Google", "Exodus: Google Analytics (com.google.android.gms.analytics)"),
    "com.crashlytics.": ("Firebase (Google)", "Exodus: Google Crashlytics (com.crashlytics)"),
    "io.sentry.": ("Sentry", "Exodus: Sentry (io.sentry)"),
    "com.facebook.": ("Facebook SDK", "Exodus: Facebook Login / Analytics / Share (com.facebook.)"),
    "com.unity3d.ads.": ("Unity", "Exodus: Unity3d Ads (com.unity3d.ads)"),
    "com.applovin.": ("AppLovin", "Exodus: AppLovin (com.applovin)"),
    "com.sina.weibo.sdk.": ("Weibo SDK (Sina)", "Exodus: Weibo (com.sina.weibo.sdk)"),
    "com.netease.nimlib.": ("NetEase Yunxin", "vendor: NetEase Yunxin IM (com.netease.nimlib)"),
    "com.adjust.sdk.": ("Adjust", "Exodus: Adjust (com.adjust.sdk)"),
    "com.appsflyer.": ("AppsFlyer", "Exodus: AppsFlyer (com.appsflyer)"),
    "io.branch.": ("Branch", "Exodus: Branch (io.branch.)"),
    "com.onesignal.": ("OneSignal", "Exodus: OneSignal (com.onesignal)"),
    "com.amplitude.": ("Amplitude", "Exodus: Amplitude (com.amplitude)"),
    "com.mixpanel.": ("Mixpanel", "Exodus: Mixpanel (com.mixpanel)"),
    "com.segment.analytics.": ("Segment", "Exodus: Segment (com.segment.analytics)"),
    "com.braze.": ("Braze", "Exodus: Braze (com.braze)"),
    "com.appboy.": ("Braze", "Exodus: Braze, formerly Appboy (com.appboy)"),
    "com.flurry.": ("Flurry", "Exodus: Flurry (com.flurry)"),
    "com.ironsource.": ("ironSource", "Exodus: ironSource (com.ironsource)"),
    "com.vungle.": ("Vungle", "Exodus: Vungle (com.vungle)"),
    "com.chartboost.": ("Chartboost", "Exodus: Chartboost (com.chartboost)"),
    "com.inmobi.": ("InMobi", "Exodus: InMobi (com.inmobi)"),
    "com.adcolony.": ("AdColony", "Exodus: AdColony (com.adcolony)"),
    "com.tapjoy.": ("Tapjoy", "Exodus: Tapjoy (com.tapjoy)"),
    "com.bugsnag.": ("Bugsnag", "Exodus: Bugsnag (com.bugsnag)"),
    "com.instabug.": ("Instabug", "Exodus: Instabug (com.instabug)"),
    "com.newrelic.": ("New Relic", "Exodus: New Relic (com.newrelic)"),
    "com.yandex.metrica.": ("AppMetrica (Yandex)", "Exodus: Yandex AppMetrica (com.yandex.metrica)"),
}
# The same prefixes as DEX class descriptors ("Lcom/umeng/"), for a C-level bytes.startswith over class names.
SDK_DESCRIPTOR_PREFIXES: tuple[bytes, ...] = tuple(
    ("L" + prefix.replace(".", "/")).encode("ascii") for prefix in SDK_PACKAGES)


def sdk_for_class(descriptor: str) -> str | None:
    """The SDK label for a class descriptor (``Lcom/umeng/analytics/A;``) by the longest package prefix."""
    name = descriptor[1:].replace("/", ".") if descriptor.startswith("L") else descriptor
    best = None
    for prefix, (label, _source) in SDK_PACKAGES.items():
        if name.startswith(prefix) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, label)
    return best[1] if best else None
