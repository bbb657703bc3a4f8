"""Who is calling and about what: the per-request state the generic handlers work with."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from openrdv.agenda.zones import Zone, zone
from openrdv.db.engine import Conn, Database
from openrdv.settings import Settings

DEFAULT_ZONE = "Europe/Paris"

Profile = Literal["pro", "account"]  # what the caller may read and write: a pro's or an account's


Memberships = Callable[[int | None], list[tuple[int, str]]]


class Principal:
    """An authenticated user (pro or account) and the API key it came with.

    Its groups are read lazily: a nested route needs one membership (one indexed lookup), only an
    un-nested list needs them all — a pro may belong to a hundred groups."""

    def __init__(
        self,
        kind: Literal["pro", "account"],
        user_id: int,
        email: str,
        apikey_id: int,
        main_group_id: int | None,
        memberships: Memberships,
        session_digest: str | None = None,
    ) -> None:
        self.kind = kind
        self.user_id = user_id
        self.email = email
        self.apikey_id = apikey_id
        self.main_group_id = main_group_id
        self.session_digest = session_digest
        self._memberships = memberships
        self._zones: dict[int, str] | None = None
        self._some_zones: dict[int, str | None] = {}

    @property
    def zones(self) -> dict[int, str]:
        """Every group of the user → its time zone name."""
        if self._zones is None:
            self._zones = {int(g): str(tz) for g, tz in self._memberships(None)}
        return self._zones

    @property
    def group_ids(self) -> tuple[int, ...]:
        return tuple(sorted(self.zones))

    def zone_of(self, group_id: int) -> str | None:
        """The zone of one of the user's groups, or None when the user is not in that group."""
        if self._zones is not None:
            return self._zones.get(group_id)
        if group_id not in self._some_zones:
            found = self._memberships(group_id)
            self._some_zones[group_id] = str(found[0][1]) if found else None
        return self._some_zones[group_id]


@dataclass
class CallContext:
    """One call: who makes it, with which parameters, on which connection, about which group.

    Built only here: `of_caller` (an API request), `of_operator` (the command line and the demo),
    and `in_group` (the same call addressed to one group)."""

    conn: Conn
    settings: Settings
    principal: Principal | None
    apikey_id: int | None
    params: dict[str, Any]
    group_id: int | None = None  # the group of a nested route, already checked by the tenant guard
    group_zone: str | None = None
    now: int = field(default_factory=lambda: int(time.time()))
    request_id: str = ""
    db: Database | None = None
    operator: bool = False  # the command line: acts as a pro of every group

    @classmethod
    def of_caller(
        cls,
        conn: Conn,
        settings: Settings,
        db: Database | None,
        principal: Principal | None,
        apikey_id: int | None,
        params: dict[str, Any],
        request_id: str = "",
    ) -> CallContext:
        """An API call by an authenticated user or, where the resource allows it, an API key alone."""
        return cls(conn, settings, principal, apikey_id, params, request_id=request_id, db=db)

    @classmethod
    def of_operator(cls, conn: Conn, settings: Settings, db: Database | None) -> CallContext:
        """The operator of the server (command line, demo data): acts as a pro of every group."""
        return cls(conn, settings, None, None, {}, db=db, operator=True)

    def in_group(self, group_id: int, zone_name: str, params: dict[str, Any] | None = None) -> CallContext:
        """This call addressed to one group whose zone is known (the tenant guard checked it)."""
        return replace(self, group_id=group_id, group_zone=zone_name, params=self.params if params is None else params)

    @property
    def profile(self) -> Profile:
        if self.operator:
            return "pro"
        if self.principal is not None and self.principal.kind == "pro":
            return "pro"
        return "account"

    @property
    def is_pro(self) -> bool:
        return self.operator or (self.principal is not None and self.principal.kind == "pro")

    @property
    def account_id(self) -> int | None:
        if self.principal is not None and self.principal.kind == "account":
            return self.principal.user_id
        return None

    def zone_for(self, group_id: int | None) -> Zone:
        if group_id is not None and group_id == self.group_id and self.group_zone:
            return zone(self.group_zone)
        if self.principal is not None and group_id is not None:
            name = self.principal.zone_of(group_id)
            if name is not None:
                return zone(name)
        if group_id is not None:
            name = self.conn.scalar("SELECT timezone FROM groups WHERE id = ?", (group_id,))
            if name:
                return zone(str(name))
        return zone(DEFAULT_ZONE)

    @property
    def zone(self) -> Zone:
        """The zone in which this call's datetimes without offset are read."""
        if self.group_id is not None:
            return self.zone_for(self.group_id)
        if self.principal is not None and self.principal.main_group_id is not None:
            return self.zone_for(self.principal.main_group_id)
        return zone(DEFAULT_ZONE)
