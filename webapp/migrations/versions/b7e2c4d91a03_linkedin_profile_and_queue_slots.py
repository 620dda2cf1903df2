"""the LinkedIn profile for the preview, and the posting queue's weekly slots

Revision ID: b7e2c4d91a03
Revises: fffdf8e0f6b2
Create Date: 2026-12-03 07:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b7e2c4d91a03'
down_revision = 'fffdf8e0f6b2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('linkedin_connections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('display_name', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('picture_url', sa.String(length=2048), nullable=True))


def downgrade():
    with op.batch_alter_table('linkedin_connections', schema=None) as batch_op:
        batch_op.drop_column('picture_url')
        batch_op.drop_column('display_name')
