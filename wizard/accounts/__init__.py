"""Accounts, users, signing in and out."""
