"""Measure a check against a large registry: lookup by identifier, decision, stored check (one transaction each).

    .venv/bin/python bench/import_filings.py --records 1000000            # builds bench/work/registry_1000000.db
    .venv/bin/python bench/check_registry.py --records 1000000 [--checks 2000] [--database-url URL]

Package extraction is not included (see bench/features.py for that): the facts are built directly, with the signer
of record i, so every check runs the full lookup + steps 1-8 + insert of the check row and its audit event.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pathlib
import random
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def facts_for(i: int, *, mismatch: bool):
    from gate.extract.facts import PackageFacts, SignatureFacts, SignerCertificate

    md5 = hashlib.md5(f"cert-{i}{'x' if mismatch else ''}".encode()).hexdigest()
    cert = SignerCertificate(cert_md5=md5, cert_sha1="0" * 40, cert_sha256=hashlib.sha256(md5.encode()).hexdigest(),
                             public_key="", public_key_sha256="0" * 64, subject="CN=bench", key_algorithm="RSA",
                             key_size=2048)
    return PackageFacts(path=f"app{i}.apk", format="apk", package=f"cn.bench.app{i}", version_code=1,
                        label=f"测试应用{i}", sha256=hashlib.sha256(str(i).encode()).hexdigest(),
                        signature=SignatureFacts(verified=True, schemes={"v1": False, "v2": True, "v3": False,
                                                                         "v31": False}, signers=(cert,)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--checks", type=int, default=2000)
    ap.add_argument("--database-url", default=None)
    args = ap.parse_args()

    from gate.db.checks import record_check
    from gate.db.engine import open_database
    from gate.db.filings import DatabaseRegistry
    from gate.decide import Policy, decide

    if args.database_url:
        sys.path.insert(0, str(ROOT / "bench"))
        from import_filings import postgres_bench_url  # type: ignore[import-not-found]

        url = postgres_bench_url(args.database_url)
    else:
        url = f"sqlite:///{ROOT / 'bench' / 'work' / f'registry_{args.records}.db'}"
    engine = open_database(url)
    policy = Policy()
    rng = random.Random(7)
    decisions, stored, verdicts = [], [], {}
    cpu0 = time.process_time()
    with engine.connect() as conn:
        registry = DatabaseRegistry(conn)
        for n in range(args.checks):
            i = rng.randrange(args.records)
            facts = facts_for(i, mismatch=n % 4 == 0)
            t0 = time.perf_counter()
            with conn.begin():
                filings = registry.filings_for("android", facts.package)
                decision = decide(facts, filings, policy=policy)
                t1 = time.perf_counter()
                record_check(conn, facts=facts, decision=decision, policy=policy)
            t2 = time.perf_counter()
            decisions.append(t1 - t0)
            stored.append(t2 - t0)
            verdicts[decision.verdict] = verdicts.get(decision.verdict, 0) + 1
    cpu = time.process_time() - cpu0
    engine.dispose()
    print(json.dumps({
        "registry_records": args.records, "database": url.split(":", 1)[0], "checks": args.checks,
        # lookup + decision (the target): what a check costs before it is stored
        "decision": summary(decisions),
        # the same plus storing the check row and its audit event, committed
        "decision_and_store": summary(stored),
        "checks_per_s": round(args.checks / sum(stored)), "cpu_ms_per_check": round(cpu * 1000 / args.checks, 2),
        "load_average": round(os.getloadavg()[0], 1), "verdicts": verdicts,
    }))


def summary(seconds: list[float]) -> dict:
    ms = sorted(t * 1000 for t in seconds)
    return {"mean_ms": round(statistics.mean(ms), 3), "p50_ms": round(ms[len(ms) // 2], 3),
            "p95_ms": round(ms[int(len(ms) * 0.95)], 3), "max_ms": round(ms[-1], 2)}


if __name__ == "__main__":
    main()
