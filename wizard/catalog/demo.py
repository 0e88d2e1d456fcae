"""A realistic demo catalog for ``make run``: 3,000 outdoor products, the same every time (fixed seed).

Quantities spread from 0 to 200 with many small stocks (so buffer changes visibly move listings in and out of
stock) and prices from $1 to $300 (so a minimum price threshold has something to keep off Amazon).
"""

from __future__ import annotations

import random

from sqlalchemy import func, select
from sqlmodel import Session, col

from wizard.catalog.importer import Row, write_rows
from wizard.models import Account, Product

DEMO_PRODUCTS = 3_000
SEED = 20_261_127

_KINDS = [
    ("TENT", "tent", (8_900, 29_900)),
    ("BAG", "sleeping bag", (4_900, 24_900)),
    ("PACK", "backpack", (3_900, 19_900)),
    ("LAMP", "lantern", (1_500, 6_900)),
    ("STOVE", "camp stove", (2_900, 14_900)),
    ("MUG", "enamel mug", (100, 1_900)),
    ("SOCK", "wool socks", (499, 2_499)),
    ("ROPE", "paracord", (199, 1_499)),
    ("KNIFE", "pocket knife", (999, 8_900)),
    ("BOTTLE", "water bottle", (799, 3_999)),
    ("CHAIR", "camp chair", (2_499, 11_900)),
    ("MAP", "trail map", (100, 1_200)),
]
_ADJECTIVES = [
    "Trail",
    "Summit",
    "Ridge",
    "Canyon",
    "Alpine",
    "River",
    "Forest",
    "Desert",
    "Glacier",
    "Prairie",
]
_COLORS = ["Olive", "Slate", "Rust", "Sand", "Navy", "Charcoal", "Sage", "Ember"]


def demo_rows(count: int = DEMO_PRODUCTS, seed: int = SEED) -> list[Row]:
    """Return the demo products, identical for the same ``count`` and ``seed``."""
    rnd = random.Random(seed)  # noqa: S311 - demo data, not security
    rows = []
    for i in range(count):
        code, noun, (low, high) = _KINDS[i % len(_KINDS)]
        # Many products sit near typical buffers (0-10 units), a tail reaches 200.
        roll = rnd.random()
        if roll < 0.12:
            available = 0
        elif roll < 0.55:
            available = rnd.randint(1, 10)
        elif roll < 0.85:
            available = rnd.randint(11, 60)
        else:
            available = rnd.randint(61, 200)
        price = max(100, min(30_000, rnd.randint(low, high) // 100 * 100 - 1))
        title = f"{rnd.choice(_ADJECTIVES)} {noun}, {rnd.choice(_COLORS).lower()}"
        rows.append(Row(f"{code}-{i + 1:05d}", title, available, price))
    return rows


def load_catalog(session: Session, account: Account) -> int:
    """Give ``account`` the demo catalog unless it already has products; return how many were added."""
    assert account.id is not None
    existing = session.execute(
        select(func.count()).select_from(Product).where(col(Product.account_id) == account.id)
    ).scalar_one()
    if existing:
        return 0
    connection = session.connection()
    written = write_rows(connection, account.id, demo_rows())
    session.commit()
    return written
