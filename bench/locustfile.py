"""Locust scenario for the load run (bench/load.py starts the gate and runs this headless; it is not a test).

One kind of user, a store plus a device maker's preinstall audit, mixing the calls a store really makes:
- the upload webhook with the small fixture APK (answered in the response, 200),
- the upload webhook with a real-size corpus APK (above GATE_SYNC_THRESHOLD_BYTES: queued, 202; the check id is
  appended to $GATE_LOAD_ACCEPTED so the driver can verify that every accepted check reaches `done`),
- listing events (listed/delisted),
- the preinstall endpoint with a 100-item list.

Every upload carries a distinct store_app_id, so each is a fresh check, not an idempotent repeat.
Settings come from the environment the driver sets: GATE_LOAD_STORE_KEY, GATE_LOAD_STORE_SECRET, GATE_LOAD_OEM_KEY,
GATE_LOAD_SMALL_APK, GATE_LOAD_LARGE_APK, GATE_LOAD_ACCEPTED.
"""

from __future__ import annotations

import datetime
import itertools
import json
import os
import pathlib
import sys
import threading
import uuid

from locust import HttpUser, between, task

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gate.services.signatures import HEADER, sign  # noqa: E402
from tests.integration.http_support import multipart  # noqa: E402

STORE_KEY = os.environ.get("GATE_LOAD_STORE_KEY", "")
STORE_SECRET = os.environ.get("GATE_LOAD_STORE_SECRET", "")
OEM_KEY = os.environ.get("GATE_LOAD_OEM_KEY", "")
SMALL_APK = pathlib.Path(os.environ.get("GATE_LOAD_SMALL_APK", ROOT / "fixtures" / "apks" / "hello_zh.apk"))
LARGE_APK = pathlib.Path(os.environ.get("GATE_LOAD_LARGE_APK", SMALL_APK))
ACCEPTED = pathlib.Path(os.environ.get("GATE_LOAD_ACCEPTED", "/dev/null"))

_run = uuid.uuid4().hex[:8]  # distinct store_app_ids across runs on one database
_counter = itertools.count()
_accepted_lock = threading.Lock()
PREINSTALL_ITEMS = [{"package": f"com.load.app{i}", "cert_md5": f"{i:032x}"} for i in range(99)] + [
    {"package": "cn.filinggate.hello", "cert_md5": "0176d8d0130a8b0d3729e7833d7cb8cc"}]


class StoreUser(HttpUser):
    wait_time = between(0.05, 0.2)

    def _upload(self, apk: pathlib.Path, name: str, expected: int) -> None:
        body, ctype = multipart(apk, {"store_app_id": f"load-{_run}-{next(_counter)}"})
        headers = {"Authorization": f"Bearer {STORE_KEY}", "Content-Type": ctype, HEADER: sign(body, STORE_SECRET)}
        with self.client.post("/api/v1/hooks/store/upload", data=body, headers=headers, name=name,
                              catch_response=True, timeout=300) as r:
            if r.status_code != expected:
                r.failure(f"{r.status_code}: {r.text[:200]}")
                return
            answer = r.json()
            if expected == 202:
                with _accepted_lock, ACCEPTED.open("a") as out:
                    out.write(answer["check_id"] + "\n")
            elif answer.get("verdict") not in ("allow", "review", "block"):
                r.failure(f"no verdict: {r.text[:200]}")

    @task(6)
    def upload_small(self) -> None:
        self._upload(SMALL_APK, "upload small (200)", 200)

    @task(1)
    def upload_real_size(self) -> None:
        self._upload(LARGE_APK, "upload real-size (202)", 202)

    @task(3)
    def listing_events(self) -> None:
        n = next(_counter)
        body = json.dumps({"events": [{"package": f"com.load.app{n % 500}", "version_code": n,
                                       "action": "listed" if n % 3 else "delisted",
                                       "at": datetime.datetime.now(datetime.UTC).isoformat()}]}).encode()
        headers = {"Authorization": f"Bearer {STORE_KEY}", "Content-Type": "application/json",
                   HEADER: sign(body, STORE_SECRET)}
        self.client.post("/api/v1/hooks/store/listings", data=body, headers=headers, name="listing events")

    @task(2)
    def preinstall(self) -> None:
        with self.client.post("/api/v1/preinstall/checks", json=PREINSTALL_ITEMS, catch_response=True,
                              headers={"Authorization": f"Bearer {OEM_KEY}"}, name="preinstall (100 items)") as r:
            if r.status_code != 200 or r.json()["summary"]["allow"] != 1:
                r.failure(f"{r.status_code}: {r.text[:200]}")
