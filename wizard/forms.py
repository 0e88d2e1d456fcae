"""Forms shared across blueprints."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length, Regexp


class SignInForm(FlaskForm):
    """Email and password."""

    # A shape check only (wtforms' Email() needs the email_validator package); the lookup decides.
    email = EmailField("Email", filters=[lambda value: value.strip() if value else value],
                       validators=[DataRequired("Enter your email address."),
                                   Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
                                          message="Enter an email address like name@example.com.")])
    password = PasswordField("Password", validators=[DataRequired("Enter your password."), Length(max=200)])


class EmptyForm(FlaskForm):
    """A form with only the CSRF token, for buttons that POST."""
