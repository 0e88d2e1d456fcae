"""Reconcile: read back what Amazon really shows per SKU and use it (drift, unmatched SKUs, issues)."""
