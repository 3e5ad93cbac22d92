"""notifications: feed, push subscriptions, preferences

Revision ID: 1c5ea5fe4f63
Revises: 7d1e2f3a4b5c
Create Date: 2026-12-05 16:39:16.206315
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "1c5ea5fe4f63"
down_revision: str | None = "7d1e2f3a4b5c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sqlmodel.sql.sqltypes.UTCDateTime
TEXT = sqlmodel.sql.sqltypes.AutoString


def _user_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f(f"fk_{table}_user_id_user"),
                                   ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", TEXT(length=32), nullable=False),
        sa.Column("title", TEXT(length=120), nullable=False),
        sa.Column("body", TEXT(length=400), nullable=False),
        sa.Column("url", TEXT(length=200), nullable=False),
        sa.Column("dedupe_key", TEXT(length=80), nullable=True),
        sa.Column("created_at", UTC_DATETIME(), nullable=False),
        sa.Column("push_after", UTC_DATETIME(), nullable=True),
        sa.Column("push_state", TEXT(length=16), nullable=False),
        sa.Column("push_attempts", sa.Integer(), nullable=False),
        sa.Column("pushed_at", UTC_DATETIME(), nullable=True),
        sa.Column("read_at", UTC_DATETIME(), nullable=True),
        _user_fk("notification"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
        sa.UniqueConstraint("user_id", "dedupe_key", name="uq_notification_dedupe"),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notification_created_at"), ["created_at"])
        batch_op.create_index(batch_op.f("ix_notification_user_id"), ["user_id"])
        batch_op.create_index("ix_notification_push_due", ["push_state", "push_after"])

    op.create_table(
        "notification_preference",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("muted_kinds", sa.JSON(), nullable=False),
        sa.Column("quiet_start", sa.Time(), nullable=True),
        sa.Column("quiet_end", sa.Time(), nullable=True),
        sa.Column("updated_at", UTC_DATETIME(), nullable=False),
        _user_fk("notification_preference"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_notification_preference")),
    )
    op.create_table(
        "push_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("endpoint", TEXT(length=1024), nullable=False),
        sa.Column("p256dh", TEXT(length=200), nullable=False),
        sa.Column("auth", TEXT(length=100), nullable=False),
        sa.Column("user_agent", TEXT(length=300), nullable=True),
        sa.Column("created_at", UTC_DATETIME(), nullable=False),
        sa.Column("last_success_at", UTC_DATETIME(), nullable=True),
        _user_fk("push_subscription"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_subscription")),
        sa.UniqueConstraint("user_id", "endpoint", name="uq_push_subscription"),
    )
    with op.batch_alter_table("push_subscription", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_push_subscription_user_id"), ["user_id"])


def downgrade() -> None:
    with op.batch_alter_table("push_subscription", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_push_subscription_user_id"))
    op.drop_table("push_subscription")
    op.drop_table("notification_preference")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_push_due")
        batch_op.drop_index(batch_op.f("ix_notification_user_id"))
        batch_op.drop_index(batch_op.f("ix_notification_created_at"))
    op.drop_table("notification")
