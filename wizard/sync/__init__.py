"""The sync: planning, the run ledger, and the Sync page."""
