"""Settings > Amazon: inventory and pricing settings (the wizard's step 4), the live impact preview, history.

Everyone signed in may look; only admins and managers may change or restore (``@manage`` on every POST).
The settings row is never touched by disconnecting or re-authorizing Amazon.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlmodel import Session, col, select
from werkzeug.wrappers import Response
from wtforms import BooleanField, StringField
from wtforms.validators import ValidationError

from wizard import rules as r
from wizard.connect import steps
from wizard.db import get_session
from wizard.forms import EmptyForm
from wizard.models import Account, AmazonSettings, SettingsVersion, User
from wizard.models.base import utcnow
from wizard.rendering import render_page
from wizard.rules import Rules
from wizard.security import can_manage, current_account, current_user, manage, signed_in
from wizard.settings.preview import impact
from wizard.sync import guard
from wizard.tasks import schedule_sync_soon

bp = Blueprint("amazon_settings", __name__, url_prefix="/settings/amazon")

#: The largest buffer or ceiling accepted: a typo guard far above any real stock level.
MAX_UNITS = 1_000_000
#: The guide's promise, repeated wherever a change is saved.
REACHES_AMAZON = ("Ecommerce sends inventory and pricing updates to Amazon in batches. Most changes "
                  "appear within 15 to 30 minutes, but it can occasionally take up to a few hours during "
                  "peak periods.")
HISTORY_LIMIT = 20


def _whole_number(raw: str | None, *, what: str, empty_hint: str | None) -> int | None:
    """Parse a whole number of units ≥ 0; ``empty_hint`` None means a value is required."""
    text = (raw or "").strip()
    if not text:
        if empty_hint is None:
            raise ValidationError(f"Enter the {what} as a whole number of units, 0 or more.")
        return None
    if text.startswith("-") and text[1:].strip().isdigit():
        hint = f" {empty_hint}" if empty_hint else " Use 0 for no buffer."
        raise ValidationError(f"The {what} can't be negative.{hint}")
    if not text.isdigit():
        raise ValidationError(f"Enter the {what} as a whole number of units, like 6 (no decimals or "
                              "letters).")
    value = int(text)
    if value > MAX_UNITS:
        raise ValidationError(f"Enter {MAX_UNITS:,} units or fewer.")
    return value


class AmazonSettingsForm(FlaskForm):
    """The four settings of the guide's two sections."""

    inventory_buffer = StringField("Marketplace Inventory Buffer")
    inventory_ceiling = StringField("Inventory Ceiling (optional)")
    min_price = StringField("Minimum Price Threshold (USD)")
    disable_pricing = BooleanField("Disable Pricing: never send prices to Amazon")

    def validate_inventory_buffer(self, field: StringField) -> None:
        """Require a whole number of units, 0 or more."""
        field.parsed = _whole_number(field.data, what="buffer", empty_hint=None)

    def validate_inventory_ceiling(self, field: StringField) -> None:
        """Allow empty (no ceiling) or a whole number of units."""
        field.parsed = _whole_number(field.data, what="ceiling",
                                     empty_hint="Leave it empty for no ceiling.")

    def validate_min_price(self, field: StringField) -> None:
        """Require US dollars with at most 2 decimals, 0 or more."""
        try:
            field.parsed = r.parse_usd(field.data or "")
        except ValueError as exc:
            message = str(exc)
            if "negative" in message:
                message = "The threshold can't be negative. Use 0.00 to send every product."
            elif not (field.data or "").strip():
                message = "Enter the threshold in US dollars, like 5.00, or 0.00 to send every product."
            raise ValidationError(message) from None

    def rules(self) -> Rules:
        """Return the validated settings (call after ``validate``)."""
        return Rules(
            inventory_buffer=self.inventory_buffer.parsed,
            inventory_ceiling=self.inventory_ceiling.parsed,
            min_price_cents=self.min_price.parsed,
            disable_pricing=bool(self.disable_pricing.data),
        )

    @classmethod
    def for_rules(cls, rules: Rules) -> AmazonSettingsForm:
        """Return a form filled with ``rules``."""
        return cls(data={
            "inventory_buffer": str(rules.inventory_buffer),
            "inventory_ceiling": "" if rules.inventory_ceiling is None else str(rules.inventory_ceiling),
            "min_price": f"{rules.min_price_cents / 100:.2f}",
            "disable_pricing": rules.disable_pricing,
        })


@dataclass(frozen=True)
class Note:
    """An explanation shown under a field: allowed, but worth a second look."""

    level: str
    text: str


def ceiling_note(buffer: int | None, ceiling: int | None) -> Note | None:
    """Explain a ceiling of 0 or below the buffer: allowed, but say what it does."""
    if ceiling is None:
        return None
    if ceiling == 0:
        return Note("warning", "A ceiling of 0 advertises nothing: every product shows out of stock on "
                               "Amazon. Leave the ceiling empty for no cap.")
    if buffer is not None and ceiling < buffer:
        margin = buffer - ceiling
        return Note("info", f"A product needs at least {buffer} units to be listed, and at most {ceiling} "
                            f"are shown: a {margin}-unit safety margin even after every shown unit sells.")
    return None


def gate_example(rules: Rules) -> list[tuple[int, r.Decision]]:
    """Return the gate in action for these settings: just below the buffer, at it, and well above."""
    buffer = rules.inventory_buffer
    price = max(rules.min_price_cents, 1999)
    stocks = sorted({max(buffer - 1, 0), buffer, max(buffer * 3, 10)})
    return [(stock, r.decide(stock, price, Rules(buffer, rules.inventory_ceiling, 0, False)))
            for stock in stocks]


def load_settings(session: Session, account_id: int) -> AmazonSettings | None:
    """Return the account's saved settings row, if any."""
    return session.get(AmazonSettings, account_id)


def _wizard(account: Account) -> dict[str, Any] | None:
    """Return the wizard's stepper and checklist while the wizard is not complete, else None."""
    facts = steps.facts_for(get_session(), account)
    current = steps.current_step(facts)
    return {
        "facts": facts,
        "steps": steps.wizard_steps(facts),
        "current": current,
        "complete": current == steps.StepName.DONE,
        "connection_complete": steps.connection_complete(facts),
        "checklist": steps.checklist(facts, can_manage=can_manage(), on_integration_page=False),
    }


def _history(session: Session, account_id: int) -> list[dict[str, Any]]:
    versions = session.exec(
        select(SettingsVersion).where(SettingsVersion.account_id == account_id)
        .order_by(col(SettingsVersion.id).desc()).limit(HISTORY_LIMIT)
    ).all()
    user_ids = {v.user_id for v in versions if v.user_id is not None}
    names = {u.id: u.name for u in session.exec(select(User).where(col(User.id).in_(user_ids)))} if user_ids \
        else {}
    rows = []
    for index, version in enumerate(versions):
        after = Rules.from_dict(json.loads(version.after))
        before = Rules.from_dict(json.loads(version.before)) if version.before else None
        rows.append({
            "version": version,
            "who": names.get(version.user_id, "Someone no longer on the account") if version.user_id else "—",
            "after": after,
            "changes": describe_changes(before, after),
            "summary": json.loads(version.preview_summary or "{}"),
            "current": index == 0,
        })
    return rows


def describe_setting(name: str, rules: Rules) -> str:
    """Return one setting's value as the merchant reads it."""
    if name == "inventory_buffer":
        return f"{rules.inventory_buffer} units"
    if name == "inventory_ceiling":
        return "no ceiling" if rules.inventory_ceiling is None else f"{rules.inventory_ceiling} units"
    if name == "min_price_cents":
        return r.format_usd(rules.min_price_cents)
    return "on" if rules.disable_pricing else "off"


SETTING_LABELS = {
    "inventory_buffer": "Buffer",
    "inventory_ceiling": "Ceiling",
    "min_price_cents": "Minimum price",
    "disable_pricing": "Disable Pricing",
}


def describe_changes(before: Rules | None, after: Rules) -> list[str]:
    """Return "Buffer: 0 units → 6 units" lines for what changed (every setting on a first save)."""
    lines = []
    for name, label in SETTING_LABELS.items():
        new = describe_setting(name, after)
        if before is None:
            lines.append(f"{label}: {new}")
        elif getattr(before, name) != getattr(after, name):
            lines.append(f"{label}: {describe_setting(name, before)} → {new}")
    return lines


def _page_context(account: Account, form: AmazonSettingsForm, saved: AmazonSettings | None,
                  proposed: Rules | None) -> dict[str, Any]:
    session = get_session()
    assert account.id is not None
    current = Rules.from_settings(saved)
    return {
        "account": account,
        "form": form,
        "saved": saved,
        "current": current,
        "impact": impact(session, account.id, current, proposed or current),
        "history": _history(session, account.id),
        "wizard": _wizard(account),
        "editable": can_manage(),
        "ceiling_note": _form_note(form),
        "gate_example": gate_example(proposed or current),
        "proposed": proposed or current,
        "reaches_amazon": REACHES_AMAZON,
        "restore_form": EmptyForm(),
        "labels": r.REASON_LABELS,
        "usd": r.format_usd,
        "just_completed": request.args.get("saved") == "1",
    }


def _form_note(form: AmazonSettingsForm) -> Note | None:
    buffer = getattr(form.inventory_buffer, "parsed", None)
    ceiling = getattr(form.inventory_ceiling, "parsed", None)
    if not hasattr(form.inventory_ceiling, "parsed"):
        try:
            buffer = _whole_number(form.inventory_buffer.data, what="buffer", empty_hint=None)
            ceiling = _whole_number(form.inventory_ceiling.data, what="ceiling", empty_hint="")
        except ValidationError:
            return None
    return ceiling_note(buffer, ceiling)


def _redirect_to_wizard(account: Account) -> Response | None:
    """Send a merchant who has not connected Amazon yet, and never saved settings, to the wizard's step."""
    wizard = _wizard(account)
    if wizard is None or wizard["connection_complete"] or wizard["facts"].settings_saved:
        return None
    return redirect(url_for("connect.index"))


@bp.get("/")
@signed_in
def index() -> Response:
    """Show the settings with the preview and the history."""
    account = current_account()
    assert account.id is not None
    detour = _redirect_to_wizard(account)
    if detour is not None:
        return detour
    saved = load_settings(get_session(), account.id)
    form = AmazonSettingsForm.for_rules(Rules.from_settings(saved))
    return render_page("settings/index", **_page_context(account, form, saved, None))


@bp.post("/")
@manage
def save() -> Response:
    """Save the settings (post/redirect/get), record the change, and schedule a sync soon."""
    account = current_account()
    assert account.id is not None
    session = get_session()
    saved = load_settings(session, account.id)
    form = AmazonSettingsForm()
    if not form.validate_on_submit():
        context = _page_context(account, form, saved, None)
        response = render_page("settings/index", status=422, **context)
        return response
    user = current_user()
    assert user is not None
    first_save = saved is None or saved.saved_at is None
    changed = apply_rules(session, account.id, form.rules(), user_id=user.id)
    if changed or first_save:
        # The merchant saw the preview's impact and saved: the run this starts is not held (issue 11 §2).
        guard.approve_in_advance(session, account.id, user.id, "settings saved after the preview")
        schedule_sync_soon(account.id)
        flash(f"Settings saved. {REACHES_AMAZON}", "success")
    else:
        flash("Nothing changed: these are already your settings.", "info")
    return redirect(url_for(".index", saved=1) if first_save else url_for(".index"))


def apply_rules(session: Session, account_id: int, new: Rules, *, user_id: int | None,
                restored_from_id: int | None = None) -> bool:
    """Store ``new`` as the account's settings and record a version if anything changed.

    The first save always records a version (it completes the wizard). Return whether a version was recorded.
    """
    saved = load_settings(session, account_id)
    before = Rules.from_settings(saved) if saved is not None and saved.saved_at else None
    if saved is None:
        saved = AmazonSettings(account_id=account_id)
    if before == new:
        return False
    summary = impact(session, account_id, before or Rules(), new, examples=0).summary()
    saved.inventory_buffer = new.inventory_buffer
    saved.inventory_ceiling = new.inventory_ceiling
    saved.min_price_cents = new.min_price_cents
    saved.disable_pricing = new.disable_pricing
    saved.saved_at = utcnow()
    saved.saved_by_user_id = user_id
    session.add(saved)
    session.add(SettingsVersion(
        account_id=account_id, user_id=user_id, before=json.dumps(before.as_dict()) if before else None,
        after=json.dumps(new.as_dict()), preview_summary=json.dumps(summary),
        restored_from_id=restored_from_id,
    ))
    session.commit()
    return True


@bp.post("/preview")
@manage
def preview() -> str:
    """Return the impact panel for the form as typed, with each field's message swapped in out of band."""
    account = current_account()
    assert account.id is not None
    form = AmazonSettingsForm()
    valid = form.validate()
    saved = load_settings(get_session(), account.id)
    current = Rules.from_settings(saved)
    proposed = form.rules() if valid else None
    result = impact(get_session(), account.id, current, proposed) if proposed is not None else None
    return render_template(
        "partial/settings/preview_response.html", form=form, impact=result, current=current,
        proposed=proposed or current, ceiling_note=_form_note(form), labels=r.REASON_LABELS, usd=r.format_usd,
        gate_example=gate_example(proposed or current),
    )


def _version(version_id: int) -> SettingsVersion:
    """Return one of the signed-in account's settings versions, or answer 404."""
    version = get_session().get(SettingsVersion, version_id)
    if version is None or version.account_id != current_account().id:
        abort(404)
    return version


@bp.get("/history/<int:version_id>/restore")
@manage
def confirm_restore(version_id: int) -> Response:
    """Show what restoring a version would change on Amazon (the preview's numbers), and ask to confirm."""
    account = current_account()
    assert account.id is not None
    version = _version(version_id)
    session = get_session()
    current = Rules.from_settings(load_settings(session, account.id))
    restored = Rules.from_dict(json.loads(version.after))
    return render_page(
        "settings/restore", version=version, changes=describe_changes(current, restored),
        impact=impact(session, account.id, current, restored), current=current, proposed=restored,
        gate_example=gate_example(restored), labels=r.REASON_LABELS, usd=r.format_usd,
        restore_form=EmptyForm(),
        compared="Restoring these settings, compared with your current ones",
    )


@bp.post("/history/<int:version_id>/restore")
@manage
def restore(version_id: int) -> Response:
    """Restore an earlier version once confirmed on its impact page, recorded as a new version."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    account = current_account()
    session = get_session()
    version = _version(version_id)
    if request.form.get("confirm") != "1":
        # A restore changes what Amazon shows: it happens only from the page that shows by how much.
        return redirect(url_for(".confirm_restore", version_id=version.id))
    user = current_user()
    assert user is not None and account.id is not None
    restored = Rules.from_dict(json.loads(version.after))
    when = version.created_at.strftime("%b %d, %Y %H:%M UTC")
    if apply_rules(session, account.id, restored, user_id=user.id, restored_from_id=version.id):
        # Confirmed on the restore's impact page: not held again by the guard (issue 11 §4).
        guard.approve_in_advance(session, account.id, user.id, "settings restore confirmed")
        schedule_sync_soon(account.id)
        flash(f"Restored the settings saved on {when}. {REACHES_AMAZON}", "success")
    else:
        flash(f"The settings saved on {when} are already your current settings.", "info")
    return redirect(url_for(".index"))
