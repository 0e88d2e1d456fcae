"""The merchant's catalog, the Amazon inventory and pricing settings, their history, and API tokens.

Times are naive UTC (``NaiveDatetime``): SQLModel maps a plain ``datetime`` to a column refusing naive values.
"""

from __future__ import annotations

from pydantic import NaiveDatetime
from sqlalchemy import Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from wizard.models.base import utcnow

#: Amazon seller SKUs are at most 40 characters (Seller Central's limit; the feed schema says minLength 1).
SKU_MAX_LENGTH = 40
TITLE_MAX_LENGTH = 500


class Product(SQLModel, table=True):
    """One product of the merchant's catalog: what we have, before the rules decide what Amazon shows."""

    __table_args__ = (
        UniqueConstraint("account_id", "sku", name="uq_product_account_sku"),
        # Covering index: the impact preview's SUM(CASE ...) aggregates and the catalog's outcome filters read
        # only these three columns, so SQLite scans the index and never touches the table.
        Index("ix_product_account_available_price", "account_id", "available", "price_cents"),
        # The catalog page walks SKUs in order and filters by outcome: covering that walk too keeps a rare
        # filter fast (no table lookup per skipped row).
        Index("ix_product_account_sku_stock", "account_id", "sku", "available", "price_cents"),
        # The urgent lane reads the products changed lately (oldest first); a sync asks whether any of them
        # waits for the lane. Without it SQLite read every product of the account (2.45 s of a 1M delta).
        Index("ix_product_account_updated", "account_id", "updated_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    sku: str = Field(max_length=SKU_MAX_LENGTH)
    title: str = Field(default="", max_length=TITLE_MAX_LENGTH)
    #: Units available to sell, never negative.
    available: int = Field(default=0, ge=0)
    #: The merchant's price in USD cents, never negative.
    price_cents: int = Field(default=0, ge=0)
    updated_at: NaiveDatetime = Field(default_factory=utcnow)


class AmazonSettings(SQLModel, table=True):
    """One per account. Disconnecting or re-authorizing Amazon never touches this row (the guide says so)."""

    __tablename__ = "amazon_settings"

    account_id: int = Field(foreign_key="account.id", primary_key=True)
    #: A gate: a product is in stock on Amazon only with at least this many units available.
    inventory_buffer: int = Field(default=0, ge=0)
    #: A cap: at most this many units are advertised once past the gate; None means no cap.
    inventory_ceiling: int | None = Field(default=None, ge=0)
    #: Products priced below this are kept off Amazon (quantity 0, no price), even with pricing disabled.
    min_price_cents: int = Field(default=0, ge=0)
    #: Never send prices (a repricing tool sets them); inventory is still sent.
    disable_pricing: bool = False
    #: None until the merchant saved once; the wizard's step 4 is done when set.
    saved_at: NaiveDatetime | None = None
    saved_by_user_id: int | None = Field(default=None, foreign_key="user.id")


class SettingsVersion(SQLModel, table=True):
    """One saved change of the settings: who, when, before and after, and what the preview said then."""

    __tablename__ = "settings_version"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    user_id: int | None = Field(default=None, foreign_key="user.id")
    #: JSON of the four settings (``wizard.rules.Rules.as_dict``); ``before`` is null for the first save.
    before: str | None = None
    after: str
    #: JSON of the impact preview's summary at save time.
    preview_summary: str = "{}"
    #: Set when this version was made by restoring an earlier one.
    restored_from_id: int | None = Field(default=None, foreign_key="settings_version.id")


class ApiToken(SQLModel, table=True):
    """A per-account token for the JSON API. Only its SHA-256 hash is stored; the value is shown once."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    #: The first characters of the token, shown so people can tell tokens apart.
    prefix: str = Field(max_length=16)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    created_by_user_id: int | None = Field(default=None, foreign_key="user.id")
    revoked_at: NaiveDatetime | None = None
    last_used_at: NaiveDatetime | None = None


class CatalogImport(SQLModel, table=True):
    """One CSV import: its progress (polled by the page) and its bad rows."""

    __tablename__ = "catalog_import"
    __table_args__ = (
        # One running import per account, enforced by the database: two uploads at the same moment cannot
        # both start (the second insert fails and the merchant is told to wait).
        Index("uq_catalog_import_one_running", "account_id", unique=True,
              sqlite_where=text("status = 'running'"), postgresql_where=text("status = 'running'")),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    user_id: int | None = Field(default=None, foreign_key="user.id")
    filename: str = Field(default="", max_length=255)
    #: "running", "done" or "failed".
    status: str = Field(default="running", max_length=20)
    #: Data lines in the file (known before the rows are written), and how far the import got.
    total_rows: int = 0
    processed_rows: int = 0
    written_rows: int = 0
    error_count: int = 0
    #: JSON list of {"line", "sku", "reason"} for the first bad rows (the count above has them all).
    errors_json: str = "[]"
    #: Why the whole file was refused (bad header, not UTF-8...), for the merchant.
    message: str | None = Field(default=None, max_length=1000)
    started_at: NaiveDatetime = Field(default_factory=utcnow)
    updated_at: NaiveDatetime = Field(default_factory=utcnow)
    finished_at: NaiveDatetime | None = None
