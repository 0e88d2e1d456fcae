"""Connecting an Ecommerce account to Amazon: the wizard's steps 1 to 3 and the Amazon integration page."""
