"""`fdroid gate --filings` (gate/integrations/fdroid.py, FilingsFiles) reads the filings as `gate check --filings`
does: a warning (here a wildcard domain, `domain_wildcard`, written by hand) keeps its record and is said on stderr."""

from __future__ import annotations

import json

from gate.integrations.fdroid import FilingsFiles


def test_a_filings_warning_is_said_and_the_record_kept(tmp_path, capsys):
    record = {"service_licence": "京ICP备2024000001号-1A", "service_type": "app", "service_name": "Hello",
              "unit_name": "北京门禁科技有限公司", "status": "active", "domains": ["*.filinggate.cn"],
              "platforms": [{"platform": "android", "identifier": "cn.filinggate.hello",
                             "signature_md5": "0" * 32}]}
    path = tmp_path / "filings.jsonl"
    path.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    decider = FilingsFiles([str(path)])
    assert [f.service_licence for f in decider.registry.filings_for("android", "cn.filinggate.hello")] == \
        ["京ICP备2024000001号-1A"]
    err = capsys.readouterr().err
    assert "fdroid gate:" in err and "domain_wildcard" in err
