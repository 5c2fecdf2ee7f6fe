"""Form helpers shared by every domain, and the base classes every form derives from.

`BaseForm` (for FlaskForm) and `BaseSubForm` (for rows in a FieldList/FormField) bind each field with the
input rules of `grants.core.inputs`, so a form declared anywhere in the project gets them without asking:
- single-line text fields fold tabs and line breaks into a space (the request already lost every other
  control character, see core/web.py);
- integer fields read ASCII and full-width digits only, within the database's range ('²', Arabic-Indic
  digits and 5,000-digit numbers are a form error, not a 500);
- decimal fields refuse NaN, infinity and absurd sizes;
- date and datetime fields stay within 2000–2100 unless the field carries its own `DateBounds`.
tests/core/test_hostile_input.py checks that every form class of the application derives from these bases.
"""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (DateField, DateTimeField, DateTimeLocalField, DecimalField, Form, IntegerField,
                     PasswordField, SelectChoice, StringField, TextAreaField)
from wtforms.validators import StopValidation

from grants.core.inputs import MAX_YEAR, MIN_YEAR, normalise_digits, parse_int, single_line


def choices(pairs) -> list[SelectChoice]:
    """[(value, label), ...] → SelectChoice list (WTForms 3.3 deprecates tuples)."""
    return [SelectChoice(value, label) for value, label in pairs]


def form_errors(form) -> str:
    """A form's messages as one line for a flash. They are lazy strings: str.join alone refuses them."""
    return "；".join(str(m) for messages in form.errors.values() for m in messages)


class DateBounds:
    """Declare on a date field whose sane range is not 2000–2100 (e.g. an organisation's registration)."""

    def __init__(self, min_year: int = MIN_YEAR, max_year: int = MAX_YEAR):
        self.min_year, self.max_year = min_year, max_year

    def __call__(self, form, field):  # the check runs while the value is read (_check_date)
        return None


_DECIMAL_RE = re.compile(r"^[+-]?[0-9]{1,15}(\.[0-9]{1,6})?$")


def _text_filter(value):
    return single_line(value) if isinstance(value, str) else value


class _ProcessGuard:
    """First validator of a guarded field: a value refused while it was read stops the chain quietly, so a
    DataRequired after it does not replace the real reason ('年份须在…') with '请填写…'."""

    def __init__(self, field):
        self.field = field
        self.field_flags = {}

    def __call__(self, form, field):
        if getattr(field, "_input_refused", False):
            raise StopValidation()


def _guard(field, check) -> None:
    """Wrap field.process_formdata with `check(field, valuelist)`, which sets field.data or raises ValueError."""
    original = field.process_formdata

    def process_formdata(valuelist):
        field._input_refused = False
        original(valuelist)  # the field's own refusal ('not a valid date' for an empty date) as before
        try:
            check(field, valuelist)
        except ValueError:
            field.data = None
            field._input_refused = True
            raise

    field.process_formdata = process_formdata
    field.validators = [_ProcessGuard(field), *field.validators]


def _read_int(field, valuelist):
    """After IntegerField's own int(): it accepts Arabic-Indic digits and any size; parse_int does not."""
    if not valuelist or valuelist[0] in ("", None):
        field.data = None
        return
    try:
        field.data = parse_int(valuelist[0])
    except ValueError:
        field.data = None
        raise ValueError(str(_l("请填写整数（数值过大或含有非数字字符）"))) from None


def _check_decimal(field, valuelist):
    if not valuelist or valuelist[0] in ("", None):
        return
    text = normalise_digits(str(valuelist[0]).strip())
    if not _DECIMAL_RE.match(text):
        raise ValueError(str(_l("请填写数字（最多 15 位整数、6 位小数）")))
    try:
        field.data = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern already guards this
        raise ValueError(str(_l("请填写数字"))) from None


def _date_bounds(field) -> DateBounds:
    for v in field.validators:
        if isinstance(v, DateBounds):
            return v
    return DateBounds()


def _check_date(field, valuelist):
    bounds = _date_bounds(field)
    if field.data is not None and not bounds.min_year <= field.data.year <= bounds.max_year:
        raise ValueError(str(_l("日期须在 %(a)s 年至 %(b)s 年之间", a=bounds.min_year, b=bounds.max_year)))


def bind_clean_field(field):
    """Apply the project's input rules to one bound field (see the module's docstring)."""
    if isinstance(field, StringField) and not isinstance(field, (TextAreaField, PasswordField)):
        field.filters = (_text_filter, *field.filters)
    if isinstance(field, IntegerField):
        # After int(): Arabic-Indic digits and numbers beyond the database's range are refused too.
        _guard(field, _read_int)
    elif isinstance(field, DecimalField):
        _guard(field, _check_decimal)
    elif isinstance(field, (DateField, DateTimeField, DateTimeLocalField)):
        _guard(field, _check_date)
    return field


class _CleanMeta:
    def bind_field(self, form, unbound_field, options):
        return bind_clean_field(super().bind_field(form, unbound_field, options))


class BaseForm(FlaskForm):
    """Every page form's base: FlaskForm (CSRF) with the project's input rules."""

    class Meta(_CleanMeta, FlaskForm.Meta):
        pass


class BaseSubForm(Form):
    """Base of the rows inside a FieldList/FormField (no CSRF of their own), with the same input rules."""

    class Meta(_CleanMeta, Form.Meta):
        pass
