"""The guide's words, shown exactly where each problem happens (never on a separate FAQ page)."""

from __future__ import annotations

from dataclasses import dataclass


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
    'This is rare, but it can happen. Click "Grant Access" again to re-authorize. Your settings will be '
    "preserved.",
)
TROUBLESHOOTING = (POPUP_BLOCKED, NOT_SHOWING, WRONG_ACCOUNT, TOKEN_EXPIRED)

#: The guide's "Before You Begin" list, word for word.
PREREQUISITES = (
    ("An active Amazon Seller Central account.",
     "You need a Professional selling plan (not Individual) to use the integration."),
    ("Admin or manager-level access in Ecommerce.",
     "Only users with permission to change integration settings can complete the authorization."),
    ("A web browser that allows pop-ups.",
     "The authorization process opens a new browser window. If pop-ups are blocked, the connection will fail "
     "silently."),
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
