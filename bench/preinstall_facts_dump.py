"""Dump what the preinstall scan found and read in an image — each partition, each app's device path and facts —
as JSON lines, to compare two revisions of the scan (scheduling, partition reading) on the same image::

    PYTHONHASHSEED=0 python bench/preinstall_facts_dump.py bench/work/preinstall/super.img /tmp/after.jsonl
    cd /tmp/before-tree && PYTHONHASHSEED=0 PYTHONPATH=. python /path/to/bench/preinstall_facts_dump.py \\
        /path/to/super.img /tmp/before.jsonl
    cmp /tmp/before.jsonl /tmp/after.jsonl

It runs ``gate.preinstall.scan.run`` from whichever tree ``gate`` is imported (it prints which) with two check
workers. The work directory's path in each package's local path is written as ``<work>/`` (its numbered
sub-directories follow the order partitions are read in, which is not part of any result). Fix
``PYTHONHASHSEED``: some evidence lists follow set order (bench/facts_dump.py).
"""

from __future__ import annotations

import io
import json
import re
import sys


def main() -> int:
    image, out = sys.argv[1], sys.argv[2]
    import gate
    from gate.preinstall import scan, sources

    print("gate from", gate.__file__, file=sys.stderr)
    with sources.WorkSpace() as work:
        result = scan.run([image], work=work, jobs=2, progress=scan.ScanProgress(stream=io.StringIO()))
        numbered = re.compile(re.escape(work.root) + r"/[0-9]{4}-")
    with open(out, "w", encoding="utf-8") as f:
        for p in result.partitions:
            f.write(json.dumps({"partition": p.name, "source": p.source, "format": p.format, "errors": p.errors,
                                "apps": len(p.apps)}) + "\n")
        for app, facts in result.checked:
            line = json.dumps({"path": app.device_path, "partition": app.partition, "apex": app.apex,
                               "facts": facts.as_dict()}, ensure_ascii=False, sort_keys=True)
            f.write(numbered.sub("<work>/", line) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
