"""Catalog search that stays fast at a million products: a text index, keyset pages, a bounded count.

* **The text index.** SQLite: an FTS5 table with the trigram tokenizer over ``sku`` and ``title``
  (``product_search``, external content: it stores only the index), kept by triggers on ``product``.
  PostgreSQL: ``pg_trgm`` GIN indexes on ``sku`` and ``title``, used by ``ILIKE '%…%'``. Either finds a
  substring of 3 characters or more without reading every title; shorter searches fall back to ``LIKE``.
* **Keyset pages.** Pages are "the next 50 SKUs after this one" (or before it), never ``OFFSET``: page 2,000
  costs what page 1 costs.
* **A bounded count.** The count of a search stops at :data:`COUNT_CAP` ("more than 1,000"); counting every
  match of a common word would read them all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, column, func, or_, select, text
from sqlalchemy.orm import Session
from sqlmodel import col

from wizard.models.catalog import Product
from wizard.models.catalog_search import SEARCH_TABLE

PAGE_SIZE = 50
#: A search's count stops here: the page says "more than 1,000" rather than read every match.
COUNT_CAP = 1_000
#: The trigram index finds substrings of this length or more.
MIN_INDEXED = 3


def _escape_like(query: str) -> str:
    return query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def text_condition(session: Session, query: str) -> Any:
    """Return the condition "the SKU or the title contains ``query``", through the dialect's text index."""
    pattern = f"%{_escape_like(query)}%"
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return or_(col(Product.sku).ilike(pattern, escape="\\"),
                   col(Product.title).ilike(pattern, escape="\\"))
    like = or_(col(Product.sku).like(pattern, escape="\\"), col(Product.title).like(pattern, escape="\\"))
    if dialect != "sqlite" or len(query) < MIN_INDEXED:
        return like
    # A trigram phrase matches the substring anywhere, case-insensitively, in either column.
    phrase = '"' + query.replace('"', '""') + '"'
    matches = (text(f"SELECT rowid FROM {SEARCH_TABLE} WHERE {SEARCH_TABLE} MATCH :phrase")  # noqa: S608
               .bindparams(phrase=phrase).columns(column("rowid", Integer)))
    return col(Product.id).in_(matches)


@dataclass(frozen=True)
class Page:
    """One page of products in SKU order, and where the pages before and after it start."""

    products: list[Product]
    #: The SKU to continue after ("Next"), or None on the last page.
    next_after: str | None
    #: The SKU to go back before ("Previous"), or None on the first page.
    prev_before: str | None


def page_of(session: Session, conditions: list[Any], *, after: str | None = None, before: str | None = None,
            size: int = PAGE_SIZE) -> Page:
    """Return the ``size`` products matching ``conditions`` after ``after`` (or before ``before``) by SKU."""
    sku = col(Product.sku)
    query = select(Product).where(*conditions)
    if before is not None:
        found = list(session.execute(query.where(sku < before).order_by(sku.desc()).limit(size + 1))
                     .scalars())
        more_before = len(found) > size
        products = found[:size][::-1]
        return Page(products, next_after=products[-1].sku if products else None,
                    prev_before=products[0].sku if products and more_before else None)
    if after is not None:
        query = query.where(sku > after)
    found = list(session.execute(query.order_by(sku).limit(size + 1)).scalars())
    products = found[:size]
    return Page(products, next_after=products[-1].sku if len(found) > size else None,
                prev_before=products[0].sku if products and after is not None else None)


def bounded_count(session: Session, conditions: list[Any], cap: int = COUNT_CAP) -> tuple[int, bool]:
    """Return how many products match (at most ``cap``) and whether more than ``cap`` do."""
    matching = select(col(Product.id)).where(*conditions).limit(cap + 1).subquery()
    count = int(session.execute(select(func.count()).select_from(matching)).scalar_one())
    return min(count, cap), count > cap


__all__ = ["COUNT_CAP", "PAGE_SIZE", "Page", "bounded_count", "page_of", "text_condition"]
