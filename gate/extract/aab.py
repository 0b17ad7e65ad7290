"""Android App Bundles (``.aab``): the protobuf manifest and resource table, and the upload key's JAR signature.

An App Bundle is what a developer uploads to a store that builds the APKs itself (bundletool). Its layout: one
directory per module (``base/`` always), each with ``manifest/AndroidManifest.xml`` — an aapt2 ``XmlNode`` message,
not binary XML — and ``resources.pb`` (a ``ResourceTable`` message), plus ``dex/``, ``res/``, ``assets/``, ``lib/``,
and ``BundleConfig.pb`` at the root. Messages are decoded from the published ``Resources.proto`` schema with
``gate.extract.protowire`` (field numbers below), only the parts the facts need:

* ``XmlNode``: element 1, text 2. ``XmlElement``: namespace_uri 2, name 3, attribute 4, child 5.
  ``XmlAttribute``: namespace_uri 1, name 2, value 3, resource_id 5, compiled_item 6.
* ``Item``: ref 1, str 2, raw_str 3, prim 7; ``Reference``: id 2; ``String``/``RawString``: value 1;
  ``Primitive``: int_decimal_value 6, int_hexadecimal_value 7, boolean_value 8.
* ``ResourceTable``: package 2; ``Package``: package_id 1 (id 1), type 3; ``Type``: type_id 1 (id 1), entry 3;
  ``Entry``: entry_id 1 (id 1), config_value 6; ``ConfigValue``: config 1 (``Configuration``: locale 3),
  value 2; ``Value``: item 4.

Facts: package, versions, SDKs, labels (resolved through ``base/resources.pb``; locales keyed as aapt prints them),
permissions from the base manifest; every other module's manifest must name the same package
(``aab_module_mismatch``). The signature is the JAR (v1) signature a bundle carries, verified with the same JAR
verifier as APKs (every entry digested, at the current platform's rules). Its key is the **upload key**: stores
re-sign the APKs they build with the app signing key, so a filing's key may be either; ``signature.verified_parts``
says ``jar_signature (upload key)`` and the decision adds ``upload_key_only``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gate.errors import PackageError
from gate.extract import protowire as pw
from gate.extract.facts import PackageFacts, Problem, SignatureFacts

if TYPE_CHECKING:
    from gate.extract.container import ApkContainer, ZipEntry
    from gate.extract.network import NetworkScanner

ANDROID_NS = "http://schemas.android.com/apk/res/android"
BASE_MANIFEST = "base/manifest/AndroidManifest.xml"
BASE_RESOURCES = "base/resources.pb"
MAX_PROTO_SIZE = 64 << 20
MAX_DEPTH = 128
ATTR_LABEL, ATTR_VERSION_CODE, ATTR_VERSION_NAME = 0x01010001, 0x0101021B, 0x0101021C
ATTR_MIN_SDK, ATTR_TARGET_SDK, ATTR_NAME = 0x0101020C, 0x01010270, 0x01010003


@dataclass(frozen=True)
class Value:
    text: str | None = None
    number: int | None = None
    reference: int | None = None


@dataclass(frozen=True)
class Element:
    name: str
    attributes: dict[tuple[str, str], tuple[int, Value]]  # (namespace, name) -> (resource id, value)
    children: tuple[Element, ...]

    def get(self, name: str, resource_id: int | None = None, namespace: str = ANDROID_NS) -> Value | None:
        if resource_id:
            for rid, value in self.attributes.values():
                if rid == resource_id:
                    return value
        found = self.attributes.get((namespace, name))
        return found[1] if found else None

    def iter(self) -> Iterator[Element]:
        yield self
        for child in self.children:
            yield from child.iter()


def read_aab(shown: str, container: ApkContainer) -> PackageFacts:
    from gate.extract.network import NetworkScanner

    scanner = NetworkScanner()
    problems: list[Problem] = []
    try:
        manifest = parse_manifest(container.read(BASE_MANIFEST, max_size=MAX_PROTO_SIZE))
        table: dict[int, dict[str, str]] = {}
        if container.get(BASE_RESOURCES) is not None:
            table, strings = parse_resource_strings(container.read(BASE_RESOURCES, max_size=MAX_PROTO_SIZE))
            scanner.feed(BASE_RESOURCES + "#strings", "\n".join(strings).encode("utf-8"))
        identity = _identity(manifest, table)
        scanner.feed(BASE_MANIFEST + "#strings", "\n".join(
            v.text for e in manifest.iter() for _, v in e.attributes.values() if v.text).encode("utf-8"))
        problems += _module_mismatches(container, identity["package"])
    except PackageError as exc:
        return PackageFacts(path=shown, format="aab", platform="android", problems=(Problem(exc.code, exc.message),))

    signature = _verify_upload_signature(container, scanner, problems)
    return PackageFacts(path=shown, format="aab", platform="android", signature=signature,
                        network=scanner.facts(), problems=tuple(problems) + scanner.problem_facts(), **identity)


def parse_manifest(data: bytes) -> Element:
    root = _element(pw.read_message(data), 0)
    if root is None or root.name != "manifest":
        raise PackageError("base/manifest/AndroidManifest.xml is not a <manifest> XmlNode", code="aab_manifest_invalid")
    return root


def _element(node: pw.Fields, depth: int) -> Element | None:
    if depth > MAX_DEPTH:
        raise PackageError("the bundle manifest nests deeper than 128 elements", code="aab_manifest_invalid")
    element = pw.message(node, 1)
    if not element:
        return None  # a text node
    attributes = {}
    for attribute in pw.messages(element, 4):
        key = (pw.text(attribute, 1) or "", pw.text(attribute, 2) or "")
        if key in attributes:
            raise PackageError(f"attribute {key[1]!r} appears twice on <{pw.text(element, 3)}>",
                               code="aab_manifest_ambiguous")
        attributes[key] = (pw.integer(attribute, 5), _value(attribute))
    children = tuple(c for c in (_element(child, depth + 1) for child in pw.messages(element, 5)) if c is not None)
    return Element(pw.text(element, 3) or "", attributes, children)


def _value(attribute: pw.Fields) -> Value:
    item = pw.message(attribute, 6)
    raw = pw.text(attribute, 3)
    if item:
        if 1 in item:
            return Value(text=raw, reference=pw.integer(pw.message(item, 1), 2))
        for number in (2, 3):
            if number in item:
                return Value(text=pw.text(pw.message(item, number), 1) or "")
        if 7 in item:
            prim = pw.message(item, 7)
            for number in (6, 7):
                if number in prim:
                    return Value(text=raw, number=pw.signed32(pw.integer(prim, number)))
            if 8 in prim:
                return Value(text=raw, number=int(bool(pw.integer(prim, 8))))
    return Value(text=raw)


def parse_resource_strings(data: bytes) -> tuple[dict[int, dict[str, str]], list[str]]:
    """{resource id: {locale ("" for default): string}} for the string values of the table, and all its strings."""
    table: dict[int, dict[str, str]] = {}
    every: list[str] = []
    for package in pw.messages(pw.read_message(data), 2):
        package_id = pw.integer(pw.message(package, 1), 1)
        for type_ in pw.messages(package, 3):
            type_id = pw.integer(pw.message(type_, 1), 1)
            for entry in pw.messages(type_, 3):
                resource_id = package_id << 24 | type_id << 16 | pw.integer(pw.message(entry, 1), 1)
                for config_value in pw.messages(entry, 6):
                    item = pw.message(pw.message(config_value, 2), 4)
                    string = item and (pw.message(item, 2) or pw.message(item, 3))
                    if not string:
                        continue
                    text = pw.text(string, 1) or ""
                    locale = pw.text(pw.message(config_value, 1), 3) or ""
                    table.setdefault(resource_id, {})[locale] = text
                    every.append(text)
    return table, every


def _identity(manifest: Element, table: dict[int, dict[str, str]]) -> dict[str, Any]:
    package = manifest.get("package", namespace="")
    if package is None or not package.text:
        raise PackageError("the bundle manifest has no package attribute", code="aab_package_missing")
    code = manifest.get("versionCode", ATTR_VERSION_CODE)
    name = manifest.get("versionName", ATTR_VERSION_NAME)
    uses_sdk = next((c for c in manifest.children if c.name == "uses-sdk"), None)
    min_sdk = _number(uses_sdk.get("minSdkVersion", ATTR_MIN_SDK)) if uses_sdk else None
    target_sdk = _number(uses_sdk.get("targetSdkVersion", ATTR_TARGET_SDK)) if uses_sdk else None
    application = next((c for c in manifest.children if c.name == "application"), None)
    label, labels = None, {}
    if application is not None and (value := application.get("label", ATTR_LABEL)) is not None:
        if value.reference:
            strings = table.get(value.reference, {})
            label = strings.get("")
            labels = {_aapt_locale(k): v for k, v in strings.items() if k}
        else:
            label = value.text
    permissions = tuple(v.text for p in manifest.children
                        if p.name in ("uses-permission", "uses-permission-sdk-23")
                        and (v := p.get("name", ATTR_NAME)) is not None and v.text)
    return {"package": package.text, "version_code": _number(code), "version_name": name.text if name else None,
            "min_sdk": min_sdk if min_sdk is not None else 1,
            "target_sdk": target_sdk if target_sdk is not None else (min_sdk if min_sdk is not None else 1),
            "label": label, "labels": labels, "permissions": permissions}


def _number(value: Value | None) -> int | None:
    if value is None:
        return None
    if value.number is not None:
        return value.number
    return int(value.text) if value.text and value.text.isdigit() else None


def _aapt_locale(locale: str) -> str:
    """aapt2 writes BCP-47 (``zh-CN``); badging prints the same form."""
    return locale


def _module_mismatches(container: ApkContainer, package: str) -> list[Problem]:
    problems: list[Problem] = []
    for name in container.names():
        parts = name.split("/")
        if len(parts) == 3 and parts[1:] == ["manifest", "AndroidManifest.xml"] and parts[0] != "base":
            other = parse_manifest(container.read(name, max_size=MAX_PROTO_SIZE)).get("package", namespace="")
            if other is None or other.text != package:
                problems.append(Problem("aab_module_mismatch", f"module {parts[0]} names package "
                                        f"{other.text if other else None!r}, the base {package!r}"))
    return problems


def _verify_upload_signature(container: ApkContainer, scanner: NetworkScanner,
                             problems: list[Problem]) -> SignatureFacts:
    from gate.extract.signing import NEWEST_SDK
    from gate.extract.signing.certs import signer_certificate
    from gate.extract.signing.v1 import verify_v1

    scanned: set[str] = set()

    def on_entry(entry: ZipEntry, data: bytes) -> None:
        if scanner.wants(entry.name) and entry.name not in scanned:
            scanned.add(entry.name)
            scanner.feed(entry.name, data)

    result = verify_v1(container, min_sdk=NEWEST_SDK, max_sdk=NEWEST_SDK, supported={}, found=set(),
                       on_entry=on_entry)
    for entry in container.entries:
        if entry.is_directory or entry.name in scanned or not scanner.wants(entry.name) or entry.name.endswith(".pb") \
                or entry.name.endswith("manifest/AndroidManifest.xml"):
            continue
        try:
            on_entry(entry, container.read(entry))
        except PackageError as exc:
            problems.append(Problem(exc.code, exc.message))
    signers = tuple(signer_certificate(s.chain[0]) for s in result.signers if not s.ignored and s.chain)
    verified = result.verified
    return SignatureFacts(verified=verified, schemes={"v1": verified, "v2": False, "v3": False, "v31": False},
                          signers=signers if verified else (), errors=tuple(result.all_errors()),
                          verified_parts=("jar_signature (upload key)",) if verified else ())
