"""Manifest facts — package, version, SDK levels, label(s), permissions — read as PackageManager and aapt read them.

The package name is the un-namespaced ``package`` attribute of the root ``<manifest>`` (what PackageParser asks for
with ``getAttributeValue(null, "package")``); android attributes are found by resource id, as the platform does —
except that one whose namespace is written as the prefix "android" is refused on the elements Android's installer
reads by namespace URI (``_READ_BY_URI``).
Anything that would let a tool and the device see different facts is refused with a ``ManifestError``; see
``gate.extract.axml.REFUSALS`` for the structural codes and ``MANIFEST_REFUSALS`` below for the manifest ones.

Labels follow ``aapt dump badging``: for every locale in resources.arsc the label is resolved with aapt's
configuration (``labels``, keyed like ``application-label-<locale>``); ``label`` is the one for no locale.
"""

from __future__ import annotations

import re
from dataclasses import field

from gate.errors import ManifestError
from gate.extract.arsc import ResourceTable
from gate.extract.axml import (
    ANDROID_ATTRIBUTE_IDS,
    MAX_XML_SIZE,
    TYPE_DYNAMIC_REFERENCE,
    TYPE_NULL,
    TYPE_REFERENCE,
    TYPE_STRING,
    Attribute,
    Element,
    TypedValue,
    XmlDocument,
    parse_xml,
)
from gate.records import FACTORY, record

MANIFEST_REFUSALS: dict[str, str] = {
    "manifest_root_invalid": "the root element is not an un-namespaced <manifest>",
    "manifest_package_missing": "<manifest> has no un-namespaced package attribute",
    "manifest_package_ambiguous": "<manifest> carries a namespaced or look-alike package attribute besides (or "
                                  "instead of) the plain one; tools and the device could pick different ones",
    "manifest_package_invalid": "the package name is not a string or breaks PackageParser's naming rule (the "
                                "platform's own \"android\" excepted, as PackageParser excepts it)",
    "manifest_duplicate_element": "more than one <uses-sdk> or <application> under <manifest> (the device keeps "
                                  "one, tools may show another)",
    "manifest_value_invalid": "versionCode/SDK values that are not integers (or strings, for SDK codenames)",
    "manifest_resource_map": "(besides the binary XML rule) an android attribute whose namespace is written as the "
                             "prefix \"android\" on an element Android's installer reads by namespace URI and name "
                             "(<manifest>, <application>, <uses-sdk>, ...): the installer would not see it while the "
                             "full parse reads it by resource id",
}

# The largest AndroidManifest.xml we read (the platform refuses very large manifests too); callers inflating the
# entry should apply it before inflating. Larger manifests raise LimitExceeded("manifest_too_large").
MAX_MANIFEST_SIZE = MAX_XML_SIZE
# Build.VERSION_CODES.CUR_DEVELOPMENT: what the platform records for an SDK level given as a codename ("Q").
CUR_DEVELOPMENT = 10000
# FileUtils.isValidExtFilename caps a package (it names a directory) at 255 bytes.
MAX_PACKAGE_NAME_LENGTH = 255
# The locale aapt's badging configuration carries outside <application> (en-US): versionName resolves with it.
BADGING_DEFAULT_LOCALE = "en-US"

# ApkLiteParseUtils.parsePackageSplitNames validates every package name but "android" (the platform itself).
PLATFORM_PACKAGE = "android"
# PackageParser.validateName(requireSeparator=true): segments of [A-Za-z][A-Za-z0-9_]*, at least two of them.
_PACKAGE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)+")
_PERMISSION_TAGS = ("uses-permission", "uses-permission-sdk-23", "uses-permission-sdk-m")
# Elements whose android attributes Android's installer reads by namespace URI and name before the full parse reads
# them by resource id (ApkLiteParseUtils.parseApkLite: getAttributeValue(ANDROID_RES_NAMESPACE, "versionCode") and
# the like, matched by ResXMLParser::indexOfAttribute on the URI string). There an attribute whose namespace is
# written as the prefix "android" is invisible to the first and read by the second: one device, two values
# (versionCode 0 for the install session, 3 for the package). Elsewhere only the full parse and aapt read it.
_READ_BY_URI = frozenset({"manifest", "application", "uses-sdk", "uses-split", "overlay", "package-verifier",
                          "profileable", "receiver", "uses-sdk-library", "sdk-library", "static-library", "library",
                          "processes", "process"})
_READ_BY_URI_UNDER = {"meta-data": "receiver"}  # a device-admin receiver's <meta-data android:name>

_LABEL = ANDROID_ATTRIBUTE_IDS["label"]
_NAME = ANDROID_ATTRIBUTE_IDS["name"]
_VERSION_CODE = ANDROID_ATTRIBUTE_IDS["versionCode"]
_VERSION_CODE_MAJOR = ANDROID_ATTRIBUTE_IDS["versionCodeMajor"]
_VERSION_NAME = ANDROID_ATTRIBUTE_IDS["versionName"]
_MIN_SDK = ANDROID_ATTRIBUTE_IDS["minSdkVersion"]
_TARGET_SDK = ANDROID_ATTRIBUTE_IDS["targetSdkVersion"]
_TARGET_SANDBOX = ANDROID_ATTRIBUTE_IDS["targetSandboxVersion"]


@record
class ManifestFacts:
    """What PackageManager reads from AndroidManifest.xml (plus aapt's per-locale labels).

    ``version_code`` is PackageInfo.getLongVersionCode(): versionCodeMajor << 32 | versionCode (as unsigned).
    An SDK level given as a codename is recorded as CUR_DEVELOPMENT (10000) with the codename beside it.
    ``min_sdk_value`` is android:minSdkVersion exactly as written (unresolved), which is what apksigner reads to
    choose the platform versions it verifies for; ``target_sandbox_version`` is android:targetSandboxVersion.
    """

    package: str
    version_code: int
    version_code_major: int
    version_name: str | None
    min_sdk: int
    target_sdk: int
    label: str | None
    labels: dict[str, str] = field(default_factory=dict)
    permissions: tuple[str, ...] = ()
    min_sdk_codename: str | None = None
    target_sdk_codename: str | None = None
    min_sdk_value: TypedValue | None = None
    target_sandbox_version: int = 1
    application_class: str | None = None
    document: XmlDocument | None = field(default=None, repr=False, compare=False)

    def __init__(self, package: str, version_code: int, version_code_major: int, version_name: str | None,
                 min_sdk: int, target_sdk: int, label: str | None, labels: dict[str, str] = FACTORY,
                 permissions: tuple[str, ...] = (), min_sdk_codename: str | None = None,
                 target_sdk_codename: str | None = None, min_sdk_value: TypedValue | None = None,
                 target_sandbox_version: int = 1, application_class: str | None = None,
                 document: XmlDocument | None = None) -> None:
        object.__setattr__(self, "__dict__", {
            "package": package, "version_code": version_code, "version_code_major": version_code_major,
            "version_name": version_name, "min_sdk": min_sdk, "target_sdk": target_sdk, "label": label,
            "labels": {} if labels is FACTORY else labels, "permissions": permissions,
            "min_sdk_codename": min_sdk_codename, "target_sdk_codename": target_sdk_codename,
            "min_sdk_value": min_sdk_value, "target_sandbox_version": target_sandbox_version,
            "application_class": application_class, "document": document
        })


def read_manifest(manifest: bytes, resources: bytes | None) -> ManifestFacts:
    """Facts from the binary manifest, resolving references through resources.arsc when there is one.

    Raises ManifestError (or ResourcesError when a table that a reference needs is malformed, LimitExceeded).
    """
    document = parse_xml(manifest)
    root = document.root
    if root.name != "manifest" or root.namespace is not None:
        raise ManifestError(f"root element is <{root.name}> in {root.namespace!r}, not <manifest>",
                            code="manifest_root_invalid")
    package = _package_name(root)
    _check_prefixed_attributes(root, None)
    table = _Resources(resources)
    uses_sdk = _single_child(root, "uses-sdk")
    application = _single_child(root, "application")

    min_sdk, min_codename = _sdk_level(uses_sdk, _MIN_SDK, table) if uses_sdk else (None, None)
    target_sdk, target_codename = _sdk_level(uses_sdk, _TARGET_SDK, table) if uses_sdk else (None, None)
    if min_sdk is None:
        min_sdk, min_codename = 1, None  # PackageParser's default when minSdkVersion is absent
    if target_sdk is None:
        target_sdk, target_codename = min_sdk, min_codename  # targetSdkVersion defaults to minSdkVersion

    code = _integer(root, _VERSION_CODE, table, "versionCode")
    major = _integer(root, _VERSION_CODE_MAJOR, table, "versionCodeMajor")
    # PackageParser's default sandbox version is 1; Android 8+ wants v2+ signatures for 2 and above.
    sandbox = _integer(root, _TARGET_SANDBOX, table, "targetSandboxVersion") or 1
    min_sdk_attribute = uses_sdk.by_id(_MIN_SDK) if uses_sdk else None
    label, labels = _labels(application, table)
    return ManifestFacts(
        package=package,
        version_code=(major & 0xFFFFFFFF) << 32 | (code & 0xFFFFFFFF),
        version_code_major=major,
        version_name=_string(root.by_id(_VERSION_NAME), table, BADGING_DEFAULT_LOCALE),
        min_sdk=min_sdk,
        target_sdk=target_sdk,
        label=label,
        labels=labels,
        permissions=_permissions(root),
        min_sdk_codename=min_codename,
        target_sdk_codename=target_codename,
        min_sdk_value=min_sdk_attribute.value if min_sdk_attribute else None,
        target_sandbox_version=sandbox,
        application_class=_application_class(application, package),
        document=document,
    )


def _package_name(root: Element) -> str:
    plain = [a for a in root.attributes if a.namespace is None and a.name == "package"]
    lookalikes = [a for a in root.attributes if _looks_like_package(a) and not (a.namespace is None
                                                                                and a.name == "package")]
    if lookalikes:
        # e.g. android:package, a "package" in another namespace, "Package", " package", "x:package": the device
        # reads only the plain one, some tools read the others.
        raise ManifestError(f"<manifest> carries a package-like attribute {lookalikes[0].name!r} "
                            f"in {lookalikes[0].namespace!r}", code="manifest_package_ambiguous")
    if not plain:
        raise ManifestError("<manifest> has no package attribute", code="manifest_package_missing")
    attribute = plain[0]
    if attribute.value.type != TYPE_STRING or attribute.raw is None:
        raise ManifestError("the package attribute is not a string", code="manifest_package_invalid")
    name = attribute.raw
    # The platform package (framework-res.apk) is the one name PackageParser exempts from the rule.
    if name == PLATFORM_PACKAGE:
        return name
    if len(name.encode()) > MAX_PACKAGE_NAME_LENGTH or not _PACKAGE_NAME.fullmatch(name):
        raise ManifestError(f"package name {name!r} breaks Android's naming rule (segments of letters, digits and "
                            "'_' starting with a letter, at least two, separated by '.')",
                            code="manifest_package_invalid")
    return name


def _check_prefixed_attributes(element: Element, parent: str | None) -> None:
    """Refuse the prefix-written android namespace where the installer reads by URI (see ``_READ_BY_URI``)."""
    if element.name in _READ_BY_URI or _READ_BY_URI_UNDER.get(element.name, "") == parent:
        for attribute in element.attributes:
            if attribute.namespace_as_prefix:
                raise ManifestError(f"android:{attribute.name} on <{element.name}> (line {element.line}) names its "
                                    f"namespace by the prefix \"android\", not the URI: Android's installer reads "
                                    f"it by URI and would not see it, the full parse reads it by resource id",
                                    code="manifest_resource_map")
    for child in element.children:
        _check_prefixed_attributes(child, element.name)


def _looks_like_package(attribute: Attribute) -> bool:
    folded = attribute.name.strip().strip("\0").casefold()
    return folded == "package" or folded.endswith(":package")


def _single_child(root: Element, name: str) -> Element | None:
    found = [child for child in root.children if child.name == name and child.namespace is None]
    if len(found) > 1:
        raise ManifestError(f"<manifest> has {len(found)} <{name}> elements", code="manifest_duplicate_element")
    return found[0] if found else None


class _Resources:
    """resources.arsc, parsed only when a reference needs it (a missing table is fine until then)."""

    def __init__(self, data: bytes | None) -> None:
        self._data = data
        self._table: ResourceTable | None = None

    @property
    def table(self) -> ResourceTable | None:
        if self._table is None and self._data is not None:
            self._table = ResourceTable.parse(self._data)
        return self._table

    def resolve(self, value: TypedValue, locale: str | None) -> TypedValue | None:
        if value.type not in (TYPE_REFERENCE, TYPE_DYNAMIC_REFERENCE):
            return value
        table = self.table
        return None if table is None else table.resolve(value.data, locale)

    def locales(self) -> list[str]:
        table = self.table
        return [] if table is None else table.locales()


def _integer(element: Element, resource_id: int, table: _Resources, what: str) -> int:
    """TypedArray.getInteger(attr, 0): integers only (references resolved), 0 when absent."""
    attribute = element.by_id(resource_id)
    if attribute is None or attribute.value.type == TYPE_NULL:
        return 0
    value = table.resolve(attribute.value, BADGING_DEFAULT_LOCALE)
    if value is None or not value.is_int:
        raise ManifestError(f"android:{what} is not an integer", code="manifest_value_invalid")
    return value.signed


def _sdk_level(uses_sdk: Element, resource_id: int, table: _Resources) -> tuple[int | None, str | None]:
    """An SDK level as PackageParser reads it: a string is a codename (e.g. "Q"), anything else an integer."""
    attribute = uses_sdk.by_id(resource_id)
    if attribute is None:
        return None, None
    value = table.resolve(attribute.value, BADGING_DEFAULT_LOCALE)
    if value is not None and value.type == TYPE_STRING:
        return CUR_DEVELOPMENT, value.string
    if value is None or not value.is_int:
        raise ManifestError("an SDK level is neither an integer nor a codename", code="manifest_value_invalid")
    return value.signed, None


def _string(attribute: Attribute | None, table: _Resources, locale: str | None) -> str | None:
    """aapt's getResolvedAttribute: a literal string as written, a reference resolved; otherwise None."""
    if attribute is None:
        return None
    if attribute.value.type == TYPE_STRING:
        return attribute.value.string or None
    value = table.resolve(attribute.value, locale)
    if value is None or value.type != TYPE_STRING:
        return None
    return value.string or None


def _labels(application: Element | None, table: _Resources) -> tuple[str | None, dict[str, str]]:
    attribute = application.by_id(_LABEL) if application is not None else None
    if attribute is None:
        return None, {}
    label = _string(attribute, table, "")
    labels = {}
    for locale in table.locales():
        if locale:
            text = _string(attribute, table, locale)
            if text is not None:
                labels[locale] = text
    return label, labels


def _application_class(application: Element | None, package: str) -> str | None:
    """<application android:name> as PackageParser resolves it (buildClassName): ".X" and "X" (no dot) are relative
    to the package; None when absent or not a plain string (the platform's default Application)."""
    attribute = application.by_id(_NAME) if application is not None else None
    name = attribute.raw if attribute is not None else None
    if not name or not isinstance(name, str):
        return None
    if name.startswith("."):
        return package + name
    return name if "." in name else f"{package}.{name}"


def _permissions(root: Element) -> tuple[str, ...]:
    """android:name of each <uses-permission> (and -sdk-23 / -sdk-m) directly under <manifest>, in order."""
    names = []
    for child in root.children:
        if child.name in _PERMISSION_TAGS and child.namespace is None:
            attribute = child.by_id(_NAME)
            if attribute is not None and attribute.raw:
                names.append(attribute.raw)
    return tuple(names)
