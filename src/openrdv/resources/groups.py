"""groups: the businesses. Created by the operator (CLI), read and updated by their pros."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from openrdv.agenda.zones import is_valid_zone
from openrdv.errors import invalid
from openrdv.model.context import CallContext
from openrdv.model.declaration import (
    Behaviour,
    Field,
    Kind,
    ListFilter,
    Resource,
    id_field,
    timestamp_fields,
)

PUBLIC = "r"  # what accounts (online customers) and anonymous catalogue reads may see


def slugify(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-") or "group"


class GroupBehaviour(Behaviour):
    def validate(self, ctx: CallContext, values: dict[str, Any], existing: dict[str, Any] | None) -> None:
        if not is_valid_zone(values.get("timezone") or ""):
            raise invalid(
                "timezone", f"must be an IANA time zone name such as Europe/Paris, got {values.get('timezone')!r}"
            )
        if not (values.get("name") or "").strip():
            raise invalid("name", "can't be blank")
        urlname = values.get("urlname") or ""
        if urlname and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", urlname):
            raise invalid("urlname", "may contain only letters, digits, '.', '_' and '-'")
        if urlname:
            clash = ctx.conn.scalar(
                "SELECT id FROM groups WHERE urlname = ? AND id <> ?",
                (urlname, existing["id"] if existing else 0),
            )
            if clash is not None:
                raise invalid("urlname", "is already taken by another group")


def _urlname_filter(value: Any, ctx: CallContext) -> tuple[str, list[Any]]:
    return 't."urlname" = ?', [str(value)]


GROUPS = Resource(
    name="groups",
    singular="group",
    table="groups",
    tenancy="groups",
    pro_verbs=frozenset({"list", "get", "update"}),
    account_verbs=frozenset({"list", "get"}),
    anonymous_read=True,
    search_fields=("name", "city", "zipcode"),
    filters=(
        ListFilter(
            "urlname",
            many=False,
            kind=Kind.STR,
            build=_urlname_filter,
            doc="the group whose urlname (booking-page slug) is this",
        ),
    ),
    behaviour=GroupBehaviour(),
    doc="A business location: owns calendars, services, customer records and events.",
    fields=[
        id_field(),
        Field("name", Kind.STR, 255, default="", account=PUBLIC, required=True, doc="business name"),
        Field("preposition", Kind.STR, 255, default="", account=PUBLIC, doc="word used before the name"),
        Field("urlname", Kind.STR, 255, default="", account=PUBLIC, doc="slug of the public booking page"),
        Field("phone", Kind.STR, 20, default="", account=PUBLIC),
        Field("fax", Kind.STR, 20, default="", account=PUBLIC),
        Field("address", Kind.STR, 255, default="", account=PUBLIC),
        Field("city", Kind.STR, 64, default="", account=PUBLIC),
        Field("zipcode", Kind.STR, 16, default="", account=PUBLIC),
        Field("country", Kind.STR, 255, default="", account=PUBLIC),
        Field("timezone", Kind.STR, 255, default="Europe/Paris", account=PUBLIC, doc="IANA time zone"),
        Field("sendmail", Kind.BOOL, default=True, doc="e-mail customers on booking changes"),
        Field(
            "mailreminder",
            Kind.INT,
            default=0,
            min_value=0,
            max_value=2880,
            doc="e-mail reminder lead time in minutes, 0 = none",
        ),
        Field("country_code", Kind.STR, 10, default="33", doc="default phone prefix"),
        Field(
            "smsreminder",
            Kind.INT,
            default=0,
            min_value=0,
            max_value=1440,
            doc="SMS reminder lead time in minutes, 0 = none",
        ),
        Field("inactive", Kind.BOOL, default=False, account=PUBLIC, doc="group disabled"),
        Field("open", Kind.BOOL, default=True, account=PUBLIC, doc="booking module open to the public"),
        Field("openData", Kind.TEXT, default="", account=PUBLIC, doc="extra data about opening"),
        Field(
            "calendarChoice",
            Kind.INT,
            default=0,
            account=PUBLIC,
            choices=(0, 1, 2),
            doc="0 automatic, 1 calendar first, 2 service first",
        ),
        Field("anyCalendar", Kind.BOOL, default=True, account=PUBLIC, doc="offer 'no preference'"),
        Field("validateEmail", Kind.BOOL, default=False, account=PUBLIC, doc="new accounts confirm their e-mail first"),
        Field("display_intervention_length", Kind.BOOL, default=True, account=PUBLIC),
        Field("display_intervention_price", Kind.BOOL, default=False, account=PUBLIC),
        Field(
            "max_multirdvs",
            Kind.INT,
            default=1,
            account=PUBLIC,
            min_value=1,
            max_value=20,
            doc="services bookable in one appointment",
        ),
        Field(
            "rdv_min_notice", Kind.INT, default=0, account=PUBLIC, min_value=0, doc="minutes of notice a booking needs"
        ),
        Field(
            "rdv_max_period",
            Kind.INT,
            default=365,
            account=PUBLIC,
            min_value=1,
            max_value=3650,
            doc="days ahead a booking may be",
        ),
        Field(
            "rdv_max_upcoming",
            Kind.INT,
            default=0,
            account=PUBLIC,
            min_value=0,
            doc="upcoming appointments per customer, 0 = no limit",
        ),
        Field(
            "rdv_min_between",
            Kind.INT,
            default=0,
            account=PUBLIC,
            min_value=0,
            doc="minutes between a customer's appointments, 0 = none",
        ),
        *timestamp_fields(account=PUBLIC),
    ],
)
