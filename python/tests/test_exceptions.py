"""The exception hierarchy: statuses, scimTypes, ValueError for malformed input, pickling."""

from __future__ import annotations

import pickle

import pytest

import scimkit
from scimkit import exceptions


@pytest.mark.parametrize(
    ("cls", "status", "scim_type"),
    [
        (scimkit.InvalidFilterError, 400, "invalidFilter"),
        (scimkit.TooManyError, 400, "tooMany"),
        (scimkit.UniquenessError, 409, "uniqueness"),
        (scimkit.MutabilityError, 400, "mutability"),
        (scimkit.InvalidSyntaxError, 400, "invalidSyntax"),
        (scimkit.InvalidPathError, 400, "invalidPath"),
        (scimkit.NoTargetError, 400, "noTarget"),
        (scimkit.InvalidValueError, 400, "invalidValue"),
        (scimkit.InvalidVersError, 400, "invalidVers"),
        (scimkit.SensitiveError, 403, "sensitive"),
        (scimkit.InvalidCursorError, 400, "invalidCursor"),
        (scimkit.NotFoundError, 404, None),
        (scimkit.PreconditionFailedError, 412, None),
        (scimkit.UnavailableError, 503, None),
    ],
)
def test_each_error_knows_its_status_and_scim_type(
    cls: type[scimkit.ScimError], status: int, scim_type: str | None
) -> None:
    err = cls("why")
    assert isinstance(err, scimkit.ScimError)
    assert err.status == status
    assert err.scim_type == scim_type
    assert err.detail == "why"
    assert str(err) == "why"
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is cls
    assert again.detail == "why"


@pytest.mark.parametrize(
    "cls",
    [
        scimkit.InvalidFilterError,
        scimkit.InvalidSyntaxError,
        scimkit.InvalidPathError,
        scimkit.InvalidValueError,
        scimkit.InvalidCursorError,
    ],
)
def test_malformed_input_errors_are_value_errors(cls: type[Exception]) -> None:
    assert issubclass(cls, ValueError)


def test_uniqueness_names_its_attribute() -> None:
    err = scimkit.UniquenessError(attribute="externalId")
    assert err.attribute == "externalId"
    assert "externalId" in err.detail
    again = pickle.loads(pickle.dumps(err))
    assert again.attribute == "externalId"
    assert scimkit.UniquenessError().attribute == "userName"


def test_unavailable_carries_retry_after() -> None:
    err = pickle.loads(pickle.dumps(scimkit.UnavailableError("busy", retry_after=5)))
    assert err.retry_after == 5


def test_invalid_filter_carries_a_position() -> None:
    assert scimkit.InvalidFilterError("bad", position=9).position == 9


def test_unsupported_is_a_signal_not_a_scim_error() -> None:
    assert not issubclass(scimkit.UnsupportedError, scimkit.ScimError)


def test_all_is_complete() -> None:
    for name in exceptions.__all__:
        assert getattr(scimkit, name) is getattr(exceptions, name)
    for name in scimkit.__all__:
        assert hasattr(scimkit, name)
