"""Serve the reference of ``bench_web.py``: a bare Flask hello-world, run by gunicorn like the product.

A module-level app is fine here: this is the yardstick, not the product.
"""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    """Say hello."""
    return "Hello, World!"
