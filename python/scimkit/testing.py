"""Test helpers: the store conformance suite for Python stores.

These are the checks every Rust store passes (``scimkit::store::testkit``), run
through the same adapter the server uses for Python stores::

    from scimkit.testing import check_store

    def test_my_store_conforms():
        check_store(MyStore)          # a factory giving a fresh, empty store

or one pytest test per check::

    @pytest.mark.parametrize("name", scimkit.testing.CHECKS)
    def test_conformance(name):
        scimkit.testing.run_check(name, MyStore)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from scimkit import _native

__all__ = ["CHECKS", "check_store", "run_check"]

#: The names of the conformance checks, in order.
CHECKS: tuple[str, ...] = tuple(_native.store_checks())


def run_check(name: str, factory: Callable[[], object]) -> None:
    """Run the check ``name`` on a fresh store from ``factory()``.

    Raises ``AssertionError`` naming the broken rule, ``ValueError`` for an
    unknown check name. Some checks call the store from several threads at once.
    """
    _native.run_store_check(name, factory)


def check_store(factory: Callable[[], object], *, skip: Iterable[str] = ()) -> None:
    """Run every check (except those named in ``skip``), each on a fresh store."""
    skipped = set(skip)
    unknown = skipped - set(CHECKS)
    if unknown:
        raise ValueError(f"unknown checks in skip: {sorted(unknown)}")
    for name in CHECKS:
        if name not in skipped:
            run_check(name, factory)
