"""Forms shared across blueprints."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp

from wizard.widgets import EmailInput, PasswordInput


class SignInForm(FlaskForm):
    """Email and password."""

    # A shape check only (wtforms' Email() needs the email_validator package); the lookup decides.
    email = EmailField("Email", widget=EmailInput(),
                       filters=[lambda value: value.strip() if value else value],
                       validators=[DataRequired("Enter your email address."),
                                   Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
                                          message="Enter an email address like name@example.com.")])
    password = PasswordField("Password", widget=PasswordInput(),
                             validators=[DataRequired("Enter your password."), Length(max=200)])


class EmptyForm(FlaskForm):
    """A form with only the CSRF token, for buttons that POST."""


class ChangePasswordForm(FlaskForm):
    """The current password, and the new one twice."""

    current_password = PasswordField("Current password", widget=PasswordInput(), validators=[
        DataRequired("Enter your current password."), Length(max=200),
    ])
    new_password = PasswordField("New password", widget=PasswordInput(), validators=[
        DataRequired("Enter a new password."),
        Length(min=8, max=200, message="Use between 8 and 200 characters."),
    ])
    confirm_password = PasswordField("New password again", widget=PasswordInput(), validators=[
        DataRequired("Enter the new password again."),
        EqualTo("new_password", message="The two new passwords are different. Type the same one twice."),
    ])
