"""Who is calling and about what: the per-request state the generic handlers work with."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

from openrdv.db.engine import Conn, Database
from openrdv.resources.declaration import Profile
from openrdv.settings import Settings
from openrdv.zones import Zone, zone

DEFAULT_ZONE = "Europe/Paris"


@dataclass
class Principal:
    """An authenticated user (pro or account) and the API key it came with."""

    kind: Literal["pro", "account"]
    user_id: int
    email: str
    apikey_id: int
    main_group_id: int | None
    group_ids: tuple[int, ...]  # pro: memberships; account: its registration group
    zones: dict[int, str] = field(default_factory=dict)  # group id → IANA zone name
    session_digest: str | None = None


@dataclass
class CallContext:
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
        if self.principal is not None and group_id is not None and group_id in self.principal.zones:
            return zone(self.principal.zones[group_id])
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
