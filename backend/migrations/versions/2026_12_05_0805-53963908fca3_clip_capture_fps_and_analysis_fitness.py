"""clip capture fps and analysis fitness

The real capture rate of a slow-motion clip (``clip.capture_fps``), and the analysis's verdict
on each clip as columns of its report (fit, the reasons it is unfit, advice on filming again,
slow motion, whether the capture rate is needed). Existing reports get theirs from their JSON.

Revision ID: 53963908fca3
Revises: 63ce0cf76887
Create Date: 2026-12-05 08:05:13.228946
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "53963908fca3"
down_revision: str | None = "63ce0cf76887"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_reports = sa.table(
    "analysis_report",
    sa.column("id", sa.Integer()),
    sa.column("report", sa.JSON()),
    sa.column("fit", sa.Boolean()),
    sa.column("unfit_reasons", sa.JSON()),
    sa.column("advice", sa.JSON()),
    sa.column("slow_motion", sa.Boolean()),
    sa.column("needs_capture_fps", sa.Boolean()),
)


def _texts(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, str)]


def _verdict(report: Any) -> dict[str, Any]:
    """What backend.clips.service.save_analysis writes, from a stored report."""
    quality = report.get("clip_quality") if isinstance(report, dict) else None
    quality = quality if isinstance(quality, dict) else {}
    fit = quality.get("fit") is not False
    slow = quality.get("slow_motion")
    return {"fit": fit, "unfit_reasons": [] if fit else _texts(quality.get("reasons")),
            "advice": _texts(quality.get("advice")),
            "slow_motion": slow if isinstance(slow, bool) else None,
            "needs_capture_fps": quality.get("needs_capture_fps") is True}


def upgrade() -> None:
    with op.batch_alter_table("clip", schema=None) as batch_op:
        batch_op.add_column(sa.Column("capture_fps", sa.Float(), nullable=True))

    # Nullable first, filled from each report's JSON, then required.
    with op.batch_alter_table("analysis_report", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fit", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("unfit_reasons", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("advice", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("slow_motion", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("needs_capture_fps", sa.Boolean(), nullable=True))
    conn = op.get_bind()
    for row_id, report in conn.execute(sa.select(_reports.c.id, _reports.c.report)).all():
        conn.execute(_reports.update().where(_reports.c.id == row_id)
                     .values(**_verdict(report)))
    with op.batch_alter_table("analysis_report", schema=None) as batch_op:
        for name, kind in (("fit", sa.Boolean()), ("unfit_reasons", sa.JSON()),
                           ("advice", sa.JSON()), ("needs_capture_fps", sa.Boolean())):
            batch_op.alter_column(name, existing_type=kind, nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("analysis_report", schema=None) as batch_op:
        batch_op.drop_column("needs_capture_fps")
        batch_op.drop_column("slow_motion")
        batch_op.drop_column("advice")
        batch_op.drop_column("unfit_reasons")
        batch_op.drop_column("fit")

    with op.batch_alter_table("clip", schema=None) as batch_op:
        batch_op.drop_column("capture_fps")
