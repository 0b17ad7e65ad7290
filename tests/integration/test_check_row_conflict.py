"""A synchronous check whose check_id is already stored (an earlier attempt that failed, or the same upload racing
it) takes over that row: decided, its error cleared, pointing at the newest gate_check — one row per check_id, on
SQLite and PostgreSQL (gate.services.checks.decide_and_store, ON CONFLICT on the primary key)."""

from __future__ import annotations

from sqlalchemy import func, select, update

from tests.integration.http_support import start_gate


def test_a_failed_check_uploaded_again_is_decided_in_its_own_row(tmp_path, database_url):
    from gate.db.service_tables import ServiceCheck
    from gate.db.tables import Check

    SC, GC = ServiceCheck.__table__, Check.__table__
    g, server = start_gate(tmp_path, database_url)
    try:
        first = g.upload(metadata={"store_app_id": "S-9"})
        assert first.status_code == 200, first.text
        check_id = first.json()["check_id"]
        with g.engine.begin() as conn:  # as a worker leaves a check whose job gave up
            conn.execute(update(SC).where(SC.c.check_id == check_id).values(status="failed", error="boom",
                                                                            verdict=None))
        again = g.upload(metadata={"store_app_id": "S-9"})
        assert again.status_code == 200, again.text
        assert again.json()["check_id"] == check_id and again.json()["verdict"] == first.json()["verdict"]
        with g.engine.connect() as conn:
            rows = conn.execute(select(SC).where(SC.c.check_id == check_id)).all()
            newest = conn.execute(select(func.max(GC.c.id))).scalar_one()
            checks = conn.execute(select(func.count()).select_from(GC)).scalar_one()
        assert len(rows) == 1 and checks == 2
        row = rows[0]
        assert (row.status, row.error, row.verdict, row.gate_check_id) == ("done", None, first.json()["verdict"],
                                                                           newest)
        # A third upload of a done check is answered from it: no new row, the same id.
        third = g.upload(metadata={"store_app_id": "S-9"})
        assert third.status_code == 200 and third.json()["check_id"] == check_id
        with g.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(SC)).scalar_one() == 1
    finally:
        server.shutdown()
        g.engine.dispose()
