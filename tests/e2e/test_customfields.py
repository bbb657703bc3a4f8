"""customfields end to end: CRUD (an extension: the real API documents reads only), `name` must be a
real column of its model, the documented `model` condition, tenant isolation. What accounts see of
them is in test_calendar_resources.py."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from .calendar_helpers import (
    CUSTOM,
    Api,
    check_full_record,
    conditions,
    crud_cycle,
    not_found,
    pro_api,
    refused,
)
from .conftest import RunningServer, Tenant


@dataclass
class Pair:
    a: Tenant
    b: Tenant
    api: Api
    b_field: dict[str, Any]


@pytest.fixture(scope="module")
def pair(server: RunningServer) -> Iterator[Pair]:
    a, b = server.new_tenant(), server.new_tenant()
    with pro_api(server, b) as api_b:
        b_field = api_b.create("customfields", model="Fiche", name="str0", pro_label="Theirs")
    api = pro_api(server, a)
    yield Pair(a, b, api, b_field)
    api.close()


def test_crud_cycle(pair: Pair) -> None:
    restored = crud_cycle(
        pair.api, "customfields", {"model": "Fiche", "name": "str3"},
        {"pro_label": "Mutuelle", "pro_inputex": '{"type":"string","label":"Mutuelle","name":"str3"}',
         "pro_position": 4, "pro_required": True, "user_label": "Votre mutuelle", "user_position": 2,
         "user_required": True, "user_visible": True},
    )
    assert (restored["model"], restored["name"]) == ("Fiche", "str3")


def test_create_with_every_field(pair: Pair) -> None:
    body = {"model": "Fiche", "name": "birthdate", "pro_label": "Né(e) le",
            "pro_inputex": '{"type":"datesplit","label":"Né(e) le","name":"birthdate","dateFormat":"d/m/Y"}',
            "pro_position": 1, "pro_required": False, "user_label": "Date de naissance",
            "user_inputex": '{"type":"datesplit"}', "user_position": 3, "user_required": True,
            "user_visible": True}
    record = pair.api.create("customfields", **body)
    check_full_record("customfields", record, pair.a.group_id)
    assert {k: record[k] for k in body} == body


@pytest.mark.parametrize(
    ("model", "name"),
    [("Fiche", column) for column in CUSTOM[::3]] + [("Vevent", column) for column in CUSTOM[1::3]]
    + [("Fiche", "lastname"), ("Fiche", "email"), ("Vevent", "text"), ("Vevent", "comments")],
)
def test_every_real_column_is_accepted(pair: Pair, model: str, name: str) -> None:
    record = pair.api.create("customfields", model=model, name=name, pro_label=f"{model}.{name}")
    assert (record["model"], record["name"]) == (model, name)
    pair.api.delete("customfields", record["id"])  # frees the column for the next tests


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"model": "Fiche", "name": "str15"}, "name"),
        ({"model": "Fiche", "name": "bool10"}, "name"),
        ({"model": "Fiche", "name": "dt2"}, "name"),
        ({"model": "Fiche", "name": "num4"}, "name"),
        ({"model": "Fiche", "name": "txt3"}, "name"),
        ({"model": "Fiche", "name": "STR0"}, "name"),
        ({"model": "Fiche", "name": "shoe_size"}, "name"),
        ({"model": "Fiche", "name": "text"}, "name"),  # a column of Vevent, not of Fiche
        ({"model": "Vevent", "name": "birthdate"}, "name"),  # a column of Fiche, not of Vevent
        ({"model": "Vevent", "name": "lastname"}, "name"),
        ({"model": "Fiche", "name": "id"}, "name"),
        ({"model": "Fiche", "name": "group_id"}, "name"),
        ({"model": "Fiche"}, "name"),
        ({"model": "Fiche", "name": ""}, "name"),
        ({"model": "Patient", "name": "str0"}, "model"),
        ({"model": "fiche", "name": "str0"}, "model"),
        ({"model": "", "name": "str0"}, "model"),
        ({"model": "Fiche", "name": "str4", "pro_position": "top"}, "pro_position"),
        ({"model": "Fiche", "name": "str4", "user_position": "2nd"}, "user_position"),
        ({"model": "Fiche", "name": "str4", "user_visible": "visible"}, "user_visible"),
        ({"model": "Fiche", "name": "str4", "pro_required": "sure"}, "pro_required"),
        ({"model": "Fiche", "name": "str4", "pro_label": "l" * 256}, "pro_label"),
        ({"model": "Fiche", "name": "str4", "user_label": "l" * 256}, "user_label"),
    ],
)
def test_create_refusals_name_the_field(pair: Pair, body: dict[str, Any], field: str) -> None:
    before = pair.api.listing("customfields")["totalRecords"]
    refused(pair.api.post("customfields", body), field)
    assert pair.api.listing("customfields")["totalRecords"] == before


def test_update_to_a_column_of_the_other_model_is_refused(pair: Pair) -> None:
    record = pair.api.create("customfields", model="Vevent", name="str5")
    refused(pair.api.put("customfields", record["id"], {"name": "birthdate"}), "name")
    refused(pair.api.put("customfields", record["id"], {"name": "str99"}), "name")
    refused(pair.api.put("customfields", record["id"], {"model": "Fiche", "name": "text"}), "name")
    assert pair.api.one("customfields", record["id"]) == record
    moved = pair.api.update("customfields", record["id"], model="Fiche", name="secondphone")
    assert (moved["model"], moved["name"]) == ("Fiche", "secondphone")
    pair.api.delete("customfields", record["id"])


def test_one_customfield_per_column(pair: Pair) -> None:
    first = pair.api.create("customfields", model="Vevent", name="num2", pro_label="Tarif")
    refused(pair.api.post("customfields", {"model": "Vevent", "name": "num2"}), "name")
    # the same column of the other model is another column
    other = pair.api.create("customfields", model="Fiche", name="num2")
    pair.api.delete("customfields", first["id"])
    again = pair.api.create("customfields", model="Vevent", name="num2", pro_label="Tarif 2")
    assert again["id"] not in (first["id"], other["id"])


def test_strings_are_converted(pair: Pair) -> None:
    record = pair.api.create("customfields", model="Fiche", name="txt1", group_id=str(pair.a.group_id),
                             pro_position="3", user_position="5", pro_required="1", user_visible="true",
                             user_required="0", deleted="false", unknown_key="ignored")
    assert (record["pro_position"], record["user_position"]) == (3, 5)
    assert (record["pro_required"], record["user_visible"], record["user_required"]) == (True, True, False)
    assert record["group_id"] == pair.a.group_id and "unknown_key" not in record


def test_model_condition_of_the_documentation(pair: Pair) -> None:
    fiche_field = pair.api.create("customfields", model="Fiche", name="bool4")
    vevent_field = pair.api.create("customfields", model="Vevent", name="bool4")
    fiche_ids = pair.api.ids("customfields", conditions(("model", "=", "Fiche")))
    vevent_ids = pair.api.ids("customfields", conditions(("model", "=", "Vevent")))
    assert fiche_field["id"] in fiche_ids and fiche_field["id"] not in vevent_ids
    assert vevent_field["id"] in vevent_ids and vevent_field["id"] not in fiche_ids
    everything = pair.api.records("customfields")
    assert {r["id"] for r in everything if r["model"] == "Fiche"} == set(fiche_ids)
    assert {r["id"] for r in everything if r["model"] == "Vevent"} == set(vevent_ids)


def test_search_labels(pair: Pair) -> None:
    field = pair.api.create("customfields", model="Fiche", name="str8", pro_label="Médecin traitant",
                            user_label="Votre médecin")
    assert pair.api.ids("customfields", {"search": "MEDECIN traitant"}) == [field["id"]]


def test_another_tenants_customfield_is_404(pair: Pair) -> None:
    theirs = pair.b_field["id"]
    for kw in ({}, {"group": pair.b.group_id}, {"nested": False}):
        not_found(pair.api.get("customfields", theirs, **kw))
        not_found(pair.api.put("customfields", theirs, {"pro_label": "x"}, **kw))
        not_found(pair.api.delete("customfields", theirs, **kw))
    assert theirs not in pair.api.ids("customfields", nested=False)
    # the other group's configuration does not clash with this one's
    mine = pair.api.create("customfields", model="Fiche", name="str0")
    assert mine["id"] != theirs
