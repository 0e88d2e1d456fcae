"""One client for Login with Amazon (LWA) and the Selling Partner API.

It refreshes and caches access tokens (in Redis, shared by every worker, until a minute before expiry),
retries throttles, 5xx and time-outs with back-off and jitter, sends the User-Agent Amazon requires, and
turns every failure into a typed error from ``wizard.amazon.errors``. Nothing else in the project imports
``requests`` to talk to Amazon.
"""

from __future__ import annotations

import hashlib
import logging
import platform
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, cast

import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from redis import Redis

from wizard.amazon.errors import (
    AccessDenied,
    AmazonError,
    AmazonRequestError,
    AmazonUnavailable,
    AuthorizationRevoked,
    InvalidClient,
    Throttled,
)
from wizard.amazon.events import REFRESH_FAILED, THROTTLED, EventSink, ignore_event, redis_counter
from wizard.amazon.ratelimit import NORMAL, RedisTokenBuckets
from wizard.crypto import InvalidToken, TokenCipher

if TYPE_CHECKING:
    from wizard.amazon.listings import ListingsApi
    from wizard.amazon.reports import ReportsApi

log = logging.getLogger(__name__)

US_MARKETPLACE_ID = "ATVPDKIKX0DER"
USER_AGENT = (
    f"EcommerceAmazonIntegration/0.1 (Language=Python/{platform.python_version()}; "
    f"Platform={platform.system()})"
)
#: Treat access tokens as expired this many seconds early, as Amazon's own SDK does.
TOKEN_EXPIRY_MARGIN = 60


@dataclass(frozen=True)
class TokenSet:
    """What LWA returns for a code exchange or a refresh."""

    access_token: str
    refresh_token: str
    expires_in: int

    def __repr__(self) -> str:  # never print tokens, even in a traceback
        return f"TokenSet(expires_in={self.expires_in}, access_token=***, refresh_token=***)"


@dataclass(frozen=True)
class SellerAuth:
    """Who we call Amazon for: the seller's ID and their (decrypted) refresh token."""

    selling_partner_id: str
    refresh_token: str = field(repr=False)


@dataclass(frozen=True)
class Participation:
    """One row of ``getMarketplaceParticipations``."""

    marketplace_id: str
    marketplace_name: str
    country_code: str
    currency: str
    is_participating: bool
    has_suspended_listings: bool
    store_name: str


@dataclass(frozen=True)
class SellerAccount:
    """The parts of ``getAccount`` we use."""

    selling_plan: str
    business_type: str
    business_name: str | None


class RateLimiter(Protocol):
    """Waits until Amazon's rate for ``operation`` allows one more call for this seller."""

    def acquire(self, seller_id: str, operation: str) -> None:
        """Block until a call may be made."""

    def observe(self, seller_id: str, operation: str, rate: float) -> None:
        """Learn the rate Amazon reported in ``x-amzn-RateLimit-Limit``."""


class NoRateLimit:
    """A limiter that never waits (the web app's rare, interactive calls)."""

    def acquire(self, seller_id: str, operation: str) -> None:
        """Return at once."""

    def observe(self, seller_id: str, operation: str, rate: float) -> None:
        """Ignore the reported rate."""


class TokenCache(Protocol):
    """Where access tokens are kept between calls (Redis in production)."""

    def get(self, name: str) -> bytes | None: ...

    def set(self, name: str, value: str, ex: int) -> Any: ...

    def delete(self, *names: str) -> Any: ...


@dataclass
class RetryPolicy:
    """How hard to try before giving up with ``AmazonUnavailable``."""

    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Return the wait before retry number ``attempt`` (1-based): exponential with full jitter."""
        if retry_after is not None:
            return min(retry_after, self.max_delay)
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return random.uniform(ceiling / 2, ceiling)


class AmazonClient:
    """Talk to LWA and the SP-API with plain Python values in and typed results or errors out."""

    def __init__(
        self,
        *,
        lwa_token_url: str,
        client_id: str,
        client_secret: str,
        spapi_endpoint: str,
        cipher: TokenCipher,
        cache: TokenCache | None = None,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 15.0,
        http: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        document_url_prefixes: tuple[str, ...] = ("https://",),
        events: EventSink | None = None,
    ) -> None:
        self.lwa_token_url = lwa_token_url
        self.client_id = client_id
        self._client_secret = client_secret
        self.spapi_endpoint = spapi_endpoint.rstrip("/")
        self._cipher = cipher
        self._cache = cache
        self.limiter: RateLimiter = limiter or NoRateLimit()
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.http = http or requests.Session()
        self.http.headers["User-Agent"] = USER_AGENT
        self._sleep = sleep
        #: Presigned document URLs must start with one of these (Amazon's are https S3 URLs).
        self.document_url_prefixes = document_url_prefixes
        #: Calls made, by operation name: the benchmark and the tests read it.
        self.calls: dict[str, int] = {}
        #: Where 429s and failed refreshes are counted for ``/metrics`` (``wizard.amazon.events``).
        self.events: EventSink = events or ignore_event

    @classmethod
    def from_config(cls, config: Mapping[str, Any], redis: Redis, *, max_wait: float | None = None,
                    http: requests.Session | None = None, priority: str = NORMAL) -> AmazonClient:
        """Build the client the web app and the worker both use, from their configuration.

        Retries follow ``AMAZON_RETRY_ATTEMPTS`` and ``AMAZON_RETRY_BASE_DELAY``; access tokens are cached and
        Amazon's usage plans kept as token buckets in ``redis``, shared by every web and worker process, so a
        merchant clicking in the wizard and a running sync draw from the same per-seller budget. ``redis``
        must be opened without ``decode_responses`` (as :func:`wizard.redis_connection.open_redis` does).

        ``max_wait`` bounds how long a call waits for a token of its bucket before giving up with
        ``Throttled`` (the web passes a few seconds: a page must not hang); None waits as long as needed.
        ``priority=URGENT`` (the urgent lane) goes before every other caller of a shared budget.
        """
        retry = RetryPolicy(attempts=int(config["AMAZON_RETRY_ATTEMPTS"]),
                            base_delay=float(config["AMAZON_RETRY_BASE_DELAY"]))
        limiter = RedisTokenBuckets(redis, give_up_after=max_wait, priority=priority)
        return cls(
            lwa_token_url=config["AMAZON_LWA_TOKEN_URL"],
            client_id=config["AMAZON_LWA_CLIENT_ID"],
            client_secret=config["AMAZON_LWA_CLIENT_SECRET"],
            spapi_endpoint=config["AMAZON_SPAPI_ENDPOINT"],
            cipher=TokenCipher(config["TOKEN_ENCRYPTION_KEYS"]),
            # Opened without decode_responses, so get() returns bytes as TokenCache says; redis-py's
            # annotations cannot know that and say ``bytes | str | None``.
            cache=cast(TokenCache, redis),
            limiter=limiter,
            retry=retry,
            timeout=float(config["AMAZON_HTTP_TIMEOUT"]),
            http=http,
            document_url_prefixes=document_url_prefixes(config),
            events=redis_counter(redis),
        )

    # ---- Login with Amazon ------------------------------------------------------------------------------

    def _oauth(self) -> OAuth2Session:
        session = OAuth2Session(
            client_id=self.client_id,
            client_secret=self._client_secret,
            token_endpoint_auth_method="client_secret_post",  # noqa: S106 - a method name
        )
        session.headers["User-Agent"] = USER_AGENT
        return session

    def exchange_code(self, code: str, redirect_uri: str) -> TokenSet:
        """Exchange an ``spapi_oauth_code`` (valid 5 minutes) for tokens.

        ``code=`` is passed explicitly: Amazon's callback names it ``spapi_oauth_code``, and authlib would
        otherwise look for ``code`` in the callback URL.
        """
        self._count("lwa:authorization_code")
        with self._oauth() as oauth:
            token = self._lwa_call(lambda: oauth.fetch_token(
                self.lwa_token_url, grant_type="authorization_code", code=code,
                redirect_uri=redirect_uri, timeout=self.timeout,
            ))
        return self._token_set(token, fallback_refresh=None)

    def refresh(self, refresh_token: str) -> TokenSet:
        """Get a new access token for a seller's refresh token."""
        self._count("lwa:refresh_token")
        try:
            with self._oauth() as oauth:
                token = self._lwa_call(lambda: oauth.refresh_token(
                    self.lwa_token_url, refresh_token=refresh_token, timeout=self.timeout,
                ))
            return self._token_set(token, fallback_refresh=refresh_token)
        except AmazonError:
            # Counted once per refresh, after its retries: the operator's "token refresh failures".
            self.events(REFRESH_FAILED)
            raise

    def _lwa_call(self, call: Callable[[], Any]) -> Any:
        for attempt in range(1, self.retry.attempts + 1):
            try:
                return call()
            except OAuthError as exc:
                error = exc.error or ""
                description = exc.description or error
                if error == "invalid_grant":
                    raise AuthorizationRevoked(description, code=error, status=400) from None
                if error in ("invalid_client", "unauthorized_client"):
                    log.error("LWA rejected the app's credentials (%s): check AMAZON_LWA_CLIENT_ID/SECRET",
                              error)
                    raise InvalidClient(description, code=error) from None
                if error in ("server_error", "temporarily_unavailable") and attempt < self.retry.attempts:
                    self._sleep(self.retry.delay(attempt))
                    continue
                if error in ("server_error", "temporarily_unavailable"):
                    raise AmazonUnavailable(description, code=error) from None
                raise AmazonRequestError(description, code=error) from None
            except (requests.ConnectionError, requests.Timeout, requests.HTTPError) as exc:
                status = getattr(getattr(exc, "response", None), "status_code", None)
                if status is not None and status < 500 and status != 429:
                    raise AmazonRequestError("Login with Amazon rejected the request",
                                             status=status) from None
                if attempt < self.retry.attempts:
                    self._sleep(self.retry.delay(attempt))
                    continue
                raise AmazonUnavailable("Login with Amazon is unreachable", status=status) from None
        raise AssertionError("unreachable")

    @staticmethod
    def _token_set(token: Mapping[str, Any], *, fallback_refresh: str | None) -> TokenSet:
        refresh = token.get("refresh_token") or fallback_refresh
        if not token.get("access_token") or not refresh:
            raise AmazonRequestError("Login with Amazon returned no token", code="invalid_response")
        return TokenSet(access_token=token["access_token"], refresh_token=refresh,
                        expires_in=int(token.get("expires_in") or 3600))

    # ---- access-token cache -----------------------------------------------------------------------------

    @staticmethod
    def _cache_key(refresh_token: str) -> str:
        return "amazon:lwa:access:" + hashlib.sha256(refresh_token.encode()).hexdigest()[:32]

    def access_token(self, seller: SellerAuth, *, force_refresh: bool = False) -> str:
        """Return a valid access token for ``seller``, from the shared cache when possible."""
        key = self._cache_key(seller.refresh_token)
        if self._cache is not None and not force_refresh:
            cached = self._cache.get(key)
            if cached:
                try:
                    return self._cipher.decrypt(cached.decode())
                except InvalidToken:
                    self._cache.delete(key)
        tokens = self.refresh(seller.refresh_token)
        if self._cache is not None:
            ttl = max(1, tokens.expires_in - TOKEN_EXPIRY_MARGIN)
            self._cache.set(key, self._cipher.encrypt(tokens.access_token), ex=ttl)
        return tokens.access_token

    def forget_access_token(self, seller: SellerAuth) -> None:
        """Drop the cached access token (after a revocation, or when told it is invalid)."""
        if self._cache is not None:
            self._cache.delete(self._cache_key(seller.refresh_token))

    # ---- Selling Partner API ----------------------------------------------------------------------------

    def call(self, seller: SellerAuth, operation: str, method: str, path: str, *,
             params: Mapping[str, Any] | None = None, json: Any = None) -> requests.Response:
        """Call an SP-API operation for ``seller``, with rate limiting, token refresh and retries.

        Return the successful response; raise a typed ``AmazonError`` otherwise.
        """
        url = self.spapi_endpoint + path
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            self.limiter.acquire(seller.selling_partner_id, operation)
            token = self.access_token(seller)
            self._count(operation)
            try:
                response = self.http.request(
                    method, url, params=params, json=json, timeout=self.timeout,
                    headers={"x-amz-access-token": token, "Accept": "application/json"},
                )
            except (requests.ConnectionError, requests.Timeout):
                if attempt < self.retry.attempts:
                    self._sleep(self.retry.delay(attempt))
                    continue
                raise AmazonUnavailable(f"{operation}: Amazon did not answer in time",
                                        code="timeout") from None
            self._observe_rate(seller, operation, response)
            self._count_throttle(response)
            if response.status_code < 400:
                return response
            error = self._error_from(operation, response)
            if response.status_code == 403 and not refreshed:
                # A revoked, expired or malformed access token: get a fresh one once, then retry.
                refreshed = True
                self.forget_access_token(seller)
                attempt -= 1
                continue
            if response.status_code == 429 or response.status_code >= 500:
                if attempt < self.retry.attempts:
                    self._sleep(self.retry.delay(attempt, _retry_after(response)))
                    continue
                kind = Throttled if response.status_code == 429 else AmazonUnavailable
                raise kind(error.message, code=error.code, status=error.status, request_id=error.request_id)
            if response.status_code == 403:
                raise AccessDenied(error.message, code=error.code, status=403, request_id=error.request_id)
            raise error

    def _check_document_url(self, operation: str, url: str) -> None:
        if not url.startswith(self.document_url_prefixes):
            raise AmazonRequestError(f"{operation}: refusing a document URL that is not https "
                                     f"({url.split(':', 1)[0]}://…)", code="document_url_refused")

    def transfer(self, operation: str, method: str, url: str, *, data: bytes | None = None,
                 headers: Mapping[str, str] | None = None, stream: bool = False) -> requests.Response:
        """Upload to or download from a presigned document URL, retrying time-outs and 5xx.

        No access token is sent: the URL itself is the authorization (and S3 rejects unexpected headers).
        The URL comes from Amazon's answer, so it is checked first: only ``document_url_prefixes`` (https,
        plus the sandbox in development) are fetched, and a redirect is refused rather than followed.
        With ``stream`` the body is left unread for the caller to read in bounded pieces.
        """
        self._check_document_url(operation, url)
        attempt = 0
        while True:
            attempt += 1
            self._count(operation)
            try:
                response = self.http.request(method, url, data=data, headers=dict(headers or {}),
                                             timeout=self.timeout, allow_redirects=False, stream=stream)
            except (requests.ConnectionError, requests.Timeout):
                if attempt < self.retry.attempts:
                    self._sleep(self.retry.delay(attempt))
                    continue
                raise AmazonUnavailable(f"{operation}: the document store did not answer",
                                        code="timeout") from None
            if 300 <= response.status_code < 400:
                response.close()
                raise AmazonRequestError(f"{operation}: the document URL redirected (HTTP "
                                         f"{response.status_code}); redirects are not followed",
                                         code="document_redirect", status=response.status_code)
            if response.status_code < 400:
                return response
            self._count_throttle(response)
            if (response.status_code >= 500 or response.status_code == 429) and attempt < self.retry.attempts:
                self._sleep(self.retry.delay(attempt, _retry_after(response)))
                continue
            kind = AmazonUnavailable if response.status_code >= 500 else AmazonRequestError
            raise kind(f"{operation} failed with HTTP {response.status_code}", status=response.status_code)

    @property
    def listings(self) -> ListingsApi:
        """Return the Listings Items API operations, sharing this client's tokens, limiter and retries."""
        from wizard.amazon.listings import ListingsApi

        return ListingsApi(self)

    @property
    def reports(self) -> ReportsApi:
        """Return the Reports API operations, sharing this client's tokens, limiter and retries."""
        from wizard.amazon.reports import ReportsApi

        return ReportsApi(self)

    def remember_access_token(self, seller: SellerAuth, tokens: TokenSet) -> None:
        """Cache the access token a code exchange just returned, so the next call needs no refresh."""
        if self._cache is not None:
            ttl = max(1, tokens.expires_in - TOKEN_EXPIRY_MARGIN)
            self._cache.set(self._cache_key(seller.refresh_token), self._cipher.encrypt(tokens.access_token),
                            ex=ttl)

    def open_download(self, operation: str, url: str) -> requests.Response:
        """Start streaming a presigned document URL (a report can be hundreds of MB): the caller reads
        ``response.raw`` and closes the response. Time-outs and 5xx before the body starts are retried.
        The URL is checked as :meth:`transfer` checks it (https or a configured prefix; no redirects).
        """
        self._check_document_url(operation, url)
        attempt = 0
        while True:
            attempt += 1
            self._count(operation)
            try:
                response = self.http.get(url, stream=True, timeout=self.timeout, allow_redirects=False)
            except (requests.ConnectionError, requests.Timeout):
                if attempt < self.retry.attempts:
                    self._sleep(self.retry.delay(attempt))
                    continue
                raise AmazonUnavailable(f"{operation}: the document store did not answer",
                                        code="timeout") from None
            if response.status_code < 300:
                return response
            response.close()
            self._count_throttle(response)
            if (response.status_code >= 500 or response.status_code == 429) and attempt < self.retry.attempts:
                self._sleep(self.retry.delay(attempt, _retry_after(response)))
                continue
            kind = AmazonUnavailable if response.status_code >= 500 else AmazonRequestError
            raise kind(f"{operation} failed with HTTP {response.status_code}", status=response.status_code)

    def _observe_rate(self, seller: SellerAuth, operation: str, response: requests.Response) -> None:
        raw = response.headers.get("x-amzn-RateLimit-Limit")
        if raw:
            try:
                self.limiter.observe(seller.selling_partner_id, operation, float(raw))
            except ValueError:
                log.warning("ignoring malformed x-amzn-RateLimit-Limit %r for %s", raw, operation)

    @staticmethod
    def _error_from(operation: str, response: requests.Response) -> AmazonRequestError:
        code, message = "", f"{operation} failed with HTTP {response.status_code}"
        try:
            errors = response.json().get("errors") or []
            if errors:
                code = errors[0].get("code", "")
                message = errors[0].get("message", message)
                if errors[0].get("details"):
                    message += f" ({errors[0]['details']})"
        except (ValueError, AttributeError):
            pass
        return AmazonRequestError(message, code=code, status=response.status_code,
                                  request_id=response.headers.get("x-amzn-RequestId"))

    def _count(self, operation: str) -> None:
        self.calls[operation] = self.calls.get(operation, 0) + 1

    def _count_throttle(self, response: requests.Response) -> None:
        # Every 429 Amazon answers, retried or not: the operator's "429s" (target 0 with our buckets).
        if response.status_code == 429:
            self.events(THROTTLED)

    # ---- Sellers API ------------------------------------------------------------------------------------

    def get_marketplace_participations(self, seller: SellerAuth) -> list[Participation]:
        """Return the marketplaces the seller can sell in (``getMarketplaceParticipations``)."""
        body = self.call(seller, "getMarketplaceParticipations", "GET",
                         "/sellers/v1/marketplaceParticipations").json()
        rows = []
        for item in body.get("payload") or []:
            market, part = item.get("marketplace", {}), item.get("participation", {})
            rows.append(Participation(
                marketplace_id=market.get("id", ""),
                marketplace_name=market.get("name", ""),
                country_code=market.get("countryCode", ""),
                currency=market.get("defaultCurrencyCode", ""),
                is_participating=bool(part.get("isParticipating")),
                has_suspended_listings=bool(part.get("hasSuspendedListings")),
                store_name=item.get("storeName", ""),
            ))
        return rows

    def get_account(self, seller: SellerAuth) -> SellerAccount:
        """Return the seller's plan and business type (``getAccount``)."""
        body = self.call(seller, "getAccount", "GET", "/sellers/v1/account").json()
        payload = body.get("payload") or {}
        business = payload.get("business") or {}
        return SellerAccount(
            selling_plan=payload.get("sellingPlan", ""),
            business_type=payload.get("businessType", ""),
            business_name=business.get("name"),
        )


def document_url_prefixes(config: Mapping[str, Any]) -> tuple[str, ...]:
    """Return the URL prefixes presigned documents may be fetched from.

    ``AMAZON_DOCUMENT_URL_PREFIXES`` (comma-separated) adds prefixes to ``https://``; in development and
    tests it defaults to the SP-API endpoint, where the sandbox serves its documents over plain http.
    """
    raw = str(config.get("AMAZON_DOCUMENT_URL_PREFIXES") or "")
    extra = [prefix.strip() for prefix in raw.split(",") if prefix.strip()]
    if not extra and config.get("APP_ENV") in ("development", "test"):
        extra = [str(config["AMAZON_SPAPI_ENDPOINT"]).rstrip("/") + "/"]
    return ("https://", *extra)


def _retry_after(response: requests.Response) -> float | None:
    raw = response.headers.get("Retry-After")
    try:
        return float(raw) if raw else None
    except ValueError:
        return None


__all__ = [
    "US_MARKETPLACE_ID",
    "AmazonClient",
    "AmazonError",
    "NoRateLimit",
    "Participation",
    "RateLimiter",
    "RetryPolicy",
    "SellerAccount",
    "SellerAuth",
    "TokenSet",
]
