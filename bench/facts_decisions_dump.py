"""Dump the facts and the decisions of every fixture and corpus package, to compare two revisions byte for byte.

A change meant to keep ``gate features --json`` and ``gate check --json`` identical (issue #24: typed signature
issues, facts that own their serialisation) is checked by running this with both trees and comparing with ``cmp``::

    git archive main gate | tar -x -C /tmp/before          # main's code
    PYTHONHASHSEED=0 PYTHONPATH=/tmp/before python bench/facts_decisions_dump.py /tmp/before.jsonl
    PYTHONHASHSEED=0 python bench/facts_decisions_dump.py /tmp/after.jsonl
    cmp /tmp/before.jsonl /tmp/after.jsonl

Packages: every package file under ``fixtures/`` (APK, App Bundle, split set, IPA, HAP, RPK) and every file of the
real-app corpus (``$GATE_CORPUS`` or ``~/.cache/filing-gate/corpus``). For each, three lines, each exactly as the
CLI prints it (``json.dumps(..., ensure_ascii=False)``): the facts (``gate features --json``), the decision with no
filing (steps 1-3: unreadable, unsigned, invalid signatures and their messages, unfiled) and the decision against a
filing made from the package's own facts — its identifier and signers' SHA-256, one domain, a category needing a
content approval, another unit — so that steps 4-10 speak too (``gate check --json --filings``). The filing is built
from the facts of the tree that runs, so a facts difference shows on the facts line first. Fix ``PYTHONHASHSEED``:
some evidence lists follow set order.
"""

from __future__ import annotations

import json
import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE_SUFFIXES = {".apk", ".aab", ".apks", ".xapk", ".ipa", ".hap", ".app", ".rpk", ".rpks"}


def packages() -> list[pathlib.Path]:
    corpus = pathlib.Path(os.environ.get("GATE_CORPUS", pathlib.Path.home() / ".cache/filing-gate/corpus"))
    found = sorted(p for p in (ROOT / "fixtures").rglob("*") if p.suffix in PACKAGE_SUFFIXES)
    found += sorted(corpus.iterdir()) if corpus.is_dir() else []
    return [p for p in found if p.is_file()]


def own_filing(facts):  # type: ignore[no-untyped-def]
    """A filing listing the package with its own signers, or None when the facts name no identifier or signer."""
    from gate.filings.validate import validate_record

    if not facts.package or not facts.signature.signers:
        return None
    raw = {"service_licence": "京ICP备2024000001号-1A", "service_type": "app", "service_name": "示例",
           "unit_name": "北京门禁科技有限公司", "status": "active", "domains": ["filinggate.cn"],
           "platforms": [{"platform": facts.platform or "android", "identifier": facts.package,
                          "signature_sha256": s.cert_sha256} for s in facts.signature.signers]}
    filing, _problems = validate_record(raw)
    return filing


def main(out: str) -> int:
    from gate.config import load_settings
    from gate.decide import decide
    from gate.extract.pipeline import extract_features

    settings = load_settings({})
    policy = settings.decision_policy()
    paths = packages()
    os.chdir(ROOT)
    with open(out, "w", encoding="utf-8") as dump:
        for path in paths:
            shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
            facts = extract_features(str(shown), trust=settings.trust_roots)
            dump.write(json.dumps(facts.as_dict(), ensure_ascii=False) + "\n")
            platform = facts.platform or "android"
            unfiled = decide(facts, [], policy=policy, platform=platform)
            dump.write(json.dumps(unfiled.as_dict(), ensure_ascii=False) + "\n")
            filing = own_filing(facts)
            filed = decide(facts, [filing] if filing is not None else [], policy=policy, platform=platform,
                           developer_entity="上海另一家科技有限公司", category="新闻资讯")
            dump.write(json.dumps(filed.as_dict(), ensure_ascii=False) + "\n")
    import gate

    print(f"{len(paths)} packages -> {out} (code: {pathlib.Path(gate.__file__).parent})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
