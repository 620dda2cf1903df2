"""auth failures for the login throttle

Revision ID: 3c1d2e9f7a40
Revises: fffdf8e0f6b2
Create Date: 2026-12-03 07:20:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '3c1d2e9f7a40'
down_revision = 'fffdf8e0f6b2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('auth_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auth_failures'))
    )
    with op.batch_alter_table('auth_failures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_auth_failures_at'), ['at'], unique=False)
        batch_op.create_index('ix_auth_failures_scope_key_at', ['scope', 'key', 'at'], unique=False)


def downgrade():
    with op.batch_alter_table('auth_failures', schema=None) as batch_op:
        batch_op.drop_index('ix_auth_failures_scope_key_at')
        batch_op.drop_index(batch_op.f('ix_auth_failures_at'))

    op.drop_table('auth_failures')
