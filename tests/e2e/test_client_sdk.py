"""The Python client against a real server: sessions with SHA-1 passwords, paging, CRUD, errors,
availability and booking, sync and async."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest

from openrdv.client import AsyncClient, ClicRdvError, Client, conditions_params, singular

from .conftest import RunningServer


def test_singular_and_conditions_helpers() -> None:
    assert singular("fiches") == "fiche"
    assert singular("interventionsets") == "interventionset"
    assert conditions_params([("updated_at", ">=", "2010-02-01 00:00:00"), ("id", "in", [1, 2])]) == {
        "conditions[0][field]": "updated_at",
        "conditions[0][op]": ">=",
        "conditions[0][value]": "2010-02-01 00:00:00",
        "conditions[1][field]": "id",
        "conditions[1][op]": "in",
        "conditions[1][value]": "1,2",
    }


def test_session_login_crud_paging_and_errors(server: RunningServer) -> None:
    tenant = server.new_tenant()
    with Client(server.url, server.apikey) as api:
        me = api.login(tenant.email, tenant.password)
        assert me["group_id"] == tenant.group_id
        made = [api.create("fiches", {"lastname": f"Sdk{n}", "firstname": "Émile"}, tenant.group_id)
                for n in range(7)]
        names = [f["lastname"] for f in api.iterate("fiches", tenant.group_id, page_size=3, sort="id")]
        assert names == [f"Sdk{n}" for n in range(7)]
        found = api.list("fiches", tenant.group_id, search="emile sdk3")
        assert [r["id"] for r in found["records"]] == [made[3]["id"]]
        recent = api.list("fiches", tenant.group_id, conditions=[("id", ">", made[4]["id"])])
        assert recent["totalRecords"] == 2
        changed = api.update("fiches", made[0]["id"], {"firstphone": "0601020304"}, tenant.group_id)
        assert changed["firstphone"] == "0601020304"
        assert api.delete("fiches", made[1]["id"], tenant.group_id)["deleted"] is True
        with pytest.raises(ClicRdvError) as refused:
            api.create("fiches", {"lastname": "x" * 65}, tenant.group_id)
        assert refused.value.status == 400
        assert "lastname" in refused.value.errors
        api.logout()
        with pytest.raises(ClicRdvError) as logged_out:
            api.list("fiches", tenant.group_id)
        assert logged_out.value.status == 401


def test_basic_auth_availability_and_idempotent_booking(server: RunningServer) -> None:
    tenant = server.new_tenant()
    day = (date.today() + timedelta(days=3)).isoformat()
    with Client(server.url, server.apikey, tenant.email, tenant.password) as api:
        service = api.create("interventions", {"name": "SDK", "publicname": "SDK", "length": 30}, tenant.group_id)
        calendar = api.create("calendars", {"name": "SDK", "publicname": "SDK", "intervention_ids": [service["id"]]},
                              tenant.group_id)
        api.create("vevents", {"calendar_id": calendar["id"], "type": "VfreebusyEvent",
                               "start": f"{day} 09:00:00", "end": f"{day} 10:00:00"}, tenant.group_id)
        slots = api.available_slots(tenant.group_id, [service["id"]], start=f"{day} 00:00:00", nDays=1)
        assert [s["start"] for s in slots["availabletimeslots"]] == [
            f"{day} 09:00:00", f"{day} 09:15:00", f"{day} 09:30:00"]
        first = api.book(tenant.group_id, f"{day} 09:00:00", [service["id"]], {"lastname": "Sdk"},
                         idempotency_key="sdk-1")
        again = api.book(tenant.group_id, f"{day} 09:00:00", [service["id"]], {"lastname": "Sdk"},
                         idempotency_key="sdk-1")
        assert again["id"] == first["id"]
        with pytest.raises(ClicRdvError) as taken:
            api.book(tenant.group_id, f"{day} 09:00:00", [service["id"]], {"lastname": "Other"})
        assert (taken.value.code, taken.value.name) == (10, "NotAvailable")


def test_async_client_lists_and_reads(server: RunningServer) -> None:
    tenant = server.new_tenant()

    async def run() -> tuple[int, list[str]]:
        async with AsyncClient(server.url, server.apikey, tenant.email, tenant.password) as api:
            for n in range(3):
                await api.create("calendars", {"name": f"Async{n}"}, tenant.group_id)
            names = [c["name"] async for c in api.iterate("calendars", tenant.group_id, page_size=2)]
            group = await api.get("groups", tenant.group_id)
            return group["id"], names

    group_id, names = asyncio.run(run())
    assert group_id == tenant.group_id
    assert names == ["Async0", "Async1", "Async2"]
