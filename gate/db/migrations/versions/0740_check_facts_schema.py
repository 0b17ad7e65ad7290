"""The shape of a check's stored facts (gate.extract.facts.FACTS_SCHEMA), so that a decision taken again from them
(a review, a filing change, a repeated upload) knows whether they were read by an older gate.

Rows already stored keep NULL: they were written by whichever gate version ran then (``gate_version``), and many lack
fields added since (``filing_numbers`` before step 9, ``protection``, ``pairing``). Writing 1 into them would claim
a shape they may not have; ``stored_schema`` tells from each row's JSON when it is needed, and no multi-million-row
update runs at upgrade.

Revision ID: 0740_check_facts_schema
Revises: 0730_audit_by_actor
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0740_check_facts_schema"
down_revision = "0730_audit_by_actor"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("gate_check", sa.Column("facts_schema", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("gate_check", "facts_schema")
