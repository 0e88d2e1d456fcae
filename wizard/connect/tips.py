"""The guide's words, shown exactly where each problem happens (never on a separate FAQ page)."""

from __future__ import annotations

from dataclasses import dataclass

from wizard.models.connection import ConnectionStatus


@dataclass(frozen=True)
class Trouble:
    """One row of the guide's troubleshooting table."""

    problem: str
    what_to_do: str


#: The guide's "Troubleshooting the Connection" table, word for word.
POPUP_BLOCKED = Trouble(
    "The authorization window does not open",
    "Check your browser's pop-up blocker. Allow pop-ups for the Ecommerce site and try again.",
)
NOT_SHOWING = Trouble(
    "You authorized but Ecommerce does not show a connection",
    "Clear your browser cache, sign out of Ecommerce, sign back in, and check the integration settings page "
    "again. If the issue persists, repeat the authorization.",
)
WRONG_ACCOUNT = Trouble(
    "You connected the wrong Amazon account",
    "Revoke access from within Amazon Seller Central (under Apps & Services > Manage Your Apps), then start "
    "over from Step 1.",
)
TOKEN_EXPIRED = Trouble(
    'You see a "token expired" or "authentication error" message',
    # The guide says "Grant Access" again; the button that starts it is named "Re-authorize": name both.
    'This is rare, but it can happen. Click "Re-authorize", then "Grant Access" on the page it opens. Your '
    "settings will be preserved.",
)
TROUBLESHOOTING = (POPUP_BLOCKED, NOT_SHOWING, WRONG_ACCOUNT, TOKEN_EXPIRED)

#: The guide's "Before You Begin" list, word for word.
PREREQUISITES = (
    ("An active Amazon Seller Central account.",
     "You need a Professional selling plan (not Individual) to use the integration."),
    ("Admin or manager-level access in Ecommerce.",
     "Only users with permission to change integration settings can complete the authorization."),
    ("A web browser that allows pop-ups.",
     # The guide says a blocked pop-up fails silently; Ecommerce detects it, so it says what happens instead.
     "The authorization process opens a new browser window. If your browser blocks the pop-up, Ecommerce "
     "tells you and offers to continue in this tab instead."),
)
MARKETPLACE_NOTE = (
    "Ecommerce connects to the Amazon US marketplace by default. If you sell on a different Amazon "
    "marketplace, contact Ecommerce support before beginning setup."
)
GRANT_ACCESS_HINT = (
    "Click the grant access button to start, this will open a separate window in your browser."
)
SIGN_IN_HINT = (
    "Use the credentials for the Amazon Seller account you want to connect — not a personal Amazon shopping "
    "account."
)
#: The guide says "one-time setup"; Amazon also requires a renewal every 365 days. Say both.
ONE_TIME_SETUP = (
    "This is a one-time setup step, then a yearly renewal: Amazon asks sellers to re-authorize apps every "
    "365 days, and Ecommerce reminds you 30 days before."
)
#: Disconnecting stops updates, but Amazon keeps showing the last quantities it accepted: an oversell risk.
AMAZON_KEEPS_QUANTITIES = (
    "Amazon keeps the last quantities Ecommerce sent, so your listings stay buyable at those quantities "
    "after you disconnect, even when you sell out elsewhere. Set them to 0 in Seller Central (Inventory > "
    "Manage All Inventory) if you stop selling on Amazon."
)
#: The Disconnect page's safe way out of that risk (issue 9 §9).
ZERO_FIRST = "Set all my Amazon quantities to 0 first"
ZERO_FIRST_HOW = (
    "Ecommerce sends quantity 0 to Amazon for every SKU it manages, shows the progress on the Sync page, and "
    "disconnects once Amazon has processed the update. Your Amazon listings stay, out of stock."
)
ZERO_FIRST_STARTED = (
    "Setting your Amazon quantities to 0. Ecommerce disconnects once Amazon has processed the update; the "
    "progress shows below."
)
REVOKE_HOW_TO = (
    "To remove Ecommerce's access on Amazon's side too, sign in to Amazon Seller Central and open "
    "Apps & Services > Manage Your Apps, find Ecommerce and choose Revoke."
)

#: Error codes Seller Central may show on its own consent page. Both are set-up problems on our side.
CONSENT_ERRORS = (
    ("MD1000", "Amazon says the application is in draft state. This is a set-up problem on Ecommerce's "
               "side, not something you did: contact Ecommerce support and mention the code."),
    ("MD5101", "Amazon says the redirect URI is not registered. This is a set-up problem on Ecommerce's "
               "side, not something you did: contact Ecommerce support and mention the code."),
)

#: The connection's status as the integration page and the home page name it.
STATUS_LABELS: dict[ConnectionStatus, str] = {
    ConnectionStatus.CONNECTED: "Connected",
    ConnectionStatus.NOT_CONNECTED: "Not connected",
    ConnectionStatus.NEEDS_REAUTHORIZATION: "Needs re-authorization",
    ConnectionStatus.ERROR: "Error",
}


@dataclass(frozen=True)
class CallbackMessage:
    """What the callback page says when it cannot finish."""

    title: str
    message: str
    action: str  # "retry", "sign_in", "integration", "support", "close"


CALLBACK_MESSAGES: dict[str, CallbackMessage] = {
    "signed_out": CallbackMessage(
        "Sign in again to finish connecting",
        "Your Ecommerce session ended before Amazon sent you back, so nothing was connected. Sign in, then "
        "click Grant Access again.", "sign_in"),
    "missing": CallbackMessage(
        "The connection could not be checked",
        "Amazon sent you back without the security code Ecommerce needs, so nothing was connected. Click "
        "Grant Access to start again.", "retry"),
    "unknown": CallbackMessage(
        "This link did not come from Ecommerce",
        "The security code in this link is not one Ecommerce issued, so it was not used and nothing changed. "
        "If you were connecting your Amazon account, click Grant Access to start again.", "retry"),
    "used": CallbackMessage(
        "This authorization was already used",
        "Each authorization link works once. If you just connected, your connection is already in place: "
        "open the integration page to see it. Otherwise click Grant Access to start again.", "integration"),
    "expired": CallbackMessage(
        "The authorization took too long",
        "For your security, an authorization must be finished within 10 minutes of clicking Grant Access. "
        "Nothing was connected. Click Grant Access to start again.", "retry"),
    "other_session": CallbackMessage(
        "This authorization was started somewhere else",
        "It was started in another browser, another session or by another user, so it was not used and "
        "nothing changed. Click Grant Access here to start again.", "retry"),
    "cancelled": CallbackMessage(
        "You cancelled on Amazon",
        "Nothing was connected. When you are ready, click Grant Access and choose Authorize on Amazon's "
        "page.", "retry"),
    "amazon_error": CallbackMessage(
        "Amazon did not complete the authorization",
        "Amazon reported a problem, so nothing was connected. Click Grant Access to try again. If it happens "
        "again, contact Ecommerce support and mention the code below.", "retry"),
    "incomplete": CallbackMessage(
        "Amazon's answer was incomplete",
        "Amazon sent you back without an authorization code or Seller ID, so nothing was connected. Click "
        "Grant Access to try again.", "retry"),
    "seller_mismatch": CallbackMessage(
        "A different seller came back",
        "Amazon started this authorization for one seller account and finished it for another, so nothing "
        "was connected. Start again from Manage Your Apps in Seller Central, signed in as the seller you "
        "want to connect.", "retry"),
    "seller_taken": CallbackMessage(
        "This Amazon account is connected to another Ecommerce account",
        "Each Ecommerce account connects to one Amazon seller account, and each seller account to one "
        "Ecommerce account, so nothing was connected. Authorize with a different Amazon seller account, or "
        "contact Ecommerce support if this seller account should move here.", "retry"),
    "seller_not_confirmed": CallbackMessage(
        "Amazon did not confirm this Seller ID",
        "The authorization you gave on Amazon belongs to a different seller account than the Seller ID that "
        "came back with it, so nothing was connected. Click Grant Access and authorize while signed in to "
        "Seller Central as the seller account you want to connect.", "retry"),
    "code_expired": CallbackMessage(
        "The authorization code expired — try again",
        "Amazon's authorization code is only valid for a few minutes and it was no longer accepted. Nothing "
        "was connected. Click Grant Access to try again.", "retry"),
    "operator": CallbackMessage(
        "Ecommerce could not finish the connection",
        "This is a problem on Ecommerce's side, not something you did: Amazon did not accept Ecommerce's "
        "application credentials. Our team has been alerted. Please contact Ecommerce support; your Amazon "
        "authorization is safe to retry later.", "support"),
    "unavailable": CallbackMessage(
        "Amazon is not answering right now",
        "Amazon's sign-in service did not answer in time, so nothing was connected. Wait a few minutes, then "
        "click Grant Access to try again.", "retry"),
    "not_allowed": CallbackMessage(
        "Admin or manager access needed",
        "Only admins and managers can connect Amazon. Nothing was connected. Ask an admin of your Ecommerce "
        "account to do it.", "integration"),
}
