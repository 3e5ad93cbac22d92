"""coach flags acknowledged and resolved by whom; indexes for the coach's dashboard

A flag can be acknowledged (seen, still open) and resolved, each by a coach. The dashboard
and the trends read an athlete's open flags and session logs by date: two indexes make those
reads index range scans whatever the table sizes (bench/dashboard.py).

Revision ID: b7c4d2e9f013
Revises: 9f3c1d2e7a54
Create Date: 2026-12-05 16:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "b7c4d2e9f013"
down_revision: str | None = "9f3c1d2e7a54"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("coach_flag", schema=None) as batch_op:
        batch_op.add_column(sa.Column("acknowledged_at", sqlmodel.sql.sqltypes.UTCDateTime(),
                                      nullable=True))
        batch_op.add_column(sa.Column("acknowledged_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("resolved_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_coach_flag_acknowledged_by_id_user"), "user",
                                    ["acknowledged_by_id"], ["id"], ondelete="SET NULL")
        batch_op.create_foreign_key(batch_op.f("fk_coach_flag_resolved_by_id_user"), "user",
                                    ["resolved_by_id"], ["id"], ondelete="SET NULL")
        batch_op.create_index("ix_coach_flag_athlete_id_resolved_at",
                              ["athlete_id", "resolved_at"], unique=False)
    with op.batch_alter_table("session_log", schema=None) as batch_op:
        batch_op.create_index("ix_session_log_athlete_id_session_date",
                              ["athlete_id", "session_date"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("session_log", schema=None) as batch_op:
        batch_op.drop_index("ix_session_log_athlete_id_session_date")
    with op.batch_alter_table("coach_flag", schema=None) as batch_op:
        batch_op.drop_index("ix_coach_flag_athlete_id_resolved_at")
        batch_op.drop_constraint(batch_op.f("fk_coach_flag_resolved_by_id_user"),
                                 type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_coach_flag_acknowledged_by_id_user"),
                                 type_="foreignkey")
        batch_op.drop_column("resolved_by_id")
        batch_op.drop_column("acknowledged_by_id")
        batch_op.drop_column("acknowledged_at")
