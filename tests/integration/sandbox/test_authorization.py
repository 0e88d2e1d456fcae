"""Seller Central consent, the Login-URI flow and the LWA token endpoint, over real HTTP."""

from __future__ import annotations

import requests

from tests.fixtures.sandbox import SandboxControl
from tests.integration.sandbox.conftest import (
    APP_ID,
    CLIENT_ID,
    REDIRECT_URI,
    SELLER,
    USER_AGENT,
    WEB,
    Amazon,
    query,
)


def _code(amazon: Amazon, **kwargs: str) -> str:
    return query(amazon.consent(**kwargs))["spapi_oauth_code"]


def test_consent_redirects_with_state_seller_and_code_to_the_first_registered_uri(amazon: Amazon) -> None:
    location = amazon.consent("A2PROSELLERUS02", state="xyz")
    assert location.startswith(REDIRECT_URI + "?")
    params = query(location)
    assert params["state"] == "xyz"
    assert params["selling_partner_id"] == "A2PROSELLERUS02"
    assert params["spapi_oauth_code"]


def test_consent_page_names_the_app_permissions_and_every_seller(amazon: Amazon) -> None:
    page = requests.get(amazon.url + "/apps/authorize/consent",
                        params={"application_id": APP_ID, "state": "s", "version": "beta"}, timeout=10).text
    assert "Ecommerce" in page
    assert "inventory" in page and "prices" in page
    for seller_id in ("A1PROSELLERUS01", "A2PROSELLERUS02", "A3INDIVIDUAL001", "A4NOUSMARKET001"):
        assert f'<label for="seller-{seller_id}">' in page
    assert "<script" not in page and "style=" not in page


def test_code_exchange_then_refresh_give_bearer_tokens(amazon: Amazon) -> None:
    code = _code(amazon, redirect_uri=REDIRECT_URI)
    exchanged = amazon.token(grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI)
    assert exchanged.status_code == 200, exchanged.text
    body = exchanged.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert body["access_token"].startswith("Atza|") and body["refresh_token"].startswith("Atzr|")
    refreshed = amazon.token(grant_type="refresh_token", refresh_token=body["refresh_token"])
    assert refreshed.status_code == 200
    assert refreshed.json()["access_token"] != body["access_token"]
    assert refreshed.json()["refresh_token"] == body["refresh_token"]


def test_code_is_single_use(amazon: Amazon) -> None:
    code = _code(amazon)
    first = amazon.token(grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI)
    assert first.status_code == 200
    again = amazon.token(grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_expired_code_is_an_invalid_grant(sandbox: SandboxControl, amazon: Amazon) -> None:
    code = _code(amazon)
    sandbox.expire_codes()
    answer = amazon.token(grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI)
    assert answer.status_code == 400
    assert answer.json() == {"error": "invalid_grant",
                             "error_description": "The authorization code has expired"}


def test_code_exchange_rejects_a_redirect_uri_other_than_the_consents(sandbox: SandboxControl,
                                                                      amazon: Amazon) -> None:
    sandbox._post("app", {"redirect_uris": [REDIRECT_URI, WEB + "/other"],
                          "login_uri": WEB + "/amazon/login"})
    code = _code(amazon, redirect_uri=REDIRECT_URI)
    answer = amazon.token(grant_type="authorization_code", code=code, redirect_uri=WEB + "/other")
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def test_wrong_client_secret_is_invalid_client_with_401(amazon: Amazon) -> None:
    code = _code(amazon)
    answer = amazon.token(grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI,
                          client_secret="wrong")
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"


def test_unsupported_grant_type_is_reported_and_recorded(sandbox: SandboxControl, amazon: Amazon) -> None:
    answer = amazon.token(grant_type="password")
    assert answer.status_code == 400 and answer.json()["error"] == "unsupported_grant_type"
    assert [v["operation"] for v in sandbox.violations()] == ["lwa"]
    sandbox.clear_violations()


def test_json_token_request_is_recorded_as_a_violation(sandbox: SandboxControl, amazon: Amazon) -> None:
    refresh = sandbox.grant(SELLER)
    answer = requests.post(amazon.url + "/auth/o2/token", timeout=10, json={
        "grant_type": "refresh_token", "refresh_token": refresh, "client_id": CLIENT_ID,
        "client_secret": "sandbox-client-secret"})
    assert answer.status_code == 200
    details = [v["detail"] for v in sandbox.violations()]
    assert any("JSON body" in d for d in details), details
    sandbox.clear_violations()


def test_revoked_seller_gets_invalid_grant_and_403_until_restored(sandbox: SandboxControl,
                                                                  amazon: Amazon) -> None:
    refresh = sandbox.grant(SELLER)
    token = amazon.access_token(refresh)
    sandbox.revoke(SELLER)
    refreshed = amazon.token(grant_type="refresh_token", refresh_token=refresh)
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    denied = amazon.call("GET", "/sellers/v1/marketplaceParticipations", token)
    assert denied.status_code == 403
    assert denied.json()["errors"][0]["code"] == "Unauthorized"
    assert "x-amzn-RateLimit-Limit" not in denied.headers
    sandbox.restore(SELLER)
    assert amazon.call("GET", "/sellers/v1/marketplaceParticipations", token).status_code == 200


def test_revoked_seller_can_authorize_again_with_a_new_grant(sandbox: SandboxControl, amazon: Amazon) -> None:
    old = sandbox.grant(SELLER)
    sandbox.revoke(SELLER)
    code = _code(amazon)
    fresh = amazon.token(grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI).json()
    assert fresh["refresh_token"] != old
    assert amazon.token(grant_type="refresh_token", refresh_token=fresh["refresh_token"]).status_code == 200


def test_expired_access_token_gets_403(sandbox: SandboxControl, amazon: Amazon, token: str) -> None:
    sandbox.expire_access_tokens()
    assert amazon.call("GET", "/sellers/v1/account", token).status_code == 403


def test_draft_app_without_version_beta_shows_md1000(amazon: Amazon) -> None:
    page = requests.get(amazon.url + "/apps/authorize/consent", allow_redirects=False, timeout=10,
                        params={"application_id": APP_ID, "state": "s"})
    assert page.status_code == 400
    assert "MD1000" in page.text


def test_unregistered_redirect_uri_shows_md5101(amazon: Amazon) -> None:
    page = requests.get(amazon.url + "/apps/authorize/consent", allow_redirects=False, timeout=10, params={
        "application_id": APP_ID, "state": "s", "version": "beta", "redirect_uri": "https://evil.example/cb"})
    assert page.status_code == 400
    assert "MD5101" in page.text


def test_unknown_application_shows_an_error_page(amazon: Amazon) -> None:
    page = requests.get(amazon.url + "/apps/authorize/consent", allow_redirects=False, timeout=10,
                        params={"application_id": "amzn1.sellerapps.app.nope", "state": "s",
                                "version": "beta"})
    assert page.status_code == 400
    assert "find this application" in page.text


def test_cancel_redirects_with_access_denied(amazon: Amazon) -> None:
    location = amazon.consent(state="abc", decision="cancel")
    assert location.startswith(REDIRECT_URI + "?")
    assert query(location) == {"state": "abc", "error": "access_denied",
                               "error_description": "The seller declined the authorization"}


def test_consent_post_without_the_pages_nonce_is_refused(amazon: Amazon) -> None:
    answer = requests.post(amazon.url + "/apps/authorize/consent", allow_redirects=False, timeout=10, data={
        "application_id": APP_ID, "state": "s", "version": "beta", "selling_partner_id": SELLER,
        "decision": "authorize"})
    assert answer.status_code == 400
    assert "session has expired" in answer.text


def _start_login_uri_flow(amazon: Amazon, seller_id: str) -> dict[str, str]:
    page = amazon.http.get(amazon.url + "/apps/manage", timeout=10)
    assert "Authorize from Seller Central" in page.text
    nonce = page.text.split('name="nonce" value="', 1)[1].split('"', 1)[0]
    answer = amazon.http.post(f"{amazon.url}/apps/manage/{seller_id}/authorize", data={"nonce": nonce},
                              allow_redirects=False, timeout=10)
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith(WEB + "/amazon/login?")
    return query(answer.headers["Location"])


def test_login_uri_flow_confirms_and_redirects_with_a_code(amazon: Amazon) -> None:
    params = _start_login_uri_flow(amazon, "A3INDIVIDUAL001")
    assert params["selling_partner_id"] == "A3INDIVIDUAL001"
    assert params["version"] == "beta"
    assert params["amazon_callback_uri"] == f"{amazon.url}/apps/authorize/confirm/{APP_ID}"
    confirm = {"amazon_state": params["amazon_state"], "state": "ours", "redirect_uri": REDIRECT_URI,
               "version": "beta"}
    answer = requests.get(params["amazon_callback_uri"], params=confirm, allow_redirects=False, timeout=10)
    assert answer.status_code == 302
    back = query(answer.headers["Location"])
    assert answer.headers["Location"].startswith(REDIRECT_URI + "?")
    assert back["state"] == "ours" and back["selling_partner_id"] == "A3INDIVIDUAL001"
    tokens = amazon.token(grant_type="authorization_code", code=back["spapi_oauth_code"],
                          redirect_uri=REDIRECT_URI)
    assert tokens.status_code == 200
    reused = requests.get(params["amazon_callback_uri"], params=confirm, allow_redirects=False, timeout=10)
    assert reused.status_code == 400 and "no longer valid" in reused.text


def test_login_uri_confirm_requires_version_beta_for_a_draft_app(amazon: Amazon) -> None:
    params = _start_login_uri_flow(amazon, SELLER)
    answer = requests.get(params["amazon_callback_uri"], allow_redirects=False, timeout=10,
                          params={"amazon_state": params["amazon_state"], "state": "ours"})
    assert answer.status_code == 400 and "MD1000" in answer.text


def test_manage_page_offers_reauthorize_once_authorized(sandbox: SandboxControl, amazon: Amazon) -> None:
    sandbox.grant(SELLER)
    page = requests.get(amazon.url + "/apps/manage", headers={"User-Agent": USER_AGENT}, timeout=10).text
    assert "Re-authorize for Acme Outdoor Co" in page
