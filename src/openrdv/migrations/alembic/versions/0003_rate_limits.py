"""The rate limits' token buckets (auth/ratelimit.py), shared by every server of one database.

A database made from now on has the table from revision 0001 (which follows the declarations until
the first release); this revision adds it to one made before.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from openrdv.crud.schema import rate_limits_table

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    rate_limits_table(sa.MetaData()).create(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    rate_limits_table(sa.MetaData()).drop(op.get_bind(), checkfirst=True)
