"""The wizard's state machine: progress from persisted facts only."""

from __future__ import annotations

from dataclasses import replace

import pytest

from wizard.connect.steps import (
    CHECKLIST_ROWS,
    Facts,
    StepName,
    checklist,
    current_step,
    is_allowed,
    steps_for,
)

NOTHING = Facts()
ACKNOWLEDGED = Facts(prerequisites_acknowledged=True)
CONNECTED = Facts(prerequisites_acknowledged=True, has_refresh_token=True)
VERIFIED = Facts(prerequisites_acknowledged=True, has_refresh_token=True, seller_verified=True)
ALL_DONE = Facts(prerequisites_acknowledged=True, has_refresh_token=True, seller_verified=True,
                 settings_saved=True)


@pytest.mark.parametrize(("facts", "step"), [
    (NOTHING, StepName.PREREQUISITES),
    (ACKNOWLEDGED, StepName.GRANT_ACCESS),
    (CONNECTED, StepName.VERIFY),
    (VERIFIED, StepName.SETTINGS),
    (ALL_DONE, StepName.DONE),
])
def test_current_step_is_the_first_step_not_done(facts: Facts, step: StepName) -> None:
    assert current_step(facts) == step


def test_a_token_without_acknowledged_prerequisites_still_starts_at_step_one() -> None:
    assert current_step(Facts(has_refresh_token=True, seller_verified=True)) == StepName.PREREQUISITES


def test_a_lost_token_sends_a_verified_account_back_to_grant_access() -> None:
    assert current_step(Facts(prerequisites_acknowledged=True, seller_verified=True)) == StepName.GRANT_ACCESS


def test_later_steps_are_not_allowed_earlier_ones_are() -> None:
    assert is_allowed(StepName.PREREQUISITES, CONNECTED)
    assert is_allowed(StepName.GRANT_ACCESS, CONNECTED)
    assert is_allowed(StepName.VERIFY, CONNECTED)
    assert not is_allowed(StepName.SETTINGS, CONNECTED)
    assert not is_allowed(StepName.GRANT_ACCESS, NOTHING)
    assert not is_allowed(StepName.DONE, VERIFIED)
    assert all(is_allowed(step, ALL_DONE) for step in StepName)


def test_steps_mark_done_and_current_and_link_only_known_pages() -> None:
    steps = steps_for(CONNECTED, {"connect.prerequisites": "/p", "connect.grant_access": "/g",
                                  "connect.verify": "/v"})
    assert [s.name for s in steps] == [StepName.PREREQUISITES, StepName.GRANT_ACCESS, StepName.VERIFY,
                                       StepName.SETTINGS]
    assert [s.done for s in steps] == [True, True, False, False]
    assert [s.current for s in steps] == [False, False, True, False]
    assert [s.reachable for s in steps] == [True, True, True, False]
    assert steps[3].url is None and steps[3].endpoint == "amazon_settings.index"


def test_checklist_has_the_guides_five_rows_word_for_word() -> None:
    assert CHECKLIST_ROWS == (
        "Confirmed you have an active Amazon Professional Seller account.",
        "Confirmed you have admin or manager access in Ecommerce.",
        "Navigated to Settings > Integrations Settings > Amazon.",
        'Clicked "Grant Access" and completed the Amazon authorization.',
        "Verified that your Amazon Seller ID appears on the integration settings page.",
    )


@pytest.mark.parametrize(("facts", "ticks"), [
    (NOTHING, [False, True, True, False, False]),
    (ACKNOWLEDGED, [True, True, True, False, False]),
    (CONNECTED, [True, True, True, True, False]),
    (VERIFIED, [True] * 5),
])
def test_checklist_ticks_follow_the_facts(facts: Facts, ticks: list[bool]) -> None:
    rows = checklist(facts, can_manage=True, on_integration_page=True)
    assert [row.done for row in rows] == ticks


def test_staff_do_not_see_the_admin_or_manager_row_ticked() -> None:
    rows = checklist(VERIFIED, can_manage=False, on_integration_page=True)

    assert [row.done for row in rows] == [True, False, True, True, True]
    assert "staff access" in rows[1].note


def test_the_navigation_row_is_ticked_on_the_integration_page_before_anything_is_confirmed() -> None:
    assert checklist(NOTHING, can_manage=True, on_integration_page=True)[2].done
    assert not checklist(NOTHING, can_manage=True, on_integration_page=False)[2].done


def test_the_professional_row_follows_amazons_answer_once_amazon_was_asked() -> None:
    individual = replace(CONNECTED, selling_plan="INDIVIDUAL")
    professional = replace(CONNECTED, selling_plan="PROFESSIONAL")

    row = checklist(individual, can_manage=True, on_integration_page=True)[0]

    assert not row.done and "plan as Individual" in row.note
    assert checklist(professional, can_manage=True, on_integration_page=True)[0].done
