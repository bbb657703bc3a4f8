"""The custom columns a group configures (through customfields) on fiches and vevents."""

from __future__ import annotations

from openrdv.model.declaration import Field, Kind

CUSTOM_KINDS: list[tuple[str, int, Kind]] = [
    ("bool", 10, Kind.BOOL),
    ("dt", 2, Kind.DATETIME),
    ("num", 4, Kind.FLOAT),
    ("str", 15, Kind.STR),
    ("txt", 3, Kind.TEXT),
]
CUSTOM_NAMES: tuple[str, ...] = tuple(f"{prefix}{i}" for prefix, count, _ in CUSTOM_KINDS for i in range(count))


def custom_fields(account: str) -> list[Field]:
    fields: list[Field] = []
    for prefix, count, kind in CUSTOM_KINDS:
        for i in range(count):
            default = False if kind is Kind.BOOL else None
            fields.append(Field(f"{prefix}{i}", kind, 255 if kind is Kind.STR else None, default=default,
                                account=account, usually_default=True, doc=f"custom {kind.value} column"))
    return fields
