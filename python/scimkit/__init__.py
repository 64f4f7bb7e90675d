"""scimkit: SCIM 2.0 provisioning (Microsoft Entra ID, Okta, ...) for Python apps.

A Rust engine holds every SCIM rule; this package mounts it::

    import scimkit

    server = scimkit.Server(scimkit.MemoryStore(), {"s3cret": "contoso"})
    r = server.handle("GET", "/scim/v2/Users", query='filter=userName eq "x"',
                      headers=[("authorization", "Bearer s3cret")])
    assert r.status == 200 and r.json()["totalResults"] == 0

Mount it with ``scimkit.wsgi.make_app`` (Flask, gunicorn), ``scimkit.asgi.make_app``
(Starlette, FastAPI, uvicorn) or the Django app ``scimkit.django``. Storage is a
bundled store (``MemoryStore()``, ``SqliteStore(path)``, ``PostgresStore(url)``) or any object
implementing ``scimkit.UserStore``.
"""

from scimkit._native import (
    Ctx,
    Event,
    MemberChange,
    MemoryStore,
    PostgresStore,
    Query,
    Response,
    Server,
    SqliteStore,
    __version__,
)
from scimkit.exceptions import (
    InvalidCursorError,
    InvalidFilterError,
    InvalidPathError,
    InvalidSyntaxError,
    InvalidValueError,
    InvalidVersError,
    MutabilityError,
    NoTargetError,
    NotFoundError,
    PreconditionFailedError,
    ScimError,
    SensitiveError,
    TooManyError,
    UnavailableError,
    UniquenessError,
    UnsupportedError,
)
from scimkit.store import Kind, MemberStore, Page, Stored, UserStore, unique_key

__all__ = [
    "Ctx",
    "Event",
    "InvalidCursorError",
    "InvalidFilterError",
    "InvalidPathError",
    "InvalidSyntaxError",
    "InvalidValueError",
    "InvalidVersError",
    "Kind",
    "MemberChange",
    "MemberStore",
    "MemoryStore",
    "MutabilityError",
    "NoTargetError",
    "NotFoundError",
    "Page",
    "PostgresStore",
    "PreconditionFailedError",
    "Query",
    "Response",
    "ScimError",
    "SensitiveError",
    "Server",
    "SqliteStore",
    "Stored",
    "TooManyError",
    "UnavailableError",
    "UniquenessError",
    "UnsupportedError",
    "UserStore",
    "__version__",
    "unique_key",
]
