"""How a resource is declared: once, with everything the machinery derives from it.

A declaration lists its fields (type, length, default, who may read and write each), its search
fields, its plain list filters, its verbs and whether DELETE is soft. Tables, rendering, body
validation, the sort/condition/search allow-lists, tenant scoping and the OpenAPI document are all
derived from it; a `Behaviour` holds the little that is really specific to one resource.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from openrdv.model.context import CallContext
from openrdv.model.context import Profile as Profile  # part of the declaration vocabulary

Verb = Literal["list", "get", "create", "update", "delete"]
ALL_VERBS: frozenset[Verb] = frozenset({"list", "get", "create", "update", "delete"})
READ_VERBS: frozenset[Verb] = frozenset({"list", "get"})


class Kind(enum.Enum):
    INT = "integer"
    REF = "reference"  # id of a row of another table of the same group; null when unset
    STR = "string"
    TEXT = "text"
    BOOL = "boolean"
    DATETIME = "datetime"
    FLOAT = "float"
    IDS = "ids"  # many-to-many link, stored in a link table
    JSON = "json"  # a JSON document kept as text


TEXT_KINDS = frozenset({Kind.STR, Kind.TEXT, Kind.JSON})
# The years a datetime field accepts when its declaration states none (writes and conditions alike):
# beyond them a date is a typo or a probe, and the instants stay far inside what every engine,
# datetime and the zone tables represent.
DATETIME_YEARS = (1900, 2200)

@dataclass(frozen=True)
class HiddenColumn:
    """A column a table holds beyond its declared fields, never read or written through the API:
    an integer (`default` None: nullable; else NOT NULL with that default)."""

    name: str
    default: int | None = None
    doc: str = ""


@dataclass(frozen=True)
class Link:
    """A many-to-many link: `table(own_column, other_column)`, `other` being the linked table. The
    schema derives the link table from it (both columns its primary key); a table linked from both
    sides also gets an index on the second side's column."""

    table: str
    own_column: str
    other_column: str
    other_table: str


@dataclass(frozen=True)
class Field:
    name: str
    kind: Kind
    max_length: int | None = None
    default: Any = None
    pro: str = "rw"  # "", "r", "w", "rw"
    account: str = ""
    required: bool = False
    column: str | None = None
    ref_table: str | None = None  # for REF: rows must belong to the same group
    zero_when_null: bool = False  # render an unset REF as 0 (vevent fiche_id/intervention_id)
    choices: tuple[Any, ...] | None = None
    min_value: int | None = None
    max_value: int | None = None
    link: Link | None = None
    sortable: bool = True
    # applied to the coerced input before the write transaction opens (e.g. password hashing)
    transform: Callable[[Any], Any] | None = None
    blank_means_default: bool = False  # "" or null stands for the default (vevent type)
    # nearly every row holds the default (the custom columns a group has not configured): a
    # streamed list reads such fields packed together in one column (crud/streamed.py)
    usually_default: bool = False
    # DATETIME: the first and last year a write or a condition may name (DATETIME_YEARS when None)
    years: tuple[int, int] | None = None
    # For the account profile, readable only in the groups this SQL selects (its one `?` bound to
    # the field's name): a custom column shows online only where its group's customfields say so.
    # Sort and conditions on it are refused where the caller's rows lie in another group.
    account_groups_sql: str | None = None
    doc: str = ""

    @property
    def col(self) -> str:
        return self.column or self.name

    @property
    def virtual(self) -> bool:
        return self.kind is Kind.IDS

    def can_read(self, profile: Profile) -> bool:
        return "r" in (self.pro if profile == "pro" else self.account)

    def can_write(self, profile: Profile) -> bool:
        return "w" in (self.pro if profile == "pro" else self.account)

    @property
    def year_range(self) -> tuple[int, int]:
        return self.years or DATETIME_YEARS

    @property
    def nullable(self) -> bool:
        return self.kind in (Kind.INT, Kind.REF, Kind.DATETIME, Kind.FLOAT)


@dataclass(frozen=True)
class ListFilter:
    """A plain list parameter (outside `conditions`): `build(values, ctx)` → (SQL, params).

    `many=True` parameters take a list (`x[]=1&x[]=2`, `x=[1,2]`, `x=1,2`); otherwise one value. A
    filter with a `default` applies it when the parameter is absent or blank (appointments hide the
    past unless `include_past` says otherwise)."""

    name: str
    many: bool
    kind: Kind
    build: Callable[[Any, CallContext], tuple[str, list[Any]]]
    doc: str = ""
    default: Any = None


class Behaviour:
    """What is specific to one resource. Every hook has a neutral default."""

    def account_scope(self, ctx: CallContext) -> tuple[str, list[Any]] | None:
        """Extra WHERE for the account profile (public catalogue, own rows); None = no extra rule."""
        return None

    def base_scope(self, ctx: CallContext) -> tuple[str, list[Any]] | None:
        """WHERE for every profile and verb (a view's rows among its table's)."""
        return None

    def validate(self, ctx: CallContext, values: dict[str, Any], existing: dict[str, Any] | None) -> None:
        """Check the merged row before it is written; raise ValidationFailed naming the field."""

    def before_write(self, ctx: CallContext, values: dict[str, Any], existing: dict[str, Any] | None) -> None:
        """Last changes to the column values (derived columns) inside the write transaction."""

    def after_write(self, ctx: CallContext, row_id: int, values: dict[str, Any], created: bool) -> None:
        """Side tables inside the same transaction (links, counters)."""

    def check_update(self, ctx: CallContext, existing: dict[str, Any]) -> None:
        """Refuse an update of this particular row (e.g. a pro may update only itself)."""

    def render_extra(self, ctx: CallContext, records: list[dict[str, Any]]) -> None:
        """Add computed keys to rendered records (in place)."""

    def renders_extra(self, profile: Profile) -> bool:
        """Whether `render_extra` may change this profile's records. Where it cannot, a streamed
        list encodes records without building their dicts first. An overridden `render_extra` is
        taken to apply to every profile until its class says otherwise."""
        return type(self).render_extra is not Behaviour.render_extra


@dataclass(eq=False)
class Resource:
    name: str  # collection name in URLs: "fiches"
    singular: str  # body wrapper and XML root: "fiche"
    table: str
    fields: Sequence[Field]
    pro_verbs: frozenset[Verb] = ALL_VERBS
    account_verbs: frozenset[Verb] = frozenset()
    # "group": rows carry group_id and belong to one group; "groups": the groups table itself;
    # "members": users linked to groups through pro_groups (pros); "self": accounts (each its own)
    tenancy: Literal["group", "groups", "members", "self"] = "group"
    soft_delete: bool = False
    search_fields: Sequence[str] = ()
    filters: Sequence[ListFilter] = ()
    behaviour: Behaviour = field(default_factory=Behaviour)
    indexes: Sequence[Sequence[str]] = ()
    anonymous_read: bool = False  # public catalogue reads allowed with an apikey and no user
    # big tables get a full-text index for `search` (SQLite FTS5 trigram, PostgreSQL pg_trgm)
    fulltext: bool = False
    # datetime fields whose rows SQLite counts per group and time bucket (db/derived.py): a total
    # under a range condition on one of them, or with no condition at all, costs a few hundred rows
    # instead of a walk over every matching index entry. Each needs a (group_id, field, id) index.
    counted: Sequence[str] = ()
    anonymous_create: bool = False  # POST allowed with an apikey and no user (accounts)
    owns_table: bool = True  # False for a view over another resource's table (appointments)
    doc: str = ""
    timestamps: bool = True
    hidden_columns: Sequence[HiddenColumn] = ()

    @cached_property
    def by_name(self) -> dict[str, Field]:
        return {f.name: f for f in self.fields}

    def readable(self, profile: Profile) -> list[Field]:
        return [f for f in self.fields if f.can_read(profile)]

    def writable(self, profile: Profile) -> dict[str, Field]:
        return {f.name: f for f in self.fields if f.can_write(profile)}

    @cached_property
    def stored_fields(self) -> list[Field]:
        return [f for f in self.fields if not f.virtual]

    @cached_property
    def filter_by_name(self) -> dict[str, ListFilter]:
        return {f.name: f for f in self.filters}

    def verbs(self, profile: Profile) -> frozenset[Verb]:
        return self.pro_verbs if profile == "pro" else self.account_verbs

    @property
    def searchable(self) -> bool:
        return bool(self.search_fields)

    @cached_property
    def public_search_fields(self) -> tuple[str, ...]:
        """The search fields an account may read: its `search` must not match text it cannot see."""
        return tuple(n for n in self.search_fields if self.by_name[n].can_read("account"))

    @cached_property
    def search_columns(self) -> dict[str, tuple[str, ...]]:
        """The stored search columns of the table, each with the fields its normalised text joins:
        `search_text`, and `search_public` for accounts when the fields they may read differ."""
        columns: dict[str, tuple[str, ...]] = {}
        if self.search_fields:
            columns["search_text"] = tuple(self.search_fields)
        if self.has_public_search:
            columns["search_public"] = self.public_search_fields
        return columns

    @cached_property
    def has_public_search(self) -> bool:
        """Whether the table keeps a second search column for accounts (their fields differ)."""
        return (
            self.owns_table
            and "list" in self.account_verbs
            and bool(self.public_search_fields)
            and self.public_search_fields != tuple(self.search_fields)
        )


# Fields every stored resource has, in the order they are rendered.
def id_field() -> Field:
    return Field("id", Kind.INT, pro="r", account="r", doc="unique id")


def timestamp_fields(account: str = "r") -> list[Field]:
    return [
        Field("created_at", Kind.DATETIME, pro="r", account=account, doc="creation time"),
        Field("updated_at", Kind.DATETIME, pro="r", account=account, doc="last change"),
    ]


def default_value(field: Field) -> Any:
    """The value a new row gets for a field the request leaves out."""
    if field.default is not None:
        return field.default() if callable(field.default) else field.default
    if field.kind in (Kind.STR, Kind.TEXT, Kind.JSON):
        return ""
    if field.kind is Kind.BOOL:
        return False
    if field.kind is Kind.REF and field.zero_when_null:
        return 0
    return None
