"""the LinkedIn profile for the preview, and the posting queue's weekly slots

Revision ID: b7e2c4d91a03
Revises: 3c1d2e9f7a40
Create Date: 2026-12-03 07:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b7e2c4d91a03'
down_revision = '3c1d2e9f7a40'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('linkedin_connections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('display_name', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('picture_url', sa.String(length=2048), nullable=True))
    op.create_table('queue_slots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=False),
    sa.Column('at', sa.Time(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('weekday BETWEEN 0 AND 6', name=op.f('ck_queue_slots_weekday_known')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_queue_slots_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_queue_slots')),
    sa.UniqueConstraint('user_id', 'weekday', 'at', name=op.f('uq_queue_slots_user_id'))
    )
    with op.batch_alter_table('queue_slots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_queue_slots_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('queue_slots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_queue_slots_user_id'))
    op.drop_table('queue_slots')
    with op.batch_alter_table('linkedin_connections', schema=None) as batch_op:
        batch_op.drop_column('picture_url')
        batch_op.drop_column('display_name')
