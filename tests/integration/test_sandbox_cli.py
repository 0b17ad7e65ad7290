"""``gate sandbox regulator`` as a process: it prints its URL, serves, injects faults, and stops on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import requests

from tests.integration.sandbox_support import PLATFORM, SECRET, make_client, report_body


def test_cli_prints_its_url_serves_the_feed_and_stops_on_sigterm(tmp_path):
    feed = tmp_path / "feed.jsonl"
    feed.write_text(json.dumps({"service_licence": "京ICP备2024000001号-1A", "status": "cancelled"},
                               ensure_ascii=False) + "\n", encoding="utf-8")
    db = tmp_path / "regulator.sqlite3"
    process = subprocess.Popen(
        [sys.executable, "-m", "gate.cli", "sandbox", "regulator", "--port", "0", "--secret", SECRET,
         "--feed", str(feed), "--db", str(db), "--fail-first", "1", "--retry-after", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and not url.endswith(":0")
        waits: list[float] = []
        client = make_client(url, waits)
        assert client.fetch_feed(None).records[0]["status"] == "cancelled"
        client.submit_report(report_body(), "cli-key")
        seen = requests.get(url + "/_sandbox/reports", timeout=5).json()
        assert (len(seen["reports"]), seen["attempts"], waits) == (1, 2, [2.0])
        assert seen["reports"][0]["platform_id"] == PLATFORM
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr
    assert db.exists()  # --db keeps what arrived


def test_cli_refuses_a_malformed_feed_file(tmp_path):
    feed = tmp_path / "feed.json"
    feed.write_text('[{"status": "active"}]', encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "gate.cli", "sandbox", "regulator", "--port", "0",
                             "--feed", str(feed)], capture_output=True, text=True, timeout=20)
    assert result.returncode == 2 and "service_licence" in result.stderr and result.stdout == ""
