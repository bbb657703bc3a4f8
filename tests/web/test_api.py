"""`Api.handle` in this process, on a real SQLite database: routing, formats, authentication and the
tenant boundary as a client sees them (status, headers, body), without starting a server."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest

from openrdv import admin
from openrdv.auth.apikeys import create_apikey
from openrdv.db.engine import Database
from openrdv.migrations import upgrade
from openrdv.settings import Settings
from openrdv.web.api import Api
from openrdv.web.http import ApiRequest, ApiResponse
from openrdv.web.openapi import openapi_bytes

JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "application/xml; charset=utf-8"


@dataclass(frozen=True)
class User:
    id: int
    email: str
    password: str

    @property
    def basic(self) -> dict[str, str]:
        encoded = base64.b64encode(f"{self.email}:{self.password}".encode()).decode()
        return {"authorization": "Basic " + encoded}


@dataclass(frozen=True)
class World:
    api: Api
    db: Database
    key: str
    group_a: int
    group_b: int
    pro_a: User
    pro_b: User
    account: User
    fiches_a: tuple[int, ...]  # group A's fiches, the account's one included
    fiche_b: int
    account_fiche: int  # in group A, belonging to the account

    def call(
        self,
        method: str,
        path: str,
        query: str | dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        as_user: User | None = None,
        apikey: bool = True,
    ) -> ApiResponse:
        """One request as app.py hands it over: `query` a raw query string or parameters, to which
        the API key is added unless `apikey` is False or the raw string is used as is."""
        if query is None or isinstance(query, dict):
            params = {**({"apikey": self.key} if apikey else {}), **(query or {})}
            query_string = urlencode(params)
        else:
            query_string = query
        all_headers = {**(as_user.basic if as_user else {}), **(headers or {})}
        request = ApiRequest(method, path, query_string, all_headers, body, client="127.0.0.1", request_id="t")
        return self.api.handle(request)


def body_of(response: ApiResponse) -> bytes:
    return b"".join(response.stream) if response.stream is not None else response.body


def json_of(response: ApiResponse) -> Any:
    assert response.media_type == JSON_TYPE, response.media_type
    return json.loads(body_of(response))


def header(response: ApiResponse, name: str) -> str | None:
    return next((v for k, v in response.headers if k.lower() == name.lower()), None)


def error_of(response: ApiResponse, status: int) -> str:
    assert response.status == status, (response.status, body_of(response))
    message = json_of(response)["error"]
    assert isinstance(message, str) and message
    return message


def ids(response: ApiResponse) -> list[int]:
    assert response.status == 200, body_of(response)
    return [int(r["id"]) for r in json_of(response)["records"]]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    url = "sqlite:///" + str(tmp_path_factory.mktemp("api") / "api.db")
    upgrade(url)
    db = Database(url)
    # every request of the module comes with one key from one address: no rate limit in the way
    # (test_rate_limits.py tests them)
    settings = Settings(database_url=url, rate_limit=1_000_000)
    with db.connect() as conn:
        _, key = create_apikey(conn, "tests", "sandbox")
    group_a = int(admin.create(db, settings, "groups", {"name": "A", "timezone": "Europe/Paris"})["id"])
    group_b = int(admin.create(db, settings, "groups", {"name": "B", "timezone": "America/New_York"})["id"])
    pros = []
    for name, group_id in (("a", group_a), ("b", group_b)):
        email, password = f"pro-{name}@example.org", f"secret-{name}-123"
        fields = {"lastname": name.upper(), "firstname": "Pro", "email": email, "password": password}
        pros.append(User(int(admin.create(db, settings, "pros", fields, group_id=group_id)["id"]), email, password))
    fiches_a = [
        int(admin.create(db, settings, "fiches", {"lastname": f"A{i}"}, group_id=group_a)["id"]) for i in range(3)
    ]
    fiche_b = int(admin.create(db, settings, "fiches", {"lastname": "B0"}, group_id=group_b)["id"])
    api = Api(settings, db)
    api.openapi_document = openapi_bytes

    # an account is made the way a booking page makes it: POST accounts with the API key alone
    account_fields = {"email": "customer@example.org", "password": "secret-c-123", "group_id": group_a}
    made = api.handle(
        ApiRequest(
            "POST",
            "accounts",
            urlencode({"apikey": key}),
            {"content-type": "application/json"},
            json.dumps({"account": account_fields}).encode(),
            client="127.0.0.1",
            request_id="t",
        )
    )
    assert made.status == 201, made.body
    account = User(int(json.loads(made.body)["id"]), "customer@example.org", "secret-c-123")
    account_fiche = fiches_a[-1]
    with db.connect() as conn:  # bookings link a fiche to its account; no API field writes it
        conn.execute("UPDATE fiches SET account_id = ? WHERE id = ?", (account.id, account_fiche))
    yield World(api, db, key, group_a, group_b, pros[0], pros[1], account, tuple(fiches_a), fiche_b, account_fiche)
    db.close()


# -- routing ----------------------------------------------------------------------------------------------
def test_unknown_path_is_404(world: World) -> None:
    assert "not found" in error_of(world.call("GET", "nothing", as_user=world.pro_a), 404).lower()
    assert "openapi.json" in error_of(world.call("GET", "", as_user=world.pro_a), 404)
    assert world.call("GET", "fiches/abc", as_user=world.pro_a).status == 404
    assert world.call("GET", f"fiches/{world.fiches_a[0]}/more", as_user=world.pro_a).status == 404


def test_nested_unknown_resource_is_404(world: World) -> None:
    for path in ("nothing", "nothing/1", "groups", "accounts", "fiches/1/more"):
        response = world.call("GET", f"groups/{world.group_a}/{path}", as_user=world.pro_a)
        assert response.status == 404, (path, response.status)


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "pros/{pro}", "GET, PUT"),  # pros are never deleted over the API
        ("PUT", "fiches", "GET, POST"),
        ("POST", "fiches/{fiche}", "GET, PUT, DELETE"),
        ("PUT", "sessions/login", "POST"),
        ("PUT", "sessions/logout", "GET, POST, DELETE"),
        ("POST", "openapi.json", "GET"),
        ("POST", "availabletimeslots", "GET"),
        ("DELETE", "groups/{group}/availabletimeslots", "GET"),
    ],
)
def test_a_verb_not_offered_is_405_with_allow(world: World, method: str, path: str, allow: str) -> None:
    target = path.format(pro=world.pro_a.id, fiche=world.fiches_a[0], group=world.group_a)
    response = world.call(method, target, as_user=world.pro_a)
    message = error_of(response, 405)
    assert header(response, "Allow") == allow
    assert message == f"{method} is not offered on this resource; allowed: {allow}."


def test_405_comes_before_authentication(world: World) -> None:
    response = world.call("DELETE", f"pros/{world.pro_a.id}", apikey=False)
    assert response.status == 405 and header(response, "Allow") == "GET, PUT"


def test_json_by_default_and_xml_by_suffix_parameter_or_accept(world: World) -> None:
    path = f"groups/{world.group_a}/fiches/{world.fiches_a[0]}"
    plain = world.call("GET", path, as_user=world.pro_a)
    assert plain.status == 200 and json_of(plain)["lastname"] == "A0"
    as_json = world.call("GET", path + ".json", headers={"accept": "application/xml"}, as_user=world.pro_a)
    assert json_of(as_json)["id"] == world.fiches_a[0], "the suffix wins over Accept"
    for response in (
        world.call("GET", path + ".xml", as_user=world.pro_a),
        world.call("GET", path, {"format": "xml"}, as_user=world.pro_a),
        world.call("GET", path, headers={"accept": "application/xml"}, as_user=world.pro_a),
    ):
        assert response.status == 200 and response.media_type == XML_TYPE
        assert b"<fiche>" in response.body and b"<lastname>A0</lastname>" in response.body
    browser = world.call(
        "GET", path, headers={"accept": "text/html,application/xml;q=0.9,*/*;q=0.8"}, as_user=world.pro_a
    )
    assert browser.media_type == JSON_TYPE, "a browser's Accept list gets the default"
    xml_error = world.call("GET", f"fiches/{world.fiche_b}.xml", as_user=world.pro_a)
    assert xml_error.status == 404 and xml_error.media_type == XML_TYPE, "errors speak the negotiated format"
    unrouted = world.call("GET", "nothing.xml", as_user=world.pro_a)
    assert unrouted.status == 404 and unrouted.media_type == JSON_TYPE, "no route, no format yet: JSON"


def test_unknown_format_is_406(world: World) -> None:
    path = f"fiches/{world.fiches_a[0]}"
    assert ".yaml" in error_of(world.call("GET", path + ".yaml", as_user=world.pro_a), 406)
    assert "format=json" in error_of(world.call("GET", path, {"format": "csv"}, as_user=world.pro_a), 406)
    error_of(world.call("GET", path, headers={"accept": "text/csv"}, as_user=world.pro_a), 406)


def test_a_trailing_slash_is_ignored(world: World) -> None:
    member = f"groups/{world.group_a}/fiches/{world.fiches_a[0]}"
    assert json_of(world.call("GET", member + "/", as_user=world.pro_a)) == json_of(
        world.call("GET", member, as_user=world.pro_a)
    )
    assert ids(world.call("GET", "fiches/", as_user=world.pro_a)) == ids(
        world.call("GET", "fiches", as_user=world.pro_a)
    )


def test_a_raw_second_question_mark_separates_parameters(world: World) -> None:
    """The official PHP client appends `?format=...&apikey=...` to a URL that already has a query."""
    response = world.call("GET", "fiches", f"results=1?format=json&apikey={world.key}", as_user=world.pro_a)
    assert len(ids(response)) == 1, "results=1 was read"
    as_xml = world.call("GET", "fiches", f"results=1?format=xml&apikey={world.key}", as_user=world.pro_a)
    assert as_xml.status == 200 and as_xml.media_type == XML_TYPE, "format=xml after the second '?' was read"


def test_openapi_document(world: World) -> None:
    document = json_of(world.call("GET", "openapi.json", apikey=False))
    assert document["openapi"].startswith("3.") and "/fiches" in json.dumps(document["paths"])


# -- authentication ---------------------------------------------------------------------------------------
def test_no_apikey_is_401(world: World) -> None:
    assert "apikey" in error_of(world.call("GET", "fiches", apikey=False, as_user=world.pro_a), 401)


def test_unknown_apikey_is_401(world: World) -> None:
    error_of(world.call("GET", "fiches", {"apikey": "san_" + "x" * 40}, apikey=False, as_user=world.pro_a), 401)


def test_no_user_on_a_protected_collection_is_401_saying_how(world: World) -> None:
    message = error_of(world.call("GET", f"groups/{world.group_a}/fiches"), 401)
    assert "Basic" in message and "sessions/login" in message


def test_basic_with_a_wrong_password_is_401_without_a_challenge(world: World) -> None:
    wrong = User(world.pro_a.id, world.pro_a.email, "not-the-password")
    response = world.call("GET", "fiches", as_user=wrong)
    error_of(response, 401)
    assert header(response, "WWW-Authenticate") is None, "a browser would pop up its own login dialog"


def test_basic_with_the_right_password_is_200(world: World) -> None:
    assert set(ids(world.call("GET", "fiches", as_user=world.pro_a))) == set(world.fiches_a)


def login(world: World, user: User, kind: str = "pro") -> ApiResponse:
    form = urlencode({f"{kind}[email]": user.email, f"{kind}[password]": user.password}).encode()
    return world.call(
        "POST", "sessions/login.json", headers={"content-type": "application/x-www-form-urlencoded"}, body=form
    )


def test_login_sets_a_session_cookie_that_works_alone_and_logout_expires_it(world: World) -> None:
    response = login(world, world.pro_a)
    assert response.status == 200, response.body
    assert header(response, "Cache-Control") == "no-store"
    cookie = header(response, "Set-Cookie")
    assert cookie is not None
    pair, *attributes = cookie.split("; ")
    name, _, token = pair.partition("=")
    assert name == "_session_id" and len(token) >= 32
    assert attributes == ["path=/", "HttpOnly", "SameSite=Lax"]
    session = {"cookie": f"_session_id={token}"}
    # no apikey and no Basic: the session remembers the key it was opened with
    assert set(ids(world.call("GET", "fiches", apikey=False, headers=session))) == set(world.fiches_a)

    logout = world.call("POST", "sessions/logout", apikey=False, headers=session)
    assert logout.status == 200 and json_of(logout) == {"error": None}
    assert header(logout, "Set-Cookie") == (
        "_session_id=; path=/; HttpOnly; SameSite=Lax; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
    )
    error_of(world.call("GET", "fiches", apikey=False, headers=session), 401)


def test_login_shows_the_user_as_it_reads_itself(world: World) -> None:
    pro = json_of(login(world, world.pro_a))
    assert pro["error"] is None
    itself = json_of(world.call("GET", f"groups/{world.group_a}/pros/{world.pro_a.id}", as_user=world.pro_a))
    assert pro["pro"] == {**itself, "group_id": world.group_a, "group_ids": [world.group_a]}
    assert "password" not in pro["pro"]

    account = json_of(login(world, world.account, "account"))
    itself = json_of(world.call("GET", f"accounts/{world.account.id}", as_user=world.account))
    assert set(account) == {"account", "error"}
    assert {k: v for k, v in account["account"].items() if k != "group_ids"} == itself
    assert account["account"]["group_id"] == world.group_a


def test_a_failed_login_is_401_with_no_cookie(world: World) -> None:
    response = login(world, User(0, world.pro_a.email, "wrong-password-1"))
    assert error_of(response, 401) == "Invalid email or password"
    assert json_of(response) == {"pro": None, "error": "Invalid email or password"}
    assert header(response, "Set-Cookie") is None and header(response, "WWW-Authenticate") is None


def test_login_without_password_names_the_parameter(world: World) -> None:
    response = world.call("POST", "sessions/login", {"pro[email]": world.pro_a.email})
    assert "pro[password]" in error_of(response, 400)


def test_an_account_may_not_list_pros(world: World) -> None:
    message = error_of(world.call("GET", f"groups/{world.group_a}/pros", as_user=world.account), 403)
    assert message == "Your profile (account) may not list pros."


# -- tenancy ----------------------------------------------------------------------------------------------
def test_another_groups_fiche_is_404_never_403(world: World) -> None:
    nested = world.call("GET", f"groups/{world.group_b}/fiches/{world.fiche_b}", as_user=world.pro_a)
    flat = world.call("GET", f"fiches/{world.fiche_b}", as_user=world.pro_a)
    assert error_of(nested, 404) == error_of(flat, 404)
    # the owner reads it both ways: the 404 is about the caller, not the record
    assert world.call("GET", f"fiches/{world.fiche_b}", as_user=world.pro_b).status == 200
    assert error_of(world.call("GET", f"groups/{world.group_b}/fiches", as_user=world.pro_a), 404)


def test_the_flat_fiches_list_holds_only_the_callers_groups(world: World) -> None:
    records = json_of(world.call("GET", "fiches", as_user=world.pro_a))["records"]
    assert {r["id"] for r in records} == set(world.fiches_a)
    assert {r["group_id"] for r in records} == {world.group_a}
    assert ids(world.call("GET", "fiches", as_user=world.pro_b)) == [world.fiche_b]


def test_an_account_sees_only_its_own_fiches(world: World) -> None:
    assert ids(world.call("GET", "fiches", as_user=world.account)) == [world.account_fiche]
    assert ids(world.call("GET", f"groups/{world.group_a}/fiches", as_user=world.account)) == [world.account_fiche]
    assert world.call("GET", f"fiches/{world.fiches_a[0]}", as_user=world.account).status == 404


def test_creating_in_another_group_by_body_is_400_naming_group_id(world: World) -> None:
    body = json.dumps({"fiche": {"lastname": "Intruder", "group_id": world.group_b}}).encode()
    response = world.call(
        "POST", "fiches", headers={"content-type": "application/json"}, body=body, as_user=world.pro_a
    )
    assert "group_id" in error_of(response, 400)
    assert list(json_of(response)["errors"]) == ["group_id"]
    assert ids(world.call("GET", "fiches", as_user=world.pro_b)) == [world.fiche_b], "nothing was created"


# -- idempotency ------------------------------------------------------------------------------------------
def test_a_retried_create_with_an_idempotency_key_replays_the_first_answer(world: World) -> None:
    # a group of its own, so that the record made here changes no other test's lists
    group = int(admin.create(world.db, world.api.settings, "groups", {"name": "C"})["id"])
    fields = {"lastname": "C", "email": "pro-c@example.org", "password": "secret-c-456"}
    pro = User(
        int(admin.create(world.db, world.api.settings, "pros", fields, group_id=group)["id"]),
        fields["email"],
        fields["password"],
    )
    body = json.dumps({"fiche": {"lastname": "Once"}}).encode()
    headers = {"content-type": "application/json", "idempotency-key": "create-once-1"}
    first = world.call("POST", "fiches", headers=headers, body=body, as_user=pro)
    again = world.call("POST", "fiches", headers=headers, body=body, as_user=pro)
    assert first.status == again.status == 201 and first.body == again.body
    assert header(first, "Idempotent-Replayed") is None and header(again, "Idempotent-Replayed") == "true"
    assert ids(world.call("GET", "fiches", as_user=pro)) == [json_of(first)["id"]], "created once"
    other = world.call("POST", "fiches", headers=headers, body=body.replace(b"Once", b"Twice"), as_user=pro)
    assert "Idempotency-Key" in error_of(other, 409)
