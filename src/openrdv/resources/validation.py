"""Field checks shared by several resources."""

from __future__ import annotations

import re

from openrdv.errors import invalid

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def check_email(value: str, *, required: bool = False, name: str = "email") -> None:
    if not value:
        if required:
            raise invalid(name, "can't be blank")
        return
    if not _EMAIL.match(value):
        raise invalid(name, f"is not a valid e-mail address: {value!r}")
