"""Initial schema: accounts and users, the Amazon connection, catalog and settings, sync runs.

Revision ID: 0001
Revises:
Create Date: 2026-11-27 09:35:40.379129
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("prerequisites_acknowledged_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "product",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("sku", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("available", sa.Integer(), nullable=False),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "sku", name="uq_product_account_sku"),
    )
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.create_index(
            "ix_product_account_available_price", ["account_id", "available", "price_cents"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_product_account_id"), ["account_id"], unique=False)
        batch_op.create_index(
            "ix_product_account_sku_stock", ["account_id", "sku", "available", "price_cents"], unique=False
        )

    op.create_table(
        "sync_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.Enum("CRON", "MANUAL", "CHANGE", name="synctrigger"), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "QUEUED",
                "PLANNING",
                "SUBMITTING",
                "PROCESSING",
                "DONE",
                "FAILED",
                "STOPPED",
                name="runstatus",
            ),
            nullable=False,
        ),
        sa.Column("changed_count", sa.Integer(), nullable=False),
        sa.Column("sent_count", sa.Integer(), nullable=False),
        sa.Column("accepted_count", sa.Integer(), nullable=False),
        sa.Column("rejected_count", sa.Integer(), nullable=False),
        sa.Column("batches_total", sa.Integer(), nullable=False),
        sa.Column("batches_submitted", sa.Integer(), nullable=False),
        sa.Column("batches_processed", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("planned_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("polls", sa.Integer(), nullable=False),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("error_code", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sync_run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sync_run_account_id"), ["account_id"], unique=False)
        batch_op.create_index("ix_sync_run_account_status", ["account_id", "status"], unique=False)

    op.create_table(
        "user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("role", sa.Enum("ADMIN", "MANAGER", "STAFF", name="role"), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_user_email"), ["email"], unique=True)

    op.create_table(
        "amazon_settings",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("inventory_buffer", sa.Integer(), nullable=False),
        sa.Column("inventory_ceiling", sa.Integer(), nullable=True),
        sa.Column("min_price_cents", sa.Integer(), nullable=False),
        sa.Column("disable_pricing", sa.Boolean(), nullable=False),
        sa.Column("saved_at", sa.DateTime(), nullable=True),
        sa.Column("saved_by_user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["saved_by_user_id"],
            ["user.id"],
        ),
        sa.PrimaryKeyConstraint("account_id"),
    )
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("prefix", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_token_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_api_token_token_hash"), ["token_hash"], unique=True)

    op.create_table(
        "catalog_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("filename", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("processed_rows", sa.Integer(), nullable=False),
        sa.Column("written_rows", sa.Integer(), nullable=False),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("errors_json", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("message", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("catalog_import", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_catalog_import_account_id"), ["account_id"], unique=False)

    op.create_table(
        "connection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("NOT_CONNECTED", "CONNECTED", "NEEDS_REAUTHORIZATION", "ERROR", name="connectionstatus"),
            nullable=False,
        ),
        sa.Column("selling_partner_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("refresh_token_encrypted", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("authorized_at", sa.DateTime(), nullable=True),
        sa.Column("authorized_by_user_id", sa.Integer(), nullable=True),
        sa.Column("store_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("selling_plan", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("us_participating", sa.Boolean(), nullable=True),
        sa.Column("verified_at", sa.DateTime(), nullable=True),
        sa.Column("pending_selling_partner_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("pending_refresh_token_encrypted", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("last_error_code", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.Column("last_error_message", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["authorized_by_user_id"],
            ["user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("connection", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_connection_account_id"), ["account_id"], unique=True)
        batch_op.create_index(
            batch_op.f("ix_connection_selling_partner_id"), ["selling_partner_id"], unique=True
        )

    op.create_table(
        "feed_batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "PLANNED",
                "UPLOADED",
                "SUBMITTING",
                "SUBMITTED",
                "DONE",
                "FATAL",
                "CANCELLED",
                name="batchstatus",
            ),
            nullable=False,
        ),
        sa.Column("message_count", sa.Integer(), nullable=False),
        sa.Column("content_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("feed_document_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("feed_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("result_document_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(), nullable=True),
        sa.Column("submitting_at", sa.DateTime(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(), nullable=True),
        sa.Column("processed_at", sa.DateTime(), nullable=True),
        sa.Column("next_poll_at", sa.DateTime(), nullable=True),
        sa.Column("accepted_count", sa.Integer(), nullable=False),
        sa.Column("rejected_count", sa.Integer(), nullable=False),
        sa.Column("result_summary", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["sync_run.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "seq", name="uq_feed_batch_run_seq"),
    )
    with op.batch_alter_table("feed_batch", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feed_batch_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_feed_batch_feed_id"), ["feed_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_feed_batch_run_id"), ["run_id"], unique=False)

    op.create_table(
        "oauthstate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("mode", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("expected_selling_partner_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("oauthstate", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oauthstate_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_oauthstate_state_hash"), ["state_hash"], unique=True)

    op.create_table(
        "settings_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("before", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("after", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("preview_summary", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("restored_from_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["restored_from_id"],
            ["settings_version.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("settings_version", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_settings_version_account_id"), ["account_id"], unique=False)

    op.create_table(
        "listing_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("sku", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("accepted_quantity", sa.Integer(), nullable=True),
        sa.Column("accepted_price_cents", sa.Integer(), nullable=True),
        sa.Column("accepted_at", sa.DateTime(), nullable=True),
        sa.Column("sent_quantity", sa.Integer(), nullable=True),
        sa.Column("sent_price_cents", sa.Integer(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("status", sa.Enum("PENDING", "ACCEPTED", "REJECTED", name="listingstatus"), nullable=False),
        sa.Column("error_code", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.Column("error_message", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("inflight_batch_id", sa.Integer(), nullable=True),
        sa.Column("inflight_message_id", sa.Integer(), nullable=True),
        sa.Column("inflight_quantity", sa.Integer(), nullable=True),
        sa.Column("inflight_price_cents", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["inflight_batch_id"],
            ["feed_batch.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "sku", name="uq_listing_state_account_sku"),
    )
    with op.batch_alter_table("listing_state", schema=None) as batch_op:
        batch_op.create_index(
            "ix_listing_state_inflight", ["inflight_batch_id", "inflight_message_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("listing_state", schema=None) as batch_op:
        batch_op.drop_index("ix_listing_state_inflight")

    op.drop_table("listing_state")
    with op.batch_alter_table("settings_version", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_settings_version_account_id"))

    op.drop_table("settings_version")
    with op.batch_alter_table("oauthstate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauthstate_state_hash"))
        batch_op.drop_index(batch_op.f("ix_oauthstate_account_id"))

    op.drop_table("oauthstate")
    with op.batch_alter_table("feed_batch", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feed_batch_run_id"))
        batch_op.drop_index(batch_op.f("ix_feed_batch_feed_id"))
        batch_op.drop_index(batch_op.f("ix_feed_batch_account_id"))

    op.drop_table("feed_batch")
    with op.batch_alter_table("connection", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_connection_selling_partner_id"))
        batch_op.drop_index(batch_op.f("ix_connection_account_id"))

    op.drop_table("connection")
    with op.batch_alter_table("catalog_import", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_import_account_id"))

    op.drop_table("catalog_import")
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_token_token_hash"))
        batch_op.drop_index(batch_op.f("ix_api_token_account_id"))

    op.drop_table("api_token")
    op.drop_table("amazon_settings")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_email"))
        batch_op.drop_index(batch_op.f("ix_user_account_id"))

    op.drop_table("user")
    with op.batch_alter_table("sync_run", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_run_account_status")
        batch_op.drop_index(batch_op.f("ix_sync_run_account_id"))

    op.drop_table("sync_run")
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.drop_index("ix_product_account_sku_stock")
        batch_op.drop_index(batch_op.f("ix_product_account_id"))
        batch_op.drop_index("ix_product_account_available_price")

    op.drop_table("product")
    op.drop_table("account")
