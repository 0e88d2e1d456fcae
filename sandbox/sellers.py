"""The four sandbox sellers, with the data the Sellers API returns for them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

US = {"id": "ATVPDKIKX0DER", "name": "Amazon.com", "countryCode": "US", "defaultCurrencyCode": "USD",
      "defaultLanguageCode": "en_US", "domainName": "www.amazon.com"}
CA = {"id": "A2EUQ1WTGCTBG2", "name": "Amazon.ca", "countryCode": "CA", "defaultCurrencyCode": "CAD",
      "defaultLanguageCode": "en_CA", "domainName": "www.amazon.ca"}


@dataclass(frozen=True)
class Seller:
    """A Seller Central account that can authorize our app."""

    id: str
    store_name: str
    selling_plan: str
    business_type: str
    marketplaces: tuple[dict[str, str], ...]
    business: dict[str, Any] | None
    contact: dict[str, Any]
    #: Added for a load test (:func:`generate_sellers`): never offered on the consent and overview pages.
    generated: bool = False

    @property
    def label(self) -> str:
        """Return the plan and marketplaces, as the account pickers describe the account."""
        plan = "Professional" if self.selling_plan == "PROFESSIONAL" else "Individual"
        where = ", ".join(m["name"] for m in self.marketplaces)
        return f"{plan} plan · {where}"

    def participations(self) -> list[dict[str, Any]]:
        """Return the ``MarketplaceParticipationList`` of this seller."""
        return [{"marketplace": dict(m), "storeName": self.store_name,
                 "participation": {"isParticipating": True, "hasSuspendedListings": False}}
                for m in self.marketplaces]

    def account(self) -> dict[str, Any]:
        """Return the ``Account`` payload of ``getAccount``."""
        payload: dict[str, Any] = {
            "marketplaceParticipationList": self.participations(),
            "businessType": self.business_type,
            "sellingPlan": self.selling_plan,
            "primaryContact": self.contact,
        }
        if self.business is not None:
            payload["business"] = self.business
        return payload


def _address(line: str, city: str, state: str, postal: str, country: str = "US") -> dict[str, str]:
    return {"addressLine1": line, "city": city, "stateOrProvinceCode": state, "postalCode": postal,
            "countryCode": country}


SELLERS: dict[str, Seller] = {s.id: s for s in (
    Seller("A1PROSELLERUS01", "Acme Outdoor Co", "PROFESSIONAL", "PRIVATE_LIMITED", (US,),
           {"name": "Acme Outdoor Co LLC",
            "registeredBusinessAddress": _address("100 Trail Way", "Boulder", "CO", "80302"),
            "companyRegistrationNumber": "CO-20191234"},
           {"name": "Alex Rivera", "address": _address("100 Trail Way", "Boulder", "CO", "80302")}),
    Seller("A2PROSELLERUS02", "Second Street Goods", "PROFESSIONAL", "SOLE_PROPRIETORSHIP", (US,),
           {"name": "Second Street Goods",
            "registeredBusinessAddress": _address("22 Second St", "Portland", "OR", "97205"),
            "companyTaxIdentificationNumber": "93-1234567"},
           {"name": "Sam Lee", "address": _address("22 Second St", "Portland", "OR", "97205")}),
    Seller("A3INDIVIDUAL001", "Corner Crafts", "INDIVIDUAL", "INDIVIDUAL", (US,), None,
           {"name": "Jordan Park", "address": _address("7 Corner Ln", "Asheville", "NC", "28801")}),
    Seller("A4NOUSMARKET001", "Maple Market", "PROFESSIONAL", "PRIVATE_LIMITED", (CA,),
           {"name": "Maple Market Inc.", "registeredBusinessAddress": _address("5 King St W", "Toronto", "ON",
                                                                              "M5H 1A1", "CA"),
            "companyRegistrationNumber": "ON-1002003"},
           {"name": "Robin Tremblay", "address": _address("5 King St W", "Toronto", "ON", "M5H 1A1", "CA")}),
)}


def generate_sellers(count: int, prefix: str = "ALOAD", start: int = 0) -> list[str]:
    """Add ``count`` Professional US sellers ``<prefix><n:08d>`` (for load tests); return their ids.

    Amazon has millions of sellers; the four above are the ones a person picks on the consent page. A load
    test needs one seller per merchant, so each with its own rate-limit buckets, listings and feeds.
    """
    ids = []
    for number in range(start, start + count):
        seller_id = f"{prefix}{number:08d}"
        name = f"Load Test Store {number}"
        address = _address(f"{number} Load St", "Seattle", "WA", "98101")
        SELLERS.setdefault(seller_id, Seller(seller_id, name, "PROFESSIONAL", "PRIVATE_LIMITED", (US,),
                                             {"name": name + " LLC", "registeredBusinessAddress": address},
                                             {"name": name, "address": address}, generated=True))
        ids.append(seller_id)
    return ids


def pickable_sellers() -> list[Seller]:
    """Return the sellers a person picks from (the four above), without any a load test generated."""
    return [seller for seller in SELLERS.values() if not seller.generated]
