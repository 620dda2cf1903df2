"""pipeline checks: each user's last dry run through the webhook

Revision ID: b7d2c4e19a05
Revises: b7e2c4d91a03
Create Date: 2026-12-03 07:10:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b7d2c4e19a05'
down_revision = 'b7e2c4d91a03'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('pipeline_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.Column('demo', sa.Boolean(), nullable=False),
    sa.Column('steps', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_pipeline_checks_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pipeline_checks')),
    sa.UniqueConstraint('user_id', name=op.f('uq_pipeline_checks_user_id'))
    )
    with op.batch_alter_table('pipeline_checks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pipeline_checks_checked_at'), ['checked_at'], unique=False)


def downgrade():
    with op.batch_alter_table('pipeline_checks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pipeline_checks_checked_at'))

    op.drop_table('pipeline_checks')
