"""The catalog: products, CSV import, the product API and its tokens."""
