"""Settings > Amazon: inventory and pricing settings (the wizard's step 4), the live impact preview, history.

Everyone signed in may look; only admins and managers may change or restore (``@manage`` on every POST).
The settings row is never touched by disconnecting or re-authorizing Amazon.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, abort, flash, redirect, request, url_for
from werkzeug.wrappers import Response

from wizard.connect import steps
from wizard.db import get_session, reads_only
from wizard.forms import EmptyForm
from wizard.models import Account, AmazonSettings, SettingsVersion
from wizard.pagecache import cached_page
from wizard.rendering import render_fragment, render_page
from wizard.rules import Rules
from wizard.security import can_manage, current_account, current_user, manage, signed_in
from wizard.settings.forms import AmazonSettingsForm, form_note
from wizard.settings.preview import impact
from wizard.settings.service import apply_rules, describe_changes, gate_example, history, load_settings
from wizard.sync import guard
from wizard.tasks import schedule_sync_soon
from wizard.wording import REACHES_AMAZON

bp = Blueprint("amazon_settings", __name__, url_prefix="/settings/amazon")


def _wizard(account: Account) -> dict[str, Any]:
    """Return the wizard's progress: its facts, whether it is complete, its stepper while it is not, and the
    checklist (the "Setup complete" card shows it)."""
    facts = steps.facts_for(get_session(), account)
    current = steps.current_step(facts)
    complete = current == steps.StepName.DONE
    return {
        "facts": facts,
        # The stepper shows only while the wizard is not complete: no URLs to build once it is.
        "steps": [] if complete else steps.wizard_steps(facts),
        "current": current,
        "complete": complete,
        "connection_complete": steps.connection_complete(facts),
        "checklist": steps.checklist(facts, can_manage=can_manage(), on_integration_page=False),
    }


def _page_context(account: Account, form: AmazonSettingsForm, saved: AmazonSettings | None,
                  proposed: Rules | None, wizard: dict[str, Any] | None = None) -> dict[str, Any]:
    session = get_session()
    assert account.id is not None
    current = Rules.from_settings(saved)
    return {
        "account": account,
        "form": form,
        "saved": saved,
        "current": current,
        "impact": impact(session, account.id, current, proposed or current),
        "history": history(session, account.id),
        "wizard": wizard if wizard is not None else _wizard(account),
        "editable": can_manage(),
        "ceiling_note": form_note(form),
        "gate_example": gate_example(proposed or current),
        "proposed": proposed or current,
        "just_completed": request.args.get("saved") == "1",
    }


def _sends_to_the_wizard(wizard: dict[str, Any]) -> bool:
    """Return whether to send the merchant to the wizard: Amazon not connected and settings never saved."""
    return not (wizard["connection_complete"] or wizard["facts"].settings_saved)


@bp.get("/")
@reads_only
@signed_in
@cached_page
def index() -> Response:
    """Show the settings with the preview and the history."""
    account = current_account()
    assert account.id is not None
    # Loaded first and held: the wizard's facts then find the row in the session (its identity map holds
    # rows only while something references them).
    saved = load_settings(get_session(), account.id)
    wizard = _wizard(account)  # read once: it decides the detour and draws the stepper
    if _sends_to_the_wizard(wizard):
        return redirect(url_for("connect.index"))
    form = AmazonSettingsForm.for_rules(Rules.from_settings(saved))
    return render_page("settings/index", **_page_context(account, form, saved, None, wizard))


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


@bp.post("/preview")
@reads_only
@manage
def preview() -> Response:
    """Return the impact panel for the form as typed, with each field's message swapped in out of band."""
    account = current_account()
    assert account.id is not None
    # CSRFProtect checked the request's token before the view (as for every POST); the form's own token
    # field would only mint a token (a signature per keystroke) that this fragment never shows.
    form = AmazonSettingsForm(meta={"csrf": False})
    valid = form.validate()
    saved = load_settings(get_session(), account.id)
    current = Rules.from_settings(saved)
    proposed = form.rules() if valid else None
    result = impact(get_session(), account.id, current, proposed) if proposed is not None else None
    return render_fragment(
        "settings/preview_response", form=form, impact=result, current=current, proposed=proposed or current,
        ceiling_note=form_note(form), gate_example=gate_example(proposed or current),
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
        gate_example=gate_example(restored), restore_form=EmptyForm(),
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
