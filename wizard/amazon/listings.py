"""The Listings Items API 2021-08-01: read listings back, look SKUs up, patch one listing.

Plain values in, small frozen dataclasses out; every call goes through ``AmazonClient.call`` (LWA token,
the seller's rate bucket per operation in Redis, retries, typed errors). Amazon facts: FACTS.md §g and §i and
``listingsItems_2021-08-01.json``:

- ``searchListingsItems`` pages 20 items at most, and "the maximum number of items (SKUs) that can be
  returned and paged through is 1000": :meth:`ListingsApi.search_all` stops there and says so
  (``SearchPage.capped``); narrow the search (a ``lastUpdatedAfter`` window) when ``number_of_results``
  is over 1,000;
- ``identifiers`` takes up to 20 SKUs with ``identifiersType=SKU`` (:meth:`ListingsApi.lookup`);
- a path names the seller: a token of another seller gets 403 (:meth:`ListingsApi.confirm_seller`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from wizard.amazon.client import US_MARKETPLACE_ID, quote_sku
from wizard.amazon.errors import AmazonRequestError

if TYPE_CHECKING:
    from wizard.amazon.client import AmazonClient, SellerAuth

ITEMS = "/listings/2021-08-01/items"
#: searchListingsItems: at most 20 a page, 20 identifiers a call, 1,000 items paged through in all.
MAX_PAGE_SIZE = 20
MAX_IDENTIFIERS = 20
SEARCH_CAP = 1000
#: What a reconcile needs to compare with what we sent (FACTS.md §i).
RECONCILE_DATA = ("summaries", "offers", "fulfillmentAvailability", "issues")
#: Validation previews also count against 20 rps per application, whichever seller (FACTS.md §g): the
#: limiter keeps that bucket under this pseudo seller.
APPLICATION = "*application*"
PREVIEW_BUCKET = "patchListingsItem:VALIDATION_PREVIEW"


@dataclass(frozen=True)
class ListingIssue:
    """One of Amazon's issues on a listing (``Issue`` of the model)."""

    code: str
    message: str
    severity: str
    attribute_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class ListingItem:
    """What Amazon shows for one SKU in the US marketplace, reduced to plain values.

    ``quantity`` is the merchant-fulfilled (DEFAULT) quantity and ``price_cents`` the offer price for every
    buyer, each from whichever of ``fulfillmentAvailability`` / ``offers`` / ``attributes`` was included.
    ``purchasable_offer`` is the US ``ALL`` offer exactly as the attributes hold it (with
    ``discounted_price`` and the min/max prices), when ``attributes`` was included.
    """

    sku: str
    asin: str | None = None
    item_name: str | None = None
    status: tuple[str, ...] = ()
    created: datetime | None = None
    last_updated: datetime | None = None
    quantity: int | None = None
    price_cents: int | None = None
    issues: tuple[ListingIssue, ...] = ()
    purchasable_offer: dict[str, Any] | None = field(default=None, compare=False)
    attributes: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def buyable(self) -> bool:
        """Return whether shoppers can buy it (``BUYABLE``)."""
        return "BUYABLE" in self.status

    @property
    def errors(self) -> tuple[ListingIssue, ...]:
        """Return the ERROR issues."""
        return tuple(i for i in self.issues if i.severity == "ERROR")


@dataclass(frozen=True)
class SearchPage:
    """One page of ``searchListingsItems``."""

    items: list[ListingItem]
    number_of_results: int
    next_token: str | None

    @property
    def capped(self) -> bool:
        """Return whether more items match than Amazon lets a search page through (1,000)."""
        return self.number_of_results > SEARCH_CAP


@dataclass(frozen=True)
class Submission:
    """Amazon's answer to ``patchListingsItem``: ACCEPTED, INVALID, or VALID (a validation preview)."""

    sku: str
    status: str
    submission_id: str
    issues: tuple[ListingIssue, ...] = ()

    @property
    def accepted(self) -> bool:
        """Return whether Amazon took the patch (ACCEPTED) or would take it (VALID)."""
        return self.status in ("ACCEPTED", "VALID")


def parse_time(raw: Any) -> datetime | None:
    """Parse Amazon's ISO 8601 time into a naive UTC datetime (how the project stores times)."""
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is None else parsed.astimezone(UTC).replace(tzinfo=None)


def iso_z(moment: datetime) -> str:
    """Format a (naive UTC or aware) time as ISO 8601 with ``Z``, milliseconds included."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def cents(raw: Any) -> int | None:
    """Return a money amount (``"19.99"`` or ``19.99``) as integer cents, None when it is not one."""
    if raw is None or isinstance(raw, bool):
        return None
    if isinstance(raw, str):
        # The common "12.34" without Decimal (a million-row listings report has one per row).
        whole, dot, part = raw.partition(".")
        if whole.isascii() and whole.isdigit() and (not dot or (part.isascii() and part.isdigit()
                                                              and len(part) <= 2)):
            return int(whole) * 100 + (int(part.ljust(2, "0")) if dot else 0)
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    return int((value * 100).to_integral_value())


def _issue(raw: dict[str, Any]) -> ListingIssue:
    return ListingIssue(code=str(raw.get("code", "")), message=str(raw.get("message", "")),
                        severity=str(raw.get("severity", "")),
                        attribute_names=tuple(raw.get("attributeNames") or ()),
                        categories=tuple(raw.get("categories") or ()))


def us_offer(attributes: dict[str, Any] | None) -> dict[str, Any] | None:
    """Return the ``purchasable_offer`` entry for Amazon.com, USD, every buyer, if the attributes have it."""
    for offer in (attributes or {}).get("purchasable_offer") or []:
        if (isinstance(offer, dict) and offer.get("marketplace_id") == US_MARKETPLACE_ID
                and offer.get("currency") == "USD" and offer.get("audience", "ALL") == "ALL"):
            return offer
    return None


def _offer_price(offer: dict[str, Any] | None) -> int | None:
    try:
        return cents((offer or {})["our_price"][0]["schedule"][0]["value_with_tax"])
    except (KeyError, IndexError, TypeError):
        return None


def item_from(raw: dict[str, Any]) -> ListingItem:
    """Turn an ``Item`` of the model into a :class:`ListingItem`."""
    summary: dict[str, Any] = next(
        (s for s in raw.get("summaries") or [] if s.get("marketplaceId") == US_MARKETPLACE_ID), {})
    attributes = raw.get("attributes")
    offer = us_offer(attributes)
    quantity: int | None = None
    for entry in raw.get("fulfillmentAvailability") or []:
        if entry.get("fulfillmentChannelCode") == "DEFAULT":
            quantity = entry.get("quantity")
    if quantity is None:
        for entry in (attributes or {}).get("fulfillment_availability") or []:
            if isinstance(entry, dict) and entry.get("fulfillment_channel_code") == "DEFAULT":
                quantity = entry.get("quantity")
    price: int | None = None
    for entry in raw.get("offers") or []:
        audience = (entry.get("audience") or {}).get("value", "ALL")
        if entry.get("marketplaceId") == US_MARKETPLACE_ID and entry.get("offerType") == "B2C" \
                and audience == "ALL":
            price = cents((entry.get("price") or {}).get("amount"))
    if price is None:
        price = _offer_price(offer)
    return ListingItem(
        sku=str(raw["sku"]), asin=summary.get("asin"), item_name=summary.get("itemName"),
        status=tuple(summary.get("status") or ()), created=parse_time(summary.get("createdDate")),
        last_updated=parse_time(summary.get("lastUpdatedDate")),
        quantity=quantity if isinstance(quantity, int) else None, price_cents=price,
        issues=tuple(_issue(i) for i in raw.get("issues") or []), purchasable_offer=offer,
        attributes=attributes,
    )


class ListingsApi:
    """The Listings Items API operations the sync, the reconcile and the OAuth callback need."""

    def __init__(self, client: AmazonClient) -> None:
        self.client = client

    def get_item(self, seller: SellerAuth, sku: str, *,
                 included: Sequence[str] = ("summaries", "attributes", "issues", "offers",
                                            "fulfillmentAvailability")) -> ListingItem | None:
        """Return one listing (``getListingsItem``), or None when Amazon has no listing for the SKU."""
        try:
            body = self.client.call(seller, "getListingsItem", "GET",
                                    f"{ITEMS}/{seller.selling_partner_id}/{quote_sku(sku)}",
                                    params={"marketplaceIds": US_MARKETPLACE_ID,
                                            "includedData": ",".join(included)}).json()
        except AmazonRequestError as exc:
            if exc.status == 404:
                return None
            raise
        return item_from(body)

    def search(self, seller: SellerAuth, *, identifiers: Sequence[str] | None = None,
               last_updated_after: datetime | None = None, last_updated_before: datetime | None = None,
               with_issue_severity: Sequence[str] | None = None, sort_by: str = "lastUpdatedDate",
               sort_order: str = "DESC", page_size: int = MAX_PAGE_SIZE, page_token: str | None = None,
               included: Sequence[str] = RECONCILE_DATA) -> SearchPage:
        """Return one page of ``searchListingsItems``: SKUs by ``identifiers`` (≤ 20), or filters."""
        if identifiers is not None and not 0 < len(identifiers) <= MAX_IDENTIFIERS:
            raise ValueError(f"identifiers takes 1 to {MAX_IDENTIFIERS} SKUs, not {len(identifiers)}")
        params: dict[str, Any] = {"marketplaceIds": US_MARKETPLACE_ID, "includedData": ",".join(included),
                                  "pageSize": min(page_size, MAX_PAGE_SIZE), "sortBy": sort_by,
                                  "sortOrder": sort_order}
        if identifiers:
            params.update(identifiers=",".join(identifiers), identifiersType="SKU")
        if last_updated_after is not None:
            params["lastUpdatedAfter"] = iso_z(last_updated_after)
        if last_updated_before is not None:
            params["lastUpdatedBefore"] = iso_z(last_updated_before)
        if with_issue_severity:
            params["withIssueSeverity"] = ",".join(with_issue_severity)
        if page_token:
            params["pageToken"] = page_token
        body = self.client.call(seller, "searchListingsItems", "GET", f"{ITEMS}/{seller.selling_partner_id}",
                                params=params).json()
        return SearchPage(items=[item_from(i) for i in body.get("items") or []],
                          number_of_results=int(body.get("numberOfResults") or 0),
                          next_token=(body.get("pagination") or {}).get("nextToken"))

    def search_all(self, seller: SellerAuth, **criteria: Any) -> Iterator[ListingItem]:
        """Yield every item a search pages through (1,000 at most: Amazon stops there)."""
        token: str | None = None
        while True:
            page = self.search(seller, page_token=token, **criteria)
            yield from page.items
            token = page.next_token
            if not token:
                return

    def lookup(self, seller: SellerAuth, skus: Iterable[str], *,
               included: Sequence[str] = RECONCILE_DATA) -> dict[str, ListingItem]:
        """Return Amazon's listings for ``skus``, 20 a call; a SKU Amazon does not hold is absent."""
        found: dict[str, ListingItem] = {}
        batch: list[str] = []
        for sku in dict.fromkeys(skus):
            batch.append(sku)
            if len(batch) == MAX_IDENTIFIERS:
                found.update(self._lookup_batch(seller, batch, included))
                batch = []
        if batch:
            found.update(self._lookup_batch(seller, batch, included))
        return found

    def _lookup_batch(self, seller: SellerAuth, skus: list[str],
                      included: Sequence[str]) -> dict[str, ListingItem]:
        page = self.search(seller, identifiers=skus, included=included, page_size=MAX_PAGE_SIZE,
                           sort_by="sku", sort_order="ASC")
        return {item.sku: item for item in page.items}

    def patch(self, seller: SellerAuth, sku: str, patches: list[dict[str, Any]], *, preview: bool = False,
              product_type: str = "PRODUCT") -> Submission:
        """Send JSON patches for one SKU (``patchListingsItem``); ``preview`` only validates them."""
        params: dict[str, Any] = {"marketplaceIds": US_MARKETPLACE_ID, "includedData": "issues"}
        if preview:
            params["mode"] = "VALIDATION_PREVIEW"
            self.client.limiter.acquire(APPLICATION, PREVIEW_BUCKET)
        body = self.client.call(seller, "patchListingsItem", "PATCH",
                                f"{ITEMS}/{seller.selling_partner_id}/{quote_sku(sku)}", params=params,
                                json={"productType": product_type, "patches": patches}).json()
        return Submission(sku=str(body.get("sku", sku)), status=str(body.get("status", "")),
                          submission_id=str(body.get("submissionId", "")),
                          issues=tuple(_issue(i) for i in body.get("issues") or []))

    def confirm_seller(self, seller: SellerAuth) -> None:
        """Prove that the seller's token may act for ``selling_partner_id``: a one-item search on its path.

        Amazon answers 403 when the token belongs to another seller; this raises ``AccessDenied`` then.
        """
        self.search(seller, page_size=1, included=("summaries",))


__all__ = [
    "RECONCILE_DATA",
    "SEARCH_CAP",
    "ListingIssue",
    "ListingItem",
    "ListingsApi",
    "SearchPage",
    "Submission",
    "item_from",
    "us_offer",
]
