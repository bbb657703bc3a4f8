"""Every declared resource, by collection name."""

from __future__ import annotations

from openrdv.resources.declaration import Resource
from openrdv.resources.groups import GROUPS
from openrdv.resources.pros import PROS

RESOURCES: dict[str, Resource] = {r.name: r for r in (GROUPS, PROS)}
