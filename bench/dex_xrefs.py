"""const-string cross-references on every DEX of an APK: the gate's own reader against androguard's analysis.

    python bench/dex_xrefs.py [APK]      (default: bench/work/large.apk)

Each side runs in a fresh process (time and peak RSS from /proc/self/status VmHWM), on the hosts the network scan
finds in each DEX:
  gate-fast   what `gate features` runs: classes of known SDK packages read exactly, other code as "other"
  gate-exact  every class read exactly (what the tests compare with androguard)
  androguard  DEX(...) + Analysis.create_xref() over the same DEX files, then the string cross-references
"""

from __future__ import annotations

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]

CODE = r'''
import json, sys, time, zipfile
sys.path.insert(0, sys.argv[1])
mode, path = sys.argv[2], sys.argv[3]
from gate.extract.network import NetworkScanner
with zipfile.ZipFile(path) as z:
    dexes = {n: z.read(n) for n in z.namelist() if n.startswith("classes") and n.endswith(".dex")}
hosts = {}
for name, data in dexes.items():
    s = NetworkScanner(); s.feed(name, data); hosts[name] = {h.host for h in s.facts().hosts}
start = time.perf_counter()
links = 0
if mode.startswith("gate"):
    from gate.extract.network.dex_code import classes_loading
    from gate.extract.network.sdk_hosts import SDK_DESCRIPTOR_PREFIXES
    for name, data in dexes.items():
        found = classes_loading(data, hosts[name], SDK_DESCRIPTOR_PREFIXES if mode == "gate-fast" else None)
        links += sum(len(v) for v in (found or {}).values())
else:
    from loguru import logger; logger.remove()
    from androguard.core.analysis.analysis import Analysis
    from androguard.core.dex import DEX
    for name, data in dexes.items():
        a = Analysis(DEX(data)); a.create_xref()
        for s in a.get_strings():
            v = s.get_value()
            if any(h in v for h in hosts[name]):
                links += len({c.name for c, _m in s.get_xref_from()})
seconds = time.perf_counter() - start
hwm = int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]) / 1024
print(json.dumps({"mode": mode, "seconds": round(seconds, 3), "peak_rss_mb": round(hwm, 1), "links": links}))
'''


def main() -> None:
    apk = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "bench/work/large.apk")
    for mode in ("gate-fast", "gate-exact", "androguard"):
        out = subprocess.run([sys.executable, "-c", CODE, str(ROOT), mode, apk], capture_output=True, text=True)
        print(out.stdout.strip() or out.stderr.strip()[-500:])


if __name__ == "__main__":
    main()
