"""Every declared resource, by collection name."""

from __future__ import annotations

from openrdv.booking.service import book_appointment
from openrdv.resources.accounts import ACCOUNTS
from openrdv.resources.appointments import APPOINTMENTS
from openrdv.resources.catalogue import CALENDARS, CALENDARSETS, INTERVENTIONS, INTERVENTIONSETS
from openrdv.resources.customfields import CUSTOMFIELDS
from openrdv.resources.declaration import Resource
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
APPOINTMENTS.create_handler = book_appointment
