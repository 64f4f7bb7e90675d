"""Private extension module of scimkit (import from ``scimkit`` instead)."""

import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, TypeVar, final

from scimkit.store import Page, Stored

__all__ = [
    "Ctx",
    "Event",
    "MemberChange",
    "MemoryStore",
    "PostgresStore",
    "Query",
    "Response",
    "Server",
    "SqliteStore",
    "__version__",
    "member_change",
    "run_store_check",
    "store_checks",
    "unique_key",
]

_T = TypeVar("_T")

__version__: str

@final
class Server:
    """The SCIM engine: ``handle(method, path, ...)`` answers one request.

    ``store`` is a native store (``MemoryStore()``, ...) or any object implementing
    ``scimkit.UserStore``. ``tokens`` maps bearer tokens to tenants; or give
    ``trusted_tenant`` when authentication happens upstream. The policies:
    ``deletion`` (what DELETE /Users does: remove, or deactivate and hide —
    ``"soft"`` — or also queue for review), ``groups`` (``"update_only"``: existing
    groups are matched by displayName, never created or deleted; ``"refuse"``;
    ``"ignore"``), ``link_existing`` (a POST adopts a local user without
    externalId instead of 409), ``require_guid_external_id``,
    ``rename_on_deactivate`` (a template with ``{userName}`` and ``{id}``).
    ``on_event`` is called with an ``Event`` after each stored change, on the
    engine's delivery thread (queue of ``event_queue`` events, default 10 000).
    Misconfiguration raises ``ValueError``/``TypeError``.
    """

    def __new__(
        cls,
        store: object,
        tokens: Mapping[str, str] | None = None,
        *,
        trusted_tenant: str | None = None,
        base_path: str = "/scim/v2",
        base_url: str | None = None,
        reject_unknown_attributes: bool = False,
        max_results: int | None = None,
        default_count: int | None = None,
        max_body_size: int | None = None,
        max_patch_operations: int | None = None,
        bulk_max_operations: int | None = None,
        max_unindexed_scan: int | None = None,
        deletion: Literal["hard", "soft", "review"] = "hard",
        groups: Literal["full", "update_only", "refuse", "ignore"] = "full",
        link_existing: Literal["off", "by_user_name", "by_user_name_or_email"] = "off",
        require_guid_external_id: bool = False,
        rename_on_deactivate: str | None = None,
        on_event: Callable[[Event], object] | None = None,
        event_queue: int | None = None,
    ) -> Server: ...
    @property
    def base_path(self) -> str:
        """The base path served, e.g. ``"/scim/v2"``."""
    @property
    def max_body_size(self) -> int:
        """The largest request body accepted, in bytes (larger ones get 413)."""
    @property
    def store(self) -> Any:
        """The store given to the constructor."""
    @property
    def events_dropped(self) -> int:
        """Events dropped because the event queue was full."""
    def flush_events(self, timeout: float = 5.0) -> bool:
        """Wait until every queued event reached ``on_event`` (``True`` when done)."""
    def handle(
        self,
        method: str,
        path: str,
        *,
        query: str = "",
        headers: Iterable[tuple[str, str]] | Mapping[str, str] | None = None,
        body: bytes | bytearray | str | None = None,
    ) -> Response:
        """Handle one request; the GIL is released while the engine works.

        ``path`` is the URL path as sent (percent-encoded), ``query`` the raw query
        string. SCIM errors (401, 404, 409, 413, 500, ...) are returned as
        responses; only misuse (bad method, path not starting with ``/``, headers
        of the wrong type) raises ``ValueError``/``TypeError``.
        """

@final
class Response:
    """An HTTP response: ``status``, ``headers`` and ``body``."""

    @property
    def status(self) -> int:
        """The HTTP status code."""
    @property
    def headers(self) -> list[tuple[str, str]]:
        """The headers as ``(name, value)`` pairs (names in lower case)."""
    @property
    def body(self) -> bytes:
        """The body (empty for 204)."""
    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or ``None``."""
    def json(self) -> Any:
        """The body parsed as JSON (``None`` for an empty body)."""

@final
class MemoryStore:
    """The in-memory store: nothing survives the process (tests, examples)."""

    def __new__(cls) -> MemoryStore: ...

@final
class SqliteStore:
    """A SQLite database file: created with its schema if absent, migrated on open.

    Write-ahead logging, one writer and a pool of ``readers``; several processes
    may share the file (they wait up to ``busy_timeout`` seconds for each other,
    then answer 503). ``synchronous`` is ``"full"`` (default: a write is on disk
    when the request returns), ``"normal"`` or ``"off"``. ``":memory:"`` opens a
    private in-memory database. A file that cannot be opened as a scimkit
    database raises ``OSError`` (it is never replaced).
    """

    def __new__(
        cls,
        path: str | os.PathLike[str],
        *,
        synchronous: Literal["full", "normal", "off"] = "full",
        readers: int | None = None,
        busy_timeout: float | None = None,
    ) -> SqliteStore: ...
    @property
    def path(self) -> str | None:
        """The database file, or ``None`` for ``":memory:"``."""
    def integrity_check(self) -> list[str]:
        """Run SQLite's integrity check: the problems found (empty when sound)."""

@final
class PostgresStore:
    """A PostgreSQL database, which several processes and servers may share.

    ``url`` is ``postgresql://user:password@host:port/dbname`` (or
    ``postgres://…``, or a ``host=… dbname=…`` connection string); TLS is not
    supported. Connecting creates or migrates the schema (replicas may start
    together). Uniqueness, versions and group memberships are enforced by the
    database. While the server is unreachable, requests are answered 503 with
    ``Retry-After`` and the store reconnects by itself.

    Options: ``max_connections`` (the pool size, default 10), ``min_idle``
    (idle connections kept open, default 1), ``connect_timeout`` (seconds to
    open one connection, default 5), ``checkout_timeout`` (seconds a request
    waits for a connection before it is answered 503, default 5), ``retries``
    (of a transaction that lost a serialization conflict, default 5),
    ``application_name`` (default ``"scimkit"``).

    Raises ``ValueError`` for a URL that does not parse or a bad option,
    ``ConnectionError`` when the server is unreachable, ``PermissionError``
    when it refuses the credentials, ``OSError`` for a missing database or a
    newer scimkit schema. Messages name the server as
    ``postgresql://user@host:port/dbname``, never with the password.
    """

    def __new__(
        cls,
        url: str,
        *,
        max_connections: int | None = None,
        min_idle: int | None = None,
        connect_timeout: float | None = None,
        checkout_timeout: float | None = None,
        retries: int | None = None,
        application_name: str | None = None,
    ) -> PostgresStore: ...
    @property
    def target(self) -> str:
        """The server and database, ``postgresql://user@host:port/dbname`` (no password)."""
    def ping(self) -> None:
        """Check that the database answers; raises ``ConnectionError`` if not."""

@final
class Ctx:
    """The context of a store call."""

    def __new__(
        cls, tenant: str, *, request_id: str | None = None, actor: str | None = None
    ) -> Ctx: ...
    @property
    def tenant(self) -> str:
        """The tenant the request belongs to (from the bearer token)."""
    @property
    def request_id(self) -> str:
        """The request id (the ``X-Request-Id`` header, or a fresh UUID)."""
    @property
    def actor(self) -> str | None:
        """Who acts: the token id, or ``None``."""

@final
class Query:
    """A query handed to ``UserStore.query``, with the reference semantics."""

    @property
    def kind(self) -> Literal["User", "Group"]:
        """``"User"`` or ``"Group"``."""
    @property
    def filter(self) -> str | None:
        """The filter in canonical form (e.g. ``userName eq "alice"``), or ``None``."""
    @property
    def sort_by(self) -> str | None:
        """The canonical attribute path to sort by, or ``None``."""
    @property
    def descending(self) -> bool:
        """Whether the sort is descending."""
    @property
    def paging(self) -> Literal["index", "cursor"]:
        """``"index"`` (startIndex/count) or ``"cursor"`` (RFC 9865)."""
    @property
    def start_index(self) -> int | None:
        """The 1-based start index (index paging), else ``None``."""
    @property
    def count(self) -> int | None:
        """The most results wanted, or ``None`` for all of them."""
    @property
    def cursor(self) -> str | None:
        """The cursor of the page wanted (``None`` for the first page)."""
    @property
    def include_members(self) -> bool:
        """Whether Groups should include ``members``."""
    def matches(self, resource: dict[str, Any] | str | bytes) -> bool:
        """Whether ``resource`` matches the filter (``True`` without a filter)."""
    def compare(self, a: dict[str, Any] | str | bytes, b: dict[str, Any] | str | bytes) -> int:
        """Compare two resources in the query's order (sort, then ``id``): -1, 0 or 1."""
    def paginate(self, items: Iterable[_T]) -> tuple[list[_T], str | None]:
        """The requested page of already filtered and sorted ``items``, and the next cursor."""
    def evaluate(self, stored: Iterable[Stored]) -> Page:
        """Filter, sort and page ``stored`` exactly as the engine would."""
    def equality(self) -> tuple[str, str | int | float | bool, bool] | None:
        """For ``attr eq value``: ``(attribute, value, case_exact)``; else ``None``."""
    def equalities(self) -> list[tuple[str, str | int | float | bool, bool]]:
        """The ``eq`` terms and-ed at the top of the filter (``a[b eq v]`` as ``a.b``).

        Every match satisfies each of them: a store may narrow by any, then
        ``evaluate``.
        """

@final
class MemberChange:
    """A change to a group's membership, handed to ``modify_members``."""

    @property
    def add(self) -> list[dict[str, Any]]:
        """Members to add, as ``members`` entries (``{"value": id, ...}``)."""
    @property
    def remove(self) -> list[str]:
        """Member ids to remove (absent ones are ignored)."""
    @property
    def remove_all(self) -> bool:
        """Whether every member is removed first."""
    @property
    def last_modified(self) -> str:
        """The group's new ``meta.lastModified``."""
    def apply(self, resource: dict[str, Any] | str | bytes) -> dict[str, Any]:
        """The Group resource with the change applied (members, ``meta.lastModified``)."""

@final
class Event:
    """A provisioning event, passed to ``on_event`` after the change was stored."""

    @property
    def type(
        self,
    ) -> Literal[
        "created",
        "linked",
        "updated",
        "deactivated",
        "reactivated",
        "deleted",
        "queued_for_review",
        "members_added",
        "members_removed",
    ]:
        """What happened."""
    @property
    def kind(self) -> Literal["User", "Group"]:
        """``"User"`` or ``"Group"``."""
    @property
    def id(self) -> str:
        """The resource id."""
    @property
    def tenant(self) -> str:
        """The tenant."""
    @property
    def name(self) -> str | None:
        """The user's ``userName`` or the group's ``displayName``, when known."""
    @property
    def changed(self) -> list[str]:
        """For ``"updated"``: the top-level attributes whose value changed."""
    @property
    def members(self) -> list[str]:
        """For membership events: the member ids."""
    @property
    def time(self) -> str:
        """When it happened (fixed-width UTC)."""
    @property
    def request_id(self) -> str:
        """The request that caused it."""
    def to_dict(self) -> dict[str, Any]:
        """The event as a dict (its JSON form)."""

def unique_key(kind: str, resource: dict[str, Any] | str | bytes) -> str | None:
    """The uniqueness key: a User's case-folded ``userName``; ``None`` for a Group."""

def member_change(
    *,
    add: Iterable[dict[str, Any]] | None = None,
    remove: list[str] | None = None,
    remove_all: bool = False,
    last_modified: str | None = None,
) -> MemberChange:
    """Build a ``MemberChange`` (for testing stores)."""

def store_checks() -> list[str]:
    """The names of the store conformance checks, in order."""

def run_store_check(name: str, factory: Callable[[], object]) -> None:
    """Run conformance check ``name`` on ``factory()``; ``AssertionError`` if it fails."""
