"""The home page: the merchant's Amazon dashboard."""
