"""Every declared resource, by collection name, and the one verb served by something other than the
generic handlers: POST appointments books (booking/). Assembled here, above the declarations and
the booking floor, so that neither needs the other."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from openrdv.booking.book import book_appointment
from openrdv.crud.writes import create_record
from openrdv.model.context import CallContext
from openrdv.model.declaration import Resource
from openrdv.resources.accounts import ACCOUNTS
from openrdv.resources.appointments import APPOINTMENTS
from openrdv.resources.catalogue import CALENDARS, CALENDARSETS, INTERVENTIONS, INTERVENTIONSETS
from openrdv.resources.customfields import CUSTOMFIELDS
from openrdv.resources.fiches import FICHES
from openrdv.resources.groups import GROUPS
from openrdv.resources.pros import PROS
from openrdv.resources.vevents import VEVENTS

RESOURCES: dict[str, Resource] = {
    r.name: r
    for r in (
        GROUPS,
        PROS,
        CALENDARSETS,
        CALENDARS,
        INTERVENTIONSETS,
        INTERVENTIONS,
        FICHES,
        CUSTOMFIELDS,
        VEVENTS,
        APPOINTMENTS,
        ACCOUNTS,
    )
}

Creator = Callable[[CallContext, dict[str, Any], bool], dict[str, Any]]
# creates that are not the generic insert, by collection
CREATORS: dict[str, Creator] = {APPOINTMENTS.name: book_appointment}


def create(resource: Resource, ctx: CallContext, body: dict[str, Any], xml: bool = False) -> dict[str, Any]:
    """POST a record of `resource`: its own creator where it has one, else the generic insert."""
    creator = CREATORS.get(resource.name)
    if creator is not None:
        return creator(ctx, body, xml)
    return create_record(resource, ctx, body, xml)
