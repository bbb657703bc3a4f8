"""The initial schema, derived from the resource declarations.

Until the first release the schema still moves with the declarations and this revision follows it;
from the first release on, every change gets a revision of its own.

Revision ID: 0001
Revises:
"""

from alembic import op

from openrdv.crud.schema import build_metadata, dialect_extras
from openrdv.registry import RESOURCES

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    build_metadata(RESOURCES.values()).create_all(bind)
    for statement in dialect_extras(RESOURCES.values(), bind.dialect.name):
        op.execute(statement)


def downgrade() -> None:
    build_metadata(RESOURCES.values()).drop_all(op.get_bind())
