"""WTForms' input widgets with a faster ``html_params``: the same HTML, built without ``Markup.format``.

WTForms builds each attribute with ``Markup('{k}="{v}"').format(...)``, which escapes through
``string.Formatter``: about 0.25 ms per input on this machine, 1.2 ms of every settings page. Widgets expose
``html_params`` as a staticmethod to override; these keep WTForms' rules (sorted keys, ``class_`` → ``class``,
``data_``/``aria_`` underscores → hyphens, ``True`` alone, ``False`` left out) and its escaping.
``tests/unit/test_widgets.py`` compares them with WTForms' own for every kind of value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from markupsafe import Markup, escape
from wtforms import Field, widgets
from wtforms.widgets.core import clean_key


def html_params(**kwargs: Any) -> Markup:
    """Return ``key="value"`` attributes exactly as :func:`wtforms.widgets.html_params` does."""
    params = []
    for key, value in sorted(kwargs.items()):
        name = clean_key(key)
        if value is True:
            params.append(name)
        elif value is not False:
            params.append(f'{escape(name)}="{str(escape(value)).replace(chr(34), "&quot;")}"')
    return Markup(" ".join(params))  # noqa: S704 - every name and value above went through escape()


class TextInput(widgets.TextInput):
    """``<input type="text">``."""

    html_params = staticmethod(html_params)


class EmailInput(widgets.EmailInput):
    """``<input type="email">``."""

    html_params = staticmethod(html_params)


class PasswordInput(widgets.PasswordInput):
    """``<input type="password">`` (never echoes the value back, as WTForms' own)."""

    html_params = staticmethod(html_params)


class HiddenInput(widgets.HiddenInput):
    """``<input type="hidden">``."""

    html_params = staticmethod(html_params)


class CheckboxInput(widgets.CheckboxInput):
    """``<input type="checkbox">``."""

    html_params = staticmethod(html_params)


def render_field(field: Field, help: str | None = None, attrs: Mapping[str, Any] | None = None) -> Markup:  # noqa: A002
    """Return a field's label, input, help text and errors: the markup of the ``field`` macro of
    ``macros/forms.html``, which calls this.

    Built in Jinja, the same markup took about 90 µs per field (each ``append``, ``update`` and attribute
    lookup is a call through the template's context); a settings page shows four fields.
    ``tests/unit/test_widgets.py`` compares it with the macro as it was written in Jinja.
    """
    errors = field.errors
    check = field.type == "BooleanField"
    described = ([f"{field.id}-help"] if help else []) + ([f"{field.id}-error"] if errors else [])
    # Only ARIA attributes that have a value: WTForms would print a Python None as "None".
    extra: dict[str, Any] = {"aria-describedby": " ".join(described)} if described else {}
    if errors and not check:
        extra["aria-invalid"] = "true"
    extra.update(attrs or {})
    ident = escape(field.id)
    # The label is written out: WTForms' label() builds the very same tag through its slow html_params.
    label = f'<label for="{ident}">{escape(field.label.text)}</label>'
    control = str(field(**extra))
    lines = [f'<div class="field{" field-invalid" if errors else ""}{" field-check" if check else ""}" '
             f'id="{ident}-field">', *((control, label) if check else (label, control))]
    if help:
        lines.append(f'<p class="help" id="{ident}-help">{escape(help)}</p>')
    messages = " ".join(str(escape(error)) for error in errors)
    lines.append(f'<p class="error" id="{ident}-error" aria-live="polite">{messages}</p>')
    lines.append("</div>")
    return Markup("\n".join(lines))  # noqa: S704 - every value above went through escape() or html_params


__all__ = ["CheckboxInput", "EmailInput", "HiddenInput", "PasswordInput", "TextInput", "html_params",
           "render_field"]
