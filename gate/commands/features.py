"""``gate features``: the facts of each package, as JSON Lines or a readable summary for the filing form."""

from __future__ import annotations

import json

import click


@click.command("features")
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=True, path_type=str))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line (JSON Lines), in input order.")
def features(paths: tuple[str, ...], as_json: bool) -> int:
    """Print the facts of each package: identity, verified signers, network resources, problems.

    A package that cannot be read still gets its entry (with problems), and the command goes on to the next.
    Exit status 0 when every package was read without problems, 4 otherwise.
    """
    from gate.config import load_settings
    from gate.extract.pipeline import extract_features

    trust = load_settings().trust_roots  # an operator's extra roots decide signature.verified for HAPs and IPAs
    worst = 0
    for path in paths:
        facts = extract_features(path, trust=trust)
        if facts.problems:
            worst = 4
        if as_json:
            click.echo(json.dumps(facts.as_dict(), ensure_ascii=False, sort_keys=False))
        else:
            click.echo(render_summary(facts))
    return worst


def render_summary(facts) -> str:
    """A readable summary: the filing-form view (包名/公钥/签名MD5) first, then the rest."""
    from gate.extract.signing.form import filing_form_lines

    lines = [f"== {facts.path}"]
    for problem in facts.problems:
        lines.append(f"  PROBLEM [{problem.code}] {problem.message}")
    if facts.format:
        lines.append(f"  format: {facts.format}   size: {facts.size} bytes   sha256: {facts.sha256}")
    if facts.package:
        lines.append(f"  version: {facts.version_name} ({facts.version_code})   "
                     f"min/target SDK: {facts.min_sdk}/{facts.target_sdk}")
        label = facts.label if facts.label is not None else "-"
        lines.append(f"  label: {label}" + "".join(f"   [{k}] {v}" for k, v in sorted(facts.labels.items())))
    sig = facts.signature
    if facts.format:
        schemes = ", ".join(name for name, used in sig.schemes.items() if used) or "none"
        state = "VERIFIED" if sig.verified else "NOT VERIFIED"
        lines.append(f"  signature: {state} (schemes: {schemes})")
        for error in sig.errors:
            lines.append(f"    error: {error.message}")
        later = sig.verified_from_sdk
        if later is not None:
            low, high = later.unverified_sdks
            schemes = ", ".join(n for n, ok in later.schemes.items() if ok)
            lines.append(f"    valid only from API {later.min_sdk} (Android {later.release}): API {low}–{high} cannot "
                         f"verify it and will not install it; {schemes} signer(s) from API {later.min_sdk}:")
            lines.append(f"    仅自 API {later.min_sdk}（Android {later.release}）起有效：API {low}–{high} 无法校验、无法安装；"
                         f"自 API {later.min_sdk} 起的 {schemes} 签名者：")
            lines.extend(f"      {s.subject}  SHA-256 {s.cert_sha256}" for s in later.signers)
        if sig.verified_parts:
            lines.append(f"  verified: {'; '.join(sig.verified_parts)}")
        ios = facts.details.get("ios") or {}
        if ios:
            profile = ios.get("profile") or {}
            lines.append(f"  iOS: Bundle ID {facts.package}   team {ios.get('team_id') or '-'}   "
                         f"architectures {', '.join(ios.get('architectures') or ()) or '-'}")
            if profile:
                lines.append(f"  provisioning profile: {profile.get('name')}   App ID {profile.get('app_id')}   "
                             f"expires {profile.get('expiration_date')}")
        lines.append("  filing form (备案信息):")
        lines.extend(f"    {line}" for line in filing_form_lines(facts.package, sig.signers))
        if sig.lineage:
            lines.append("  key rotation lineage (oldest first):")
            lines.extend(f"    {i}. MD5 {c.cert_md5}  SHA-256 {c.cert_sha256}" for i, c in enumerate(sig.lineage, 1))
    if facts.application_class:
        lines.append(f"  application class: {facts.application_class}")
    if facts.native_libraries:
        lines.append(f"  native libraries: {len(facts.native_libraries)} ({', '.join(facts.native_libraries[:6])}"
                     + (", …)" if len(facts.native_libraries) > 6 else ")"))
    if facts.protection is not None:
        hidden = "; the app's code is encrypted: its network resources cannot be read from this package" \
            if facts.protection.code_hidden else ""
        lines.append(f"  packed (加固): {', '.join(facts.protection.names)}{hidden}")
        lines.extend(f"    {e.how}: {e.marker}  ({e.source})" for p in facts.protection.packers for e in p.evidence)
    net = facts.network
    if net.hosts or net.ips:
        references = sum(1 for host in net.hosts if host.kind == "reference")
        lines.append(f"  network: {len(net.hosts)} hosts ({references} references only), {len(net.ips)} IPs")
        for host in net.hosts:
            tag = f"  [{host.third_party}{' by code' if host.third_party_by == 'code' else ''}]" \
                if host.third_party else ""
            lines.append(f"    {host.host}  {host.kind}{tag}  ({', '.join(host.sources)})")
            lines.extend(_evidence_lines(host.evidence))
        for ip in net.ips:
            lines.append(f"    {ip.ip}  {ip.kind}, {ip.scope}  ({', '.join(ip.sources)})")
            lines.extend(_evidence_lines(ip.evidence))
    return "\n".join(lines)


def _evidence_lines(evidence) -> list[str]:
    """One line per occurrence: how it was found, where, and the excerpt (shortened) a reviewer can read."""
    out = []
    for item in evidence:
        why = f" [reference: {item.reference}]" if item.reference else ""
        excerpt = item.excerpt if len(item.excerpt) <= 100 else item.excerpt[:99] + "…"
        out.append(f"      {item.how} in {item.source}{why}: {excerpt}")
    return out
