"""The faster input widgets render exactly what WTForms' own render, for every kind of value and field."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, StringField
from wtforms import widgets as wtforms_widgets
from wtforms.form import Form
from wtforms.validators import DataRequired, Length
from wtforms.widgets.core import html_params as wtforms_html_params

from wizard import widgets
from wizard.forms import ChangePasswordForm, SignInForm
from wizard.settings.forms import AmazonSettingsForm

ATTRIBUTES: list[dict[str, Any]] = [
    {},
    {"name": "a", "id": "b", "class_": "x y", "value": "<\"&>'"},
    {"checked": True, "readonly": False, "data_hx_post": "/x?a=1&b=2", "aria_describedby": "h e"},
    {"value": Markup('<b>"q"</b>'), "n": 3, "f": 1.5, "none": None, "for_": "id"},
    {"aria-invalid": "true", "hx-trigger": "input changed delay:300ms", "placeholder": "e.g. 5 units"},
]


@pytest.mark.parametrize("attributes", ATTRIBUTES)
def test_html_params_are_wtforms_html_params(attributes: dict[str, Any]) -> None:
    assert widgets.html_params(**attributes) == wtforms_html_params(**attributes)


class _Both(Form):
    text = StringField("Text", validators=[DataRequired(), Length(max=5)])
    email = EmailField("Email")
    password = PasswordField("Password", validators=[DataRequired()])
    flag = BooleanField("Flag")
    hidden = HiddenField("Hidden")


PAIRS = [("text", wtforms_widgets.TextInput(), widgets.TextInput()),
         ("email", wtforms_widgets.EmailInput(), widgets.EmailInput()),
         ("password", wtforms_widgets.PasswordInput(), widgets.PasswordInput()),
         ("flag", wtforms_widgets.CheckboxInput(), widgets.CheckboxInput()),
         ("hidden", wtforms_widgets.HiddenInput(), widgets.HiddenInput())]


@pytest.mark.parametrize(("name", "theirs", "ours"), PAIRS, ids=[pair[0] for pair in PAIRS])
@pytest.mark.parametrize("data", [{}, {"text": 'a "b" <c>', "email": "x@y.z", "password": "s3cr&t",
                                       "flag": "y", "hidden": "h&1"}])
def test_each_widget_renders_what_wtforms_renders(name: str, theirs: Any, ours: Any,
                                                  data: dict[str, str]) -> None:
    form = _Both(MultiDict(data))
    form.validate()  # errors and flags (required, maxlength) as a submitted form has them
    field = form[name]
    described = {"aria-describedby": "x-help x-error", "aria-invalid": "true"}
    for attributes in ({}, described, {"disabled": True}):
        assert ours(field, **attributes) == theirs(field, **attributes)


def test_our_forms_use_the_faster_widgets() -> None:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="test", WTF_CSRF_ENABLED=False)
    with app.test_request_context("/"):
        for form in (SignInForm(), ChangePasswordForm(), AmazonSettingsForm()):
            for field in form:
                assert field.widget.html_params is widgets.html_params, (type(form).__name__, field.name)


#: The ``field`` macro as it was written in Jinja (before it called ``render_field``): the reference.
JINJA_FIELD = """{% macro field(f, help=None, attrs={}, hx=None) -%}
  {%- set described = [] -%}
  {%- if help %}{% set _ = described.append(f.id ~ '-help') %}{% endif -%}
  {%- if f.errors %}{% set _ = described.append(f.id ~ '-error') %}{% endif -%}
  {%- set extra = {} -%}
  {%- if described %}{% set _ = extra.update({'aria-describedby': described | join(' ')}) %}{% endif -%}
  {%- if f.errors and f.type != 'BooleanField' %}{% set _ = extra.update({'aria-invalid': 'true'}) %}{% endif -%}
  {%- set _ = extra.update(attrs) -%}
  <div class="field{% if f.errors %} field-invalid{% endif %}{% if f.type == 'BooleanField' %} field-check{% endif %}" id="{{ f.id }}-field">
    {% if f.type == 'BooleanField' %}
      {{ f(**extra) }}
      <label for="{{ f.id }}">{{ f.label.text }}</label>
    {% else %}
      <label for="{{ f.id }}">{{ f.label.text }}</label>
      {{ f(**extra) }}
    {% endif %}
    {% if help %}<p class="help" id="{{ f.id }}-help">{{ help }}</p>{% endif %}
    <p class="error" id="{{ f.id }}-error" aria-live="polite">{% for e in f.errors %}{{ e }}{% if not loop.last %} {% endif %}{% endfor %}</p>
  </div>
{%- endmacro %}
{{ field(f, help=help, attrs=attrs) }}"""  # noqa: E501 - the macro verbatim


def _tags(html: str) -> str:
    """Return ``html`` with the whitespace between tags dropped (the browser shows none of it)."""
    return re.sub(r">\s+<", "><", html.strip())


@pytest.mark.parametrize("data", [
    {},  # every field empty: required fields get their messages
    {"text": 'a "b" <c>', "email": "x@y.z", "password": "s3cr&t", "flag": "y"},
    {"text": "far too long <b>", "password": "p"},
])
@pytest.mark.parametrize("help", [None, "Whole units, <b>0</b> or more & more.", Markup("<em>kept</em>")])
@pytest.mark.parametrize("attrs", [{}, {"inputmode": "numeric", "autocomplete": "off", "disabled": True},
                                   {"placeholder": 'No "ceiling"', "aria-describedby": "mine"}])
def test_render_field_renders_what_the_jinja_macro_rendered(data: dict[str, str], help: Any,  # noqa: A002
                                                            attrs: dict[str, Any]) -> None:
    app = Flask(__name__)
    template = app.jinja_env.from_string(JINJA_FIELD)
    form = _Both(MultiDict(data))
    form.validate()
    form.text.errors = [*form.text.errors, "Two <messages> & one field"]
    for field in form:
        if field.type == "HiddenField":
            continue
        with app.app_context():
            theirs = template.render(f=field, help=help, attrs=attrs)
        assert _tags(widgets.render_field(field, help, attrs)) == _tags(theirs), field.name
