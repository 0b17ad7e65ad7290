"""Packers (加固): which protector wrapped an app, from what it leaves in the package, with the evidence.

A packer encrypts the app's real DEX into an asset or a native library and ships a stub application that decrypts
it at run time. The gate then reads the stub, finds none of the app's endpoints, and would test nothing against the
filing's domain list: the facts must say so (``protection``), and the decision says what it could not see.

What counts (rule 1-3; each signature in ``SIGNATURES`` says where its markers come from):
  1. The manifest's application class is the packer's stub, by its exact fully qualified name
     (``com.stub.StubApp`` is 360加固's; ``cn.example.StubApplication`` is nobody's).
  2. A loader library or payload file by its exact name, in its place: a library under ``lib/<abi>/`` or
     ``assets/``, a payload at its exact path (``assets/ijiami.dat``). ``libjiagu_helper.so`` is not ``libjiagu.so``.
  3. A stub class in a DEX file, by its exact type descriptor in the DEX string table
     (``Lcom/tencent/StubShell/TxAppEntry;``); an SDK class of the same vendor (``Lcom/tencent/mm/…``) is not one.
A signature counts when it has ``required`` distinct markers (1 for most; DexProtector's payload names are generic,
so it needs two). Nothing is matched as a substring or a byte pattern anywhere in the file: that is how look-alikes
(and APKiD's DexGuard rule on Android's own framework-res.apk, a 4-byte regular expression hit in compressed data)
come to count. The names come from public descriptions of each packer; the sources are named per signature and in
docs/network.md "Packed apps". APKiD (GPL-3.0) is the oracle the tests compare with, never imported here.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Collection, Iterable

from gate.extract.facts import PackerEvidence, PackerFact, ProtectionFacts
from gate.extract.network.dex_code import find_strings
from gate.records import record

_ABI_LIBRARY = re.compile(r"lib/[^/]+/([^/]+\.so)")
_DEX_ENTRY = re.compile(r"classes\d*\.dex")


@record
class PackerSignature:
    """What one packer leaves in a package (rules 1-3 above) and where that is publicly described."""

    key: str
    name: str
    source: str
    apkid: tuple[str, ...]  # the names APKiD gives the same packer (for the tests' agreement check)
    application_classes: frozenset[str] = frozenset()
    dex_classes: frozenset[str] = frozenset()  # type descriptors
    libraries: frozenset[str] = frozenset()  # file names under lib/<abi>/ or assets/
    library_patterns: tuple[re.Pattern[str], ...] = ()  # versioned file names (Legu's libshella-<version>.so)
    payloads: frozenset[str] = frozenset()  # exact entry paths
    required: int = 1
    hides_code: bool = True  # the app's DEX is encrypted: its strings (endpoints) cannot be read

    def __init__(self, key: str, name: str, source: str, apkid: tuple[str, ...],
                 application_classes: frozenset[str] = frozenset(), dex_classes: frozenset[str] = frozenset(),
                 libraries: frozenset[str] = frozenset(), library_patterns: tuple[re.Pattern[str], ...] = (),
                 payloads: frozenset[str] = frozenset(), required: int = 1, hides_code: bool = True) -> None:
        object.__setattr__(self, "__dict__", {
            "key": key, "name": name, "source": source, "apkid": apkid, "application_classes": application_classes,
            "dex_classes": dex_classes, "libraries": libraries, "library_patterns": library_patterns,
            "payloads": payloads, "required": required, "hides_code": hides_code
        })


def _names(*names: str) -> frozenset[str]:
    return frozenset(names)


SIGNATURES: tuple[PackerSignature, ...] = (
    PackerSignature(
        "jiagu", "360加固 (Qihoo 360 Jiagu)",
        "jiagu.360.cn user guide (stub com.stub.StubApp, assets/libjiagu*.so); APKiD rules jiagu, qihoo360",
        ("Jiagu", "Jiagu (ApkToolPlus)", "Jiagu K", "Qihoo 360"),
        application_classes=_names("com.stub.StubApp", "com.qihoo.util.StubApplication"),
        dex_classes=_names("Lcom/stub/StubApp;"),
        libraries=_names("libjiagu.so", "libjiagu_art.so", "libjiagu_x86.so", "libjiagu_a64.so",
                         "libjiagu_x64.so", "libprotectClass.so")),
    PackerSignature(
        "legu", "腾讯乐固 (Tencent Legu)",
        "Quarkslab, 'A glimpse into Tencent's Legu packer' (2019): TxAppEntry stub, libshella/libshellx, "
        "assets 0OO00l111l1l, o0oooOO0ooOo.dat, tosversion; APKiD rules tencent, tencent_legu",
        ("Tencent's Legu", "Tencent's Legu (VMP)", "Mobile Tencent Protect", "Tencent Security Enterprise Edition",
         "Tencent"),
        application_classes=_names("com.tencent.StubShell.TxAppEntry"),
        dex_classes=_names("Lcom/tencent/StubShell/TxAppEntry;"),
        libraries=_names("libshell.so", "libmobisecy.so"),
        library_patterns=(re.compile(r"libshell[ax]-[0-9.]+\.so"),),
        payloads=_names("assets/0OO00l111l1l", "assets/0OO00oo01l1l", "assets/o0oooOO0ooOo.dat",
                        "assets/tosversion")),
    PackerSignature(
        "bangcle", "梆梆加固 (Bangcle / SecNeo)",
        "Fortinet, 'Deep analysis of Android Rootnik malware' (2017, SecShell); bangcle.com/secneo.com product "
        "pages; APKiD rules bangcle, bangcle_secshell, secneo",
        ("Bangcle", "Bangcle (SecShell)", "Bangcle/SecNeo (UPX)", "SecNeo", "SecNeo.A", "SecNeo.B", "SecNeo.C"),
        application_classes=_names("com.secneo.apkwrapper.ApplicationWrapper",
                                   "com.SecShell.SecShell.ApplicationWrapper"),
        dex_classes=_names("Lcom/secneo/apkwrapper/ApplicationWrapper;", "Lcom/SecShell/SecShell/ApplicationWrapper;"),
        libraries=_names("libsecexe.so", "libsecmain.so", "libSecShell.so", "libSecShell-x86.so", "libDexHelper.so",
                         "libDexHelper-x86.so"),
        payloads=_names("assets/bangcleplugin/container.dex", "assets/secData0.jar", "assets/classes0.jar",
                        "assets/bangcleclasses.jar", "assets/bangcle_classes.jar")),
    PackerSignature(
        "ijiami", "爱加密 (Ijiami)",
        "ijiami.cn product page; APKiD rule ijiami (assets/ijiami.dat, ijiami.ajm, assets/ijm_lib/)",
        ("Ijiami", "Ijiami (UPX)"),
        application_classes=_names("com.shell.SuperApplication", "s.h.e.l.l.S"),
        dex_classes=_names("Lcom/shell/SuperApplication;", "Ls/h/e/l/l/S;"),
        libraries=_names("libexec.so", "libexecmain.so", "libijmDataEncryption.so"),
        payloads=_names("assets/ijiami.dat", "assets/ijiami.ajm", "assets/IJMDal.Data")),
    PackerSignature(
        "baidu", "百度加固 (Baidu)",
        "Baidu app protection (apkprotect.baidu.com): libbaiduprotect.so, baiduprotect1.jar; APKiD rule baidu",
        ("Baidu",),
        application_classes=_names("com.baidu.protect.StubApplication"),
        dex_classes=_names("Lcom/baidu/protect/StubApplication;"),
        libraries=_names("libbaiduprotect.so", "libbaiduprotect_x86.so"),
        payloads=_names("assets/baiduprotect1.jar", "assets/baiduprotect.jar")),
    PackerSignature(
        "alibaba", "阿里聚安全 (Alibaba)",
        "Alibaba Jaq (jaq.alibaba.com) hardening: stub com.ali.mobisecenhance.StubApplication, libmobisec.so; "
        "APKiD rule alibaba",
        ("Alibaba",),
        application_classes=_names("com.ali.mobisecenhance.StubApplication"),
        dex_classes=_names("Lcom/ali/mobisecenhance/StubApplication;"),
        libraries=_names("libmobisec.so")),
    PackerSignature(
        "yidun", "网易易盾 (NetEase Yidun)",
        "dun.163.com/product/app-protect; wrapper classes com.netease.nis.wrapper.*, libnesec.so; APKiD rule yidun",
        ("yidun",),
        application_classes=_names("com.netease.nis.wrapper.MyApplication"),
        dex_classes=_names("Lcom/netease/nis/wrapper/Entry;", "Lcom/netease/nis/wrapper/MyJni;"),
        libraries=_names("libnesec.so"),
        payloads=_names("assets/nedata.db", "assets/nedig.properties")),
    PackerSignature(
        "naga", "娜迦 (Naga)",
        "nagain.com product page; loader libddog.so (and libchaosvmp.so in its VMP edition); APKiD rule naga",
        ("Naga",),
        libraries=_names("libddog.so", "libchaosvmp.so")),
    PackerSignature(
        "dingxiang", "顶象 (DingXiang)",
        "dingxiang-inc.com/business/android; assets __param.data, __version.txt, the dsnstub payload; APKiD rule "
        "dingxiang_apk",
        ("DingXiang",),
        libraries=_names("libx3g.so"),
        payloads=_names("assets/__param.data", "assets/dsnstub000.vd")),
    PackerSignature(
        "appsealing", "AppSealing",
        "appsealing.com; stub com.inka.appsealing.AppSealingApplication, libcovault*.so, assets/appsealing.dex, "
        "sealed1.dex; APKiD rule appsealing",
        ("AppSealing", "Appsealing"),
        application_classes=_names("com.inka.appsealing.AppSealingApplication"),
        dex_classes=_names("Lcom/inka/appsealing/AppSealingApplication;"),
        libraries=_names("libcovault.so", "libcovault-appsec.so"),
        payloads=_names("assets/appsealing.dex", "assets/sealed1.dex")),
    PackerSignature(
        "dexprotector", "DexProtector",
        "dexprotector.com / Licel documentation; assets dp.mp3 beside the encrypted classes.dex.dat and "
        "dp.<abi>.so.dat; APKiD rules dexprotector, dexprotector_a/b",
        ("DexProtector", "DexProtector (Alice)", "DexProtector for AIDE"),
        payloads=_names("assets/dp.mp3", "assets/classes.dex.dat", "assets/dp.arm.so.dat", "assets/dp.arm-v7.so.dat",
                        "assets/dp.arm-v8.so.dat", "assets/dp.x86.so.dat", "assets/dp.x86_64.so.dat"),
        required=2),
)


class ProtectionReader:
    """Collects packer markers over one APK: entry names, the application class, the DEX string tables."""

    def __init__(self, signatures: tuple[PackerSignature, ...] = SIGNATURES) -> None:
        self._signatures = signatures
        self._found: dict[str, dict[tuple[str, str, str], None]] = {}  # key -> evidence (ordered, unique)
        self._descriptors = {d.encode(): s for s in signatures for d in s.dex_classes}

    def _add(self, signature: PackerSignature, source: str, how: str, marker: str) -> None:
        self._found.setdefault(signature.key, {})[(source, how, marker)] = None

    def feed_entry_names(self, names: Iterable[str]) -> None:
        """Rule 2: loader libraries and payloads by exact name and place."""
        for name in names:
            library = _library_name(name)
            for signature in self._signatures:
                if name in signature.payloads:
                    self._add(signature, name, "payload", name.rsplit("/", 1)[-1])
                elif library is not None and (library in signature.libraries
                                              or any(p.fullmatch(library) for p in signature.library_patterns)):
                    self._add(signature, name, "native_library", library)

    def feed_application_class(self, class_name: str | None, source: str = "AndroidManifest.xml") -> None:
        """Rule 1: the manifest's application class is a packer's stub."""
        if not class_name:
            return
        for signature in self._signatures:
            if class_name in signature.application_classes:
                self._add(signature, source, "application_class", class_name)

    def feed_dex(self, name: str, data: bytes) -> None:
        """Rule 3: a stub class's descriptor in the DEX string table (sorted, so looked up by bisection)."""
        if not _DEX_ENTRY.fullmatch(name) or not self._descriptors:
            return
        # Sorted: the look-up answers in set order, which changes with the hash seed; facts must not.
        for descriptor in sorted(dex_strings_present(data, self._descriptors)):
            self._add(self._descriptors[descriptor], name, "dex_class", descriptor.decode())

    def facts(self) -> ProtectionFacts | None:
        packers = []
        for signature in self._signatures:
            evidence = self._found.get(signature.key)
            if not evidence or len({marker for _, _, marker in evidence}) < signature.required:
                continue
            packers.append(PackerFact(signature.key, signature.name,
                                      tuple(PackerEvidence(s, h, m) for s, h, m in evidence), signature.hides_code))
        if not packers:
            return None
        return ProtectionFacts(tuple(packers), code_hidden=any(p.hides_code for p in packers))


def merge_protection(found: list[tuple[str, ProtectionFacts | None]]) -> ProtectionFacts | None:
    """One ``protection`` for the APKs of a split set: ``(prefix, facts)`` per APK, evidence sources prefixed (a
    packer's loader libraries ship in the ABI split, its stub in the base)."""
    by_key: dict[str, PackerFact] = {}
    for prefix, facts in found:
        for packer in facts.packers if facts is not None else ():
            evidence = tuple(PackerEvidence(prefix + e.source, e.how, e.marker) for e in packer.evidence)
            mine = by_key.get(packer.key)
            by_key[packer.key] = PackerFact(packer.key, packer.name, (mine.evidence if mine else ()) + evidence,
                                            packer.hides_code)
    if not by_key:
        return None
    packers = tuple(by_key[s.key] for s in SIGNATURES if s.key in by_key)
    return ProtectionFacts(packers, code_hidden=any(p.hides_code for p in packers))


def _library_name(name: str) -> str | None:
    """The file name of a native library in its place: ``lib/<abi>/x.so`` or directly under ``assets/``."""
    match = _ABI_LIBRARY.fullmatch(name)
    if match:
        return match.group(1)
    if name.startswith("assets/") and name.endswith(".so") and name.count("/") == 1:
        return name[7:]
    return None


def native_libraries(names: Iterable[str]) -> tuple[str, ...]:
    """The native libraries the package ships (``lib/<abi>/*.so``), in entry order: what the facts show."""
    return tuple(n for n in names if _ABI_LIBRARY.fullmatch(n))


def dex_strings_present(data: bytes, wanted: Collection[bytes]) -> list[bytes]:
    """Which of ``wanted`` (MUTF-8 bytes, ASCII) are strings of this DEX file (``dex_code.find_strings``); a
    malformed table gives no answer rather than an error."""
    try:
        return list(find_strings(data, wanted))
    except (struct.error, ValueError):
        return []
