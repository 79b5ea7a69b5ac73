"""Reading the console's form fields: what a person (or a tampered page) sends is text, and text that
is not what the field holds is a form error on the page, never a 500."""
from __future__ import annotations

import re

DIGITS = re.compile(r"[0-9]{1,18}")  # ASCII digits only (int() also takes "١", "1_0", " 1 "); fits a bigint


class FieldInvalid(ValueError):
    """A form field that cannot be read: ``field`` and the ``message`` the page shows."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


def whole_number(text: str | None, *, field: str = "version", message: str = "版本号应为整数，请刷新页面后重试") -> int | None:
    """A whole-number field: None when blank, its value when digits, else FieldInvalid."""
    text = (text or "").strip()
    if not text:
        return None
    if not DIGITS.fullmatch(text):
        raise FieldInvalid(field, message)
    return int(text)
