"""The client's implementation (see openrdv.client for the public surface)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from typing import Any

import httpx

Condition = tuple[str, str, Any]  # (field, op, value)
Params = dict[str, Any]
Ids = list[int]  # module level: inside the classes `list` is a method


class ClicRdvError(Exception):
    """A non-2xx answer: the status, the error sentence, and for validation and booking refusals
    the per-field `errors` and the ClicRDV `code`/`name`."""

    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body if isinstance(body, dict) else {}
        self.error = str(self.body.get("error") or f"HTTP {status}")
        self.errors: dict[str, list[str]] = self.body.get("errors") or {}
        self.code: int | None = self.body.get("code")
        self.name: str | None = self.body.get("name")
        super().__init__(f"{status}: {self.error}")


def sha1_hex(password: str) -> str:
    """The form ClicRDV's session login expects a password in."""
    return hashlib.sha1(password.encode("utf-8")).hexdigest()


def singular(collection: str) -> str:
    """'fiches' → 'fiche', 'interventionsets' → 'interventionset': the wrapper of request bodies."""
    return collection[:-1] if collection.endswith("s") else collection


def conditions_params(conditions: Iterable[Condition]) -> Params:
    """[("updated_at", ">=", "2010-02-01 00:00:00")] → conditions[0][field]=... bracket parameters."""
    params: Params = {}
    for index, (field, op, value) in enumerate(conditions):
        if isinstance(value, (list, tuple)):
            value = ",".join(str(v) for v in value)
        params[f"conditions[{index}][field]"] = field
        params[f"conditions[{index}][op]"] = op
        params[f"conditions[{index}][value]"] = "null" if value is None else value
    return params


def _flatten(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Lists become `name[]=a&name[]=b`; booleans 1/0; None is left out."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            name = key if key.endswith("[]") else key + "[]"
            pairs.extend((name, str(v)) for v in value)
        elif isinstance(value, bool):
            pairs.append((key, "1" if value else "0"))
        else:
            pairs.append((key, str(value)))
    return pairs


def _path(collection: str, group_id: int | None, record_id: int | None = None) -> str:
    base = f"/api/v1/groups/{group_id}/{collection}" if group_id is not None else f"/api/v1/{collection}"
    return f"{base}/{record_id}.json" if record_id is not None else f"{base}.json"


def _list_params(params: Mapping[str, Any], conditions: Iterable[Condition] | None) -> Params:
    merged: Params = dict(params)
    if conditions:
        merged.update(conditions_params(conditions))
    return merged


def _decode(response: httpx.Response) -> Any:
    try:
        body = response.json() if response.content else None
    except ValueError:
        body = None
    if response.status_code >= 400:
        raise ClicRdvError(response.status_code, body)
    return body


class _Base:
    def __init__(self, apikey: str, email: str | None, password: str | None) -> None:
        self.apikey = apikey
        self.email = email
        self.password = password

    def _auth(self) -> tuple[str, str] | None:
        return (self.email, self.password) if self.email and self.password else None

    def _query(self, params: Mapping[str, Any] | None) -> httpx.QueryParams:
        return httpx.QueryParams([("apikey", self.apikey), *_flatten(params or {})])


class Client(_Base):
    """Synchronous client. With `email`/`password` it sends HTTP Basic on every request; call
    `login()` instead to open a session (the cookie is kept)."""

    def __init__(
        self,
        base_url: str,
        apikey: str,
        email: str | None = None,
        password: str | None = None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(apikey, email, password)
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"), timeout=timeout, transport=transport, headers={"Accept": "application/json"}
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        auth = self._auth()
        response = self.http.request(
            method,
            path,
            params=self._query(params),
            json=json,
            auth=auth if auth else httpx.USE_CLIENT_DEFAULT,
            headers=headers,
        )
        return _decode(response)

    # -- sessions -------------------------------------------------------------------------------------
    def login(self, email: str, password: str, profile: str = "pro") -> dict[str, Any]:
        """Open a session (the password is sent as its SHA-1, as ClicRDV requires)."""
        body = self.request(
            "POST",
            "/api/v1/sessions/login.json",
            {f"{profile}[email]": email, f"{profile}[password]": sha1_hex(password)},
        )
        self.email = self.password = None  # the session cookie authenticates from now on
        return dict(body[profile])

    def logout(self) -> None:
        self.request("POST", "/api/v1/sessions/logout.json")

    # -- records --------------------------------------------------------------------------------------
    def list(
        self,
        collection: str,
        group_id: int | None = None,
        *,
        conditions: Iterable[Condition] | None = None,
        **params: Any,
    ) -> dict[str, Any]:
        """One page: the envelope with `records`, `totalRecords`..."""
        return dict(self.request("GET", _path(collection, group_id), _list_params(params, conditions)))

    def iterate(
        self,
        collection: str,
        group_id: int | None = None,
        *,
        page_size: int = 100,
        conditions: Iterable[Condition] | None = None,
        **params: Any,
    ) -> Iterator[dict[str, Any]]:
        """Every record, page after page (startIndex is a record offset)."""
        start = 0
        while True:
            page = self.list(collection, group_id, conditions=conditions, results=page_size, startIndex=start, **params)
            records = page["records"]
            yield from records
            start += len(records)
            if not records or start >= page["totalRecords"]:
                return

    def get(self, collection: str, record_id: int, group_id: int | None = None) -> dict[str, Any]:
        return dict(self.request("GET", _path(collection, group_id, record_id)))

    def create(
        self,
        collection: str,
        fields: Mapping[str, Any],
        group_id: int | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return dict(
            self.request(
                "POST", _path(collection, group_id), json={singular(collection): dict(fields)}, headers=headers
            )
        )

    def update(
        self, collection: str, record_id: int, fields: Mapping[str, Any], group_id: int | None = None
    ) -> dict[str, Any]:
        return dict(
            self.request("PUT", _path(collection, group_id, record_id), json={singular(collection): dict(fields)})
        )

    def delete(self, collection: str, record_id: int, group_id: int | None = None) -> dict[str, Any]:
        return dict(self.request("DELETE", _path(collection, group_id, record_id)) or {})

    # -- booking --------------------------------------------------------------------------------------
    def available_slots(self, group_id: int, intervention_ids: Ids, **params: Any) -> dict[str, Any]:
        return dict(
            self.request(
                "GET",
                f"/api/v1/groups/{group_id}/availabletimeslots.json",
                {"intervention_ids": intervention_ids, **params},
            )
        )

    def book(
        self,
        group_id: int,
        date: str,
        intervention_ids: Ids,
        fiche: Mapping[str, Any] | None = None,
        *,
        calendar_id: int | None = None,
        comments: str = "",
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        appointment: dict[str, Any] = {
            "date": date,
            "intervention_ids": intervention_ids,
            "comments": comments,
            "fiche": dict(fiche or {}),
        }
        if calendar_id is not None:
            appointment["calendar_id"] = calendar_id
        return self.create("appointments", appointment, group_id, idempotency_key=idempotency_key)


class AsyncClient(_Base):
    """The asynchronous twin of Client."""

    def __init__(
        self,
        base_url: str,
        apikey: str,
        email: str | None = None,
        password: str | None = None,
        *,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(apikey, email, password)
        self.http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), timeout=timeout, transport=transport, headers={"Accept": "application/json"}
        )

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        auth = self._auth()
        response = await self.http.request(
            method,
            path,
            params=self._query(params),
            json=json,
            auth=auth if auth else httpx.USE_CLIENT_DEFAULT,
            headers=headers,
        )
        return _decode(response)

    async def login(self, email: str, password: str, profile: str = "pro") -> dict[str, Any]:
        body = await self.request(
            "POST",
            "/api/v1/sessions/login.json",
            {f"{profile}[email]": email, f"{profile}[password]": sha1_hex(password)},
        )
        self.email = self.password = None
        return dict(body[profile])

    async def logout(self) -> None:
        await self.request("POST", "/api/v1/sessions/logout.json")

    async def list(
        self,
        collection: str,
        group_id: int | None = None,
        *,
        conditions: Iterable[Condition] | None = None,
        **params: Any,
    ) -> dict[str, Any]:
        return dict(await self.request("GET", _path(collection, group_id), _list_params(params, conditions)))

    async def iterate(
        self,
        collection: str,
        group_id: int | None = None,
        *,
        page_size: int = 100,
        conditions: Iterable[Condition] | None = None,
        **params: Any,
    ) -> AsyncIterator[dict[str, Any]]:
        start = 0
        while True:
            page = await self.list(
                collection, group_id, conditions=conditions, results=page_size, startIndex=start, **params
            )
            records = page["records"]
            for record in records:
                yield record
            start += len(records)
            if not records or start >= page["totalRecords"]:
                return

    async def get(self, collection: str, record_id: int, group_id: int | None = None) -> dict[str, Any]:
        return dict(await self.request("GET", _path(collection, group_id, record_id)))

    async def create(
        self,
        collection: str,
        fields: Mapping[str, Any],
        group_id: int | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return dict(
            await self.request(
                "POST", _path(collection, group_id), json={singular(collection): dict(fields)}, headers=headers
            )
        )

    async def update(
        self, collection: str, record_id: int, fields: Mapping[str, Any], group_id: int | None = None
    ) -> dict[str, Any]:
        return dict(
            await self.request("PUT", _path(collection, group_id, record_id), json={singular(collection): dict(fields)})
        )

    async def delete(self, collection: str, record_id: int, group_id: int | None = None) -> dict[str, Any]:
        return dict(await self.request("DELETE", _path(collection, group_id, record_id)) or {})

    async def available_slots(self, group_id: int, intervention_ids: Ids, **params: Any) -> dict[str, Any]:
        return dict(
            await self.request(
                "GET",
                f"/api/v1/groups/{group_id}/availabletimeslots.json",
                {"intervention_ids": intervention_ids, **params},
            )
        )
