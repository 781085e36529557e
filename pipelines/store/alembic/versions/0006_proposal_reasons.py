"""A proposed anchor says why it has its type and whether it is the world's, not the book's."""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    with op.batch_alter_table("anchor_proposals") as batch:
        batch.add_column(sa.Column("reason", sa.String(300), nullable=False, server_default=""))
        batch.add_column(
            sa.Column("world", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("anchor_proposals") as batch:
        batch.drop_column("world")
        batch.drop_column("reason")
