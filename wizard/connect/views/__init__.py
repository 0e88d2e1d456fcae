"""The connect flow's routes, one blueprint ``connect`` split by step.

- ``steps``: 1 Prerequisites, 2 Grant Access, 3 Verify Seller ID;
- ``callback``: the OAuth redirect URI and Amazon's Login URI;
- ``connection``: the integration page, re-authorize, confirm a different seller, disconnect.
"""

from __future__ import annotations

from wizard.connect.views import callback, connection, steps
from wizard.connect.views.common import bp

__all__ = ["bp", "callback", "connection", "steps"]
