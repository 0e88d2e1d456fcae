"""Merchant wording used in more than one place, written once (templates read it as Jinja globals)."""

from __future__ import annotations

#: The guide's sentence on how long changes take to reach Amazon (Settings > Amazon), word for word.
REACHES_AMAZON = ("Ecommerce sends inventory and pricing updates to Amazon in batches. Most changes "
                  "appear within 15 to 30 minutes, but it can occasionally take up to a few hours during "
                  "peak periods.")

#: What templates may use: ``{{ wording.REACHES_AMAZON }}``.
TEMPLATE_GLOBALS = {"REACHES_AMAZON": REACHES_AMAZON}
