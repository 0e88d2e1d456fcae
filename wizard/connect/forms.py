"""The connect flow's forms (flask-wtf: every one carries the CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField
from wtforms.validators import AnyOf, DataRequired, Length


class AcknowledgeForm(FlaskForm):
    """Step 1: what the merchant confirms before granting access."""

    professional_plan = BooleanField(
        "My Amazon seller account is on the Professional selling plan",
        validators=[DataRequired("Confirm that your Amazon seller account is on the Professional plan. "
                                 "The Individual plan cannot use the integration.")],
    )
    us_marketplace = BooleanField(
        "I sell on the Amazon US marketplace (amazon.com)",
        validators=[DataRequired("Confirm that you sell on Amazon US. If you sell on another Amazon "
                                 "marketplace, contact Ecommerce support before beginning setup.")],
    )


class StartAuthorizationForm(FlaskForm):
    """Step 2: the Grant Access button. ``mode`` says how the consent page was opened."""

    mode = HiddenField(default="tab", validators=[AnyOf(["popup", "tab"])])


class LoginUriForm(FlaskForm):
    """The Login URI confirmation: Amazon's parameters carried to the Continue button."""

    amazon_callback_uri = HiddenField(validators=[DataRequired(), Length(max=2000)])
    amazon_state = HiddenField(validators=[DataRequired(), Length(max=1000)])
    selling_partner_id = HiddenField(validators=[DataRequired(), Length(max=64)])
    version = HiddenField(validators=[Length(max=20)])
