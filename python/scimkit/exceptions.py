"""The exceptions of scimkit.

``Server.handle`` never raises these for protocol errors: a SCIM error is a
response. They exist for the other direction: a Python store signals a
conflict or a missing resource by raising one of them, and the engine answers
with the matching SCIM error (``UniquenessError`` → 409 ``uniqueness``,
``NotFoundError`` → 404, ``PreconditionFailedError`` → 412, …). Any other
exception raised by a store becomes a 500 whose detail reveals nothing; the
original is logged on the ``scimkit`` logger with its traceback.

The hierarchy follows RFC 7644 §3.12: one class per ``scimType`` keyword, plus
the status-only errors. Errors about malformed input also derive from
``ValueError``.
"""

from __future__ import annotations

__all__ = [
    "InvalidCursorError",
    "InvalidFilterError",
    "InvalidPathError",
    "InvalidSyntaxError",
    "InvalidValueError",
    "InvalidVersError",
    "MutabilityError",
    "NoTargetError",
    "NotFoundError",
    "PreconditionFailedError",
    "ScimError",
    "SensitiveError",
    "TooManyError",
    "UnavailableError",
    "UniquenessError",
    "UnsupportedError",
]


class ScimError(Exception):
    """Base class: a SCIM error with an HTTP ``status``, ``scim_type`` and ``detail``."""

    #: The HTTP status code of the error response.
    status: int = 400
    #: The RFC 7644 §3.12 ``scimType`` keyword, or ``None``.
    scim_type: str | None = None

    def __init__(self, detail: str = "") -> None:
        """Create the error with a human-readable ``detail``."""
        super().__init__(detail)
        #: The human-readable message (the ``detail`` of the error response).
        self.detail = detail

    def __reduce__(self) -> tuple[type[ScimError], tuple[str]]:
        """Pickle by class and detail."""
        return (type(self), (self.detail,))


class InvalidFilterError(ScimError, ValueError):
    """``invalidFilter`` (400): the filter syntax is invalid (RFC 7644 §3.4.2.2)."""

    scim_type = "invalidFilter"

    def __init__(self, detail: str = "", position: int | None = None) -> None:
        """Create the error; ``position`` is the byte offset of the problem, if known."""
        super().__init__(detail)
        #: Byte offset in the filter where the problem was found, or ``None``.
        self.position = position


class TooManyError(ScimError):
    """``tooMany`` (400): more results than the server will compute (RFC 7644 §3.4.2.4)."""

    scim_type = "tooMany"


class UniquenessError(ScimError):
    """``uniqueness`` (409): a unique value is already in use (RFC 7644 §3.3).

    A store raises it when a resource's ``userName`` (case-insensitively, per
    tenant) is taken; ``attribute`` names the attribute.
    """

    status = 409
    scim_type = "uniqueness"

    def __init__(self, detail: str = "", attribute: str = "userName") -> None:
        """Create the error for ``attribute`` (default ``userName``)."""
        super().__init__(detail or f"{attribute} is already in use")
        #: The attribute whose value is taken.
        self.attribute = attribute

    def __reduce__(self) -> tuple[type[ScimError], tuple[str, str]]:  # type: ignore[override]
        """Pickle by class, detail and attribute."""
        return (type(self), (self.detail, self.attribute))


class MutabilityError(ScimError):
    """``mutability`` (400): an attempt to change an immutable attribute (RFC 7644 §3.5.2)."""

    scim_type = "mutability"


class InvalidSyntaxError(ScimError, ValueError):
    """``invalidSyntax`` (400): the request body is not valid (RFC 7644 §3.12)."""

    scim_type = "invalidSyntax"


class InvalidPathError(ScimError, ValueError):
    """``invalidPath`` (400): the PATCH path is invalid (RFC 7644 §3.5.2)."""

    scim_type = "invalidPath"


class NoTargetError(ScimError):
    """``noTarget`` (400): the PATCH path matched nothing (RFC 7644 §3.5.2.3)."""

    scim_type = "noTarget"


class InvalidValueError(ScimError, ValueError):
    """``invalidValue`` (400): a value is missing or of the wrong type (RFC 7644 §3.12)."""

    scim_type = "invalidValue"


class InvalidVersError(ScimError):
    """``invalidVers`` (400): the SCIM protocol version is not supported (RFC 7644 §3.13)."""

    scim_type = "invalidVers"


class SensitiveError(ScimError):
    """``sensitive`` (403): sensitive information in the request URI (RFC 7644 §7.5.2)."""

    status = 403
    scim_type = "sensitive"


class InvalidCursorError(ScimError, ValueError):
    """``invalidCursor`` (400): the paging cursor is malformed or unknown (RFC 9865 §2).

    A store raises it for a cursor it did not issue.
    """

    scim_type = "invalidCursor"


class NotFoundError(ScimError):
    """404: the resource does not exist (in this tenant).

    A store raises it from ``replace``, ``delete`` and ``modify_members``.
    """

    status = 404


class PreconditionFailedError(ScimError):
    """412: the resource's version is not the expected one (RFC 7644 §3.14).

    A store raises it when ``if_version`` is given and differs from the stored
    version (compare-and-set).
    """

    status = 412


class UnavailableError(ScimError):
    """503: a temporary store condition (busy, locked, restarting).

    The response carries ``Retry-After: retry_after``.
    """

    status = 503

    def __init__(self, detail: str = "", retry_after: int = 1) -> None:
        """Create the error; clients are told to retry after ``retry_after`` seconds."""
        super().__init__(detail)
        #: Seconds the client should wait before retrying.
        self.retry_after = retry_after

    def __reduce__(self) -> tuple[type[ScimError], tuple[str, int]]:  # type: ignore[override]
        """Pickle by class, detail and retry_after."""
        return (type(self), (self.detail, self.retry_after))


class UnsupportedError(Exception):
    """Raised by a store's ``query`` for a filter or sort it cannot push down.

    Not an error the client sees: the engine then asks the store for every
    resource (a query without filter or sort, which a store must always answer)
    and evaluates the filter itself.
    """
