"""The database tables, one module per concern; importing this package registers them all."""

from __future__ import annotations

from wizard.models import catalog_search  # noqa: F401 - the text index's DDL listener
from wizard.models.accounts import Account, OAuthState, Role, User
from wizard.models.catalog import AmazonSettings, ApiToken, CatalogImport, Product, SettingsVersion
from wizard.models.catalog_removals import RemovedSku
from wizard.models.catalog_stats import CatalogHistogram, CatalogPriceHistogram
from wizard.models.connection import Connection, ConnectionStatus
from wizard.models.guard import AmazonCheck, RunHold, UrgentUpdate
from wizard.models.listing_stats import AmazonListingCount, ListingStatusCount
from wizard.models.reconcile import AmazonListing, ListingDrift, ReconcileSweep
from wizard.models.sync import (
    BatchStatus,
    FeedBatch,
    ListingState,
    ListingStatus,
    RunStatus,
    SyncRun,
    SyncTrigger,
)

__all__ = [
    "Account", "AmazonSettings", "ApiToken", "CatalogHistogram", "CatalogImport", "CatalogPriceHistogram",
    "AmazonCheck", "RunHold", "UrgentUpdate",
    "AmazonListing", "AmazonListingCount", "Connection", "ConnectionStatus", "ListingDrift",
    "ListingStatusCount", "ReconcileSweep",
    "OAuthState",
    "Product", "RemovedSku", "Role", "SettingsVersion", "User",
    "BatchStatus", "FeedBatch", "ListingState", "ListingStatus", "RunStatus", "SyncRun", "SyncTrigger",
]
