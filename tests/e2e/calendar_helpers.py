"""Helpers of the Calendar API end-to-end tests: a small client bound to one tenant, record
factories, the field lists the contract promises, and refusal checks."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from .conftest import RunningServer, Tenant, error_of, session_token, unique

SINGULAR = {
    "calendars": "calendar",
    "calendarsets": "calendarset",
    "interventions": "intervention",
    "interventionsets": "interventionset",
    "fiches": "fiche",
    "customfields": "customfield",
    "vevents": "vevent",
}
DATETIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
CUSTOM = (
    [f"bool{i}" for i in range(10)] + [f"dt{i}" for i in range(2)] + [f"num{i}" for i in range(4)]
    + [f"str{i}" for i in range(15)] + [f"txt{i}" for i in range(3)]
)
TIMESTAMPS = ("created_at", "updated_at")

# Every field a pro reads (CONTRACT §5, reference §4.2-4.8), with the value a record created with
# no other field than the required ones must show. `...` = any value of the right kind, checked
# apart (ids, timestamps, the required fields themselves).
PRO_FIELDS: dict[str, dict[str, Any]] = {
    "calendarsets": {
        "id": ..., "group_id": ..., "name": ..., "publicname": "", "description": "", "sort": 0,
        "deleted": False, "created_at": ..., "updated_at": ...,
    },
    "calendars": {
        "id": ..., "group_id": ..., "calendarset_id": None, "name": ..., "publicname": "", "address": "",
        "zipcode": "", "city": "", "description": "", "epj": "", "sort": 0, "interval": 15, "capacity": 1,
        "intervention_ids": [], "deleted": False, "created_at": ..., "updated_at": ...,
    },
    "interventionsets": {
        "id": ..., "group_id": ..., "name": ..., "publicname": "", "description": "", "sort": 0,
        "deleted": False, "created_at": ..., "updated_at": ...,
    },
    "interventions": {
        "id": ..., "group_id": ..., "interventionset_id": None, "name": ..., "publicname": "", "abbr": "",
        "length": 15, "colorref": "#dddddd", "sort": 0, "price": None, "description": "", "calendar_ids": [],
        "deleted": False, "created_at": ..., "updated_at": ...,
    },
    "fiches": {
        "id": ..., "group_id": ..., "lastname": ..., "firstname": "", "firstphone": "", "secondphone": "",
        "email": "", "birthdate": None, "comments": "", "from_web": False, "rappel_email": True,
        "rappel_sms": True, "externid": None, "deleted": False,
        **{name: (False if name.startswith("bool") else None if name[:2] in ("dt", "nu") else "")
           for name in CUSTOM},
        "created_at": ..., "updated_at": ...,
    },
    "customfields": {
        "id": ..., "group_id": ..., "model": ..., "name": ..., "deleted": False, "pro_label": "",
        "pro_inputex": "", "pro_position": 0, "pro_required": False, "user_label": "", "user_inputex": "",
        "user_position": None, "user_required": False, "user_visible": False,
        "created_at": ..., "updated_at": ...,
    },
    "vevents": {
        "id": ..., "group_id": ..., "calendar_id": ..., "start": ..., "end": ..., "fiche_id": 0,
        "intervention_id": 0, "type": "Vevent", "note": False, "text": "", "comments": "", "colorref": "",
        "taker": "", "from_web": False, "websource": "", "state": 0, "rrule": "", "exdates": "",
        "deleted": False,
        **{name: (False if name.startswith("bool") else None if name[:2] in ("dt", "nu") else "")
           for name in CUSTOM},
        "created_at": ..., "updated_at": ...,
    },
}


def check_full_record(collection: str, record: Any, group_id: int) -> None:
    """`record` is a bare object with exactly the pro fields of `collection`, defaults where set."""
    assert isinstance(record, dict), record
    assert "records" not in record, "a single record is bare, not wrapped"
    expected = PRO_FIELDS[collection]
    assert set(record) == set(expected), (
        f"missing {sorted(set(expected) - set(record))}, unexpected {sorted(set(record) - set(expected))}"
    )
    assert isinstance(record["id"], int) and record["id"] > 0
    assert record["group_id"] == group_id
    for name in TIMESTAMPS:
        assert isinstance(record[name], str) and DATETIME.match(record[name]), (name, record[name])


def check_defaults(collection: str, record: dict[str, Any], *, given: set[str]) -> None:
    """The fields the create body did not give hold their documented defaults."""
    for name, value in PRO_FIELDS[collection].items():
        if value is ... or name in given:
            continue
        assert record[name] == value and type(record[name]) is type(value), (name, record[name], value)


def refused(response: httpx.Response, field: str, status: int = 400) -> str:
    """A 400 whose `errors` names `field`; the message for it."""
    sentence = error_of(response, status)
    assert not sentence.endswith(".."), f"one clean sentence: {sentence!r}"
    errors = response.json().get("errors")
    assert isinstance(errors, dict) and field in errors, f"{field!r} not named in {response.text}"
    assert errors[field] and all(isinstance(m, str) and m for m in errors[field]), errors
    return str(errors[field][0])


def not_found(response: httpx.Response) -> None:
    error_of(response, 404)


class Api:
    """One caller (a pro with HTTP Basic, an account with a session cookie, or nobody) talking to
    one group, the apikey in the query."""

    def __init__(self, server: RunningServer, group_id: int, *, auth: tuple[str, str] | None = None,
                 cookie: str | None = None, apikey: str | None = None) -> None:
        headers = {"Cookie": f"_session_id={cookie}"} if cookie else {}
        self.server = server
        self.group_id = group_id
        self.client = server.client(auth=auth, headers=headers,
                                    params={"apikey": apikey or server.apikey})

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- paths --
    def path(self, collection: str, record_id: Any = None, *, group: int | None = None,
             nested: bool = True) -> str:
        base = f"/groups/{group or self.group_id}/{collection}" if nested else f"/{collection}"
        return base if record_id is None else f"{base}/{record_id}"

    # -- verbs --
    def get(self, collection: str, record_id: Any = None, *, group: int | None = None, nested: bool = True,
            params: Any = None) -> httpx.Response:
        return self.client.get(self.path(collection, record_id, group=group, nested=nested), params=params)

    def post(self, collection: str, body: Any, *, group: int | None = None, nested: bool = True,
             wrap: bool = True) -> httpx.Response:
        payload = {SINGULAR[collection]: body} if wrap else body
        return self.client.post(self.path(collection, group=group, nested=nested), json=payload)

    def put(self, collection: str, record_id: Any, body: Any, *, group: int | None = None,
            nested: bool = True, wrap: bool = True) -> httpx.Response:
        payload = {SINGULAR[collection]: body} if wrap else body
        return self.client.put(self.path(collection, record_id, group=group, nested=nested), json=payload)

    def delete(self, collection: str, record_id: Any, *, group: int | None = None,
               nested: bool = True) -> httpx.Response:
        return self.client.delete(self.path(collection, record_id, group=group, nested=nested))

    # -- asserting shortcuts --
    def create(self, collection: str, **fields: Any) -> dict[str, Any]:
        response = self.post(collection, fields)
        assert response.status_code == 201, response.text
        record = response.json()
        assert isinstance(record, dict) and isinstance(record.get("id"), int), record
        return record

    def update(self, collection: str, record_id: int, **fields: Any) -> dict[str, Any]:
        response = self.put(collection, record_id, fields)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def one(self, collection: str, record_id: int) -> dict[str, Any]:
        response = self.get(collection, record_id)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def listing(self, collection: str, params: Any = None, *, nested: bool = True) -> dict[str, Any]:
        response = self.get(collection, params=params, nested=nested)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"records", "totalRecords", "startIndex", "recordsReturned", "pageSize",
                             "sort", "dir"}, body.keys()
        return dict(body)

    def records(self, collection: str, params: Any = None, *, nested: bool = True) -> list[dict[str, Any]]:
        """Every record of a list (results=all unless `params` says otherwise)."""
        query = {"results": "all"}
        if isinstance(params, dict):
            query.update(params)
            return list(self.listing(collection, query, nested=nested)["records"])
        if params is not None:  # a list of pairs (repeated keys)
            return list(self.listing(collection, [("results", "all"), *params], nested=nested)["records"])
        return list(self.listing(collection, query, nested=nested)["records"])

    def ids(self, collection: str, params: Any = None, *, nested: bool = True) -> list[int]:
        return [r["id"] for r in self.records(collection, params, nested=nested)]


def pro_api(server: RunningServer, tenant: Tenant) -> Api:
    return Api(server, tenant.group_id, auth=tenant.auth)


def conditions(*triples: tuple[str, str, Any]) -> list[tuple[str, str]]:
    """`conditions[i][field|op|value]` query pairs."""
    pairs: list[tuple[str, str]] = []
    for i, (field, op, value) in enumerate(triples):
        pairs += [(f"conditions[{i}][field]", field), (f"conditions[{i}][op]", op),
                  (f"conditions[{i}][value]", str(value))]
    return pairs


def new_account(server: RunningServer, group_id: int) -> tuple[dict[str, Any], str]:
    """An online customer registered with `group_id`, logged in: (account record, session token)."""
    email = f"{unique('acct')}@e2e.example.org"
    password = "acct-pw-" + unique()
    with server.client() as client:
        created = client.post("/accounts", params={"apikey": server.apikey},
                              json={"account": {"email": email, "group_id": group_id, "password": password}})
        assert created.status_code == 201, created.text
        logged = client.post("/sessions/login", params={
            "apikey": server.apikey, "account[email]": email, "account[password]": password})
        assert logged.status_code == 200, logged.text
        assert logged.json()["account"]["email"] == email
    return created.json(), session_token(logged)


@contextmanager
def account_api(server: RunningServer, group_id: int) -> Iterator[Api]:
    _, token = new_account(server, group_id)
    api = Api(server, group_id, cookie=token)
    try:
        yield api
    finally:
        api.close()


def crud_cycle(api: Api, collection: str, create: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """POST → GET → PUT → DELETE (soft) → listed → PUT deleted=false, checking every response; the
    restored record."""
    created_response = api.post(collection, create)
    assert created_response.status_code == 201, created_response.text
    created = created_response.json()
    check_full_record(collection, created, api.group_id)
    check_defaults(collection, created, given=set(create))
    record_id = created["id"]

    fetched = api.get(collection, record_id)
    assert fetched.status_code == 200, fetched.text
    assert fetched.json() == created

    updated_response = api.put(collection, record_id, change)
    assert updated_response.status_code == 200, updated_response.text
    updated = updated_response.json()
    check_full_record(collection, updated, api.group_id)
    for name, value in change.items():
        assert updated[name] == value, (name, updated[name], value)
    untouched = {k for k in created if k not in change and k != "updated_at"}
    assert {k: updated[k] for k in untouched} == {k: created[k] for k in untouched}
    assert updated["created_at"] == created["created_at"]
    assert api.one(collection, record_id) == updated

    deleted_response = api.delete(collection, record_id)
    assert deleted_response.status_code == 200, deleted_response.text
    deleted = deleted_response.json()
    check_full_record(collection, deleted, api.group_id)
    assert deleted["deleted"] is True
    assert {k: v for k, v in deleted.items() if k not in ("deleted", "updated_at")} == {
        k: v for k, v in updated.items() if k not in ("deleted", "updated_at")
    }
    still = api.get(collection, record_id)
    assert still.status_code == 200, "a soft-deleted record can still be read"
    assert still.json()["deleted"] is True
    listed = [r for r in api.records(collection) if r["id"] == record_id]
    assert len(listed) == 1 and listed[0]["deleted"] is True, "deleted rows are listed"

    restored = api.update(collection, record_id, deleted=False)
    check_full_record(collection, restored, api.group_id)
    assert restored["deleted"] is False
    assert api.one(collection, record_id)["deleted"] is False
    return restored
