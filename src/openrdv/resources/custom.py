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


# a custom date may be any date a business records (a birth date among them): the birthdate's years
CUSTOM_DATE_YEARS = (1800, 2200)


def shown_online_sql(model: str) -> str:
    """The groups whose customfields show a custom column of `model` online (its name bound to `?`)."""
    return (f"SELECT c.group_id FROM customfields c WHERE c.model = '{model}' AND c.name = ? "
            "AND c.user_visible = TRUE AND c.deleted = FALSE")


def custom_fields(account: str, online_model: str | None = None) -> list[Field]:
    """The custom columns; with `online_model`, an account reads each only where its group shows it."""
    shown = shown_online_sql(online_model) if online_model else None
    fields: list[Field] = []
    for prefix, count, kind in CUSTOM_KINDS:
        for i in range(count):
            default = False if kind is Kind.BOOL else None
            years = CUSTOM_DATE_YEARS if kind is Kind.DATETIME else None
            fields.append(Field(f"{prefix}{i}", kind, 255 if kind is Kind.STR else None, default=default,
                                account=account, usually_default=True, years=years, account_groups_sql=shown,
                                doc=f"custom {kind.value} column"))
    return fields
