"""A real Django project (tests/djangoproject) provisioned through the Entra flow.

The database is SQLite in a temporary directory, created by running the
migrations; the assertions look at the Django ``User`` and ``Group`` rows.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ENTERPRISE, GROUP_SCHEMA, PATCH_OP, entra_user

pytest.importorskip("django")

import django
from django.core.management import call_command

TOKEN = "entra-secret"
SCIM = "application/scim+json"


@pytest.fixture(scope="module", autouse=True)
def django_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    db_dir = tmp_path_factory.mktemp("django")
    os.environ["SCIMKIT_TEST_DB_DIR"] = str(db_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "djangoproject.settings"
    django.setup()
    call_command("migrate", verbosity=0)
    return db_dir


@pytest.fixture(autouse=True)
def clean_db(django_project: Path) -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from scimkit.django.models import ScimResource

    ScimResource.objects.all().delete()
    get_user_model().objects.all().delete()
    Group.objects.all().delete()


class Entra:
    """Django's test client speaking SCIM with Entra's token."""

    def __init__(self) -> None:
        from django.test import Client

        self.client = Client()

    def __call__(self, method: str, path: str, body: Any = None, **query: str) -> Any:
        kwargs: dict[str, Any] = {"headers": {"Authorization": f"Bearer {TOKEN}"}}
        if body is not None:
            kwargs["data"] = json.dumps(body)
            kwargs["content_type"] = SCIM
        if query:
            kwargs["QUERY_STRING"] = "&".join(f"{k}={v}" for k, v in query.items())
        return getattr(self.client, method.lower())("/scim/v2" + path, **kwargs)


@pytest.fixture
def entra() -> Entra:
    return Entra()


class Signals:
    """Records every scimkit.django signal."""

    def __init__(self) -> None:
        from scimkit.django import signals

        self.seen: list[tuple[str, dict[str, Any]]] = []
        self._receivers = []
        for name in signals.__all__:
            sig = getattr(signals, name)

            def receiver(sender: Any, _name: str = name, **kwargs: Any) -> None:
                self.seen.append((_name, kwargs))

            sig.connect(receiver, weak=False)
            self._receivers.append((sig, receiver))

    def names(self) -> list[str]:
        return [n for n, _ in self.seen]

    def close(self) -> None:
        for sig, receiver in self._receivers:
            sig.disconnect(receiver)


@pytest.fixture
def signals() -> Iterator[Signals]:
    s = Signals()
    yield s
    s.close()


def _user(username: str) -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=username)


def test_other_urls_are_untouched(entra: Entra) -> None:
    assert entra.client.get("/hello/").content == b"hello"


def test_entra_test_connection(entra: Entra) -> None:
    r = entra("GET", "/Users", filter="userName+eq+%22probe%40contoso.com%22")
    assert r.status_code == 200
    assert r.json()["totalResults"] == 0
    assert r["Content-Type"] == SCIM
    assert entra.client.get("/scim/v2/Users").status_code == 401


def test_entra_flow_maps_onto_django_users_and_groups(entra: Entra, signals: Signals) -> None:
    from django.contrib.auth.models import Group

    r = entra("POST", "/Users", entra_user("alice@contoso.com"))
    assert r.status_code == 201, r.content
    uid = r.json()["id"]
    assert r["Location"] == f"http://testserver/scim/v2/Users/{uid}"
    alice = _user("alice@contoso.com")
    assert (alice.email, alice.first_name, alice.last_name, alice.is_active) == (
        "alice@contoso.com",
        "Alice",
        "Smith",
        True,
    )
    assert not alice.has_usable_password()
    assert alice.scim_resource.external_id == "alice"
    assert signals.names() == ["user_provisioned"]
    # Matching before create; duplicates are 409.
    found = entra("GET", "/Users", filter='userName+eq+"ALICE@contoso.com"').json()
    assert [u["id"] for u in found["Resources"]] == [uid]
    assert entra("POST", "/Users", entra_user("Alice@Contoso.com")).status_code == 409
    # The Entra PATCH dialect.
    patch = {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "Replace", "value": {"name.givenName": "Alicia", "displayName": "Alicia Smith"}},
            {
                "op": "Replace",
                "path": 'emails[type eq "work"].value',
                "value": "alicia@contoso.com",
            },
            {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "Research"},
        ],
    }
    assert entra("PATCH", f"/Users/{uid}", patch).status_code in (200, 204)
    alice = _user("alice@contoso.com")
    assert (alice.first_name, alice.email) == ("Alicia", "alicia@contoso.com")
    got = entra("GET", f"/Users/{uid}").json()
    assert got[ENTERPRISE]["department"] == "Research"
    assert got["meta"]["version"] == 'W/"2"'
    # Deactivate (Entra soft delete) and reactivate.
    signals.seen.clear()
    off = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
    }
    assert entra("PATCH", f"/Users/{uid}", off).status_code in (200, 204)
    assert _user("alice@contoso.com").is_active is False
    assert signals.names() == ["user_updated", "user_deactivated"]
    assert signals.seen[1][1]["reason"] == "active_false"
    assert signals.seen[1][1]["user"].username == "alice@contoso.com"
    on = {"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": True}]}
    entra("PATCH", f"/Users/{uid}", on)
    assert _user("alice@contoso.com").is_active is True
    assert signals.names()[-1] == "user_reactivated"
    # Groups and membership.
    bob_id = entra("POST", "/Users", entra_user("bob@contoso.com", externalId="bob")).json()["id"]
    g = entra("POST", "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Engineering"})
    assert g.status_code == 201
    gid = g.json()["id"]
    engineering = Group.objects.get(name="Engineering")
    signals.seen.clear()
    add = {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "Add", "path": "members", "value": [{"value": uid}, {"value": bob_id}]}
        ],
    }
    assert entra("PATCH", f"/Groups/{gid}", add).status_code in (200, 204)
    assert set(engineering.user_set.values_list("username", flat=True)) == {
        "alice@contoso.com",
        "bob@contoso.com",
    }
    assert signals.names() == ["group_membership_changed"]
    assert {u.username for u in signals.seen[0][1]["added"]} == {
        "alice@contoso.com",
        "bob@contoso.com",
    }
    check = entra(
        "GET",
        "/Groups",
        filter=f'id+eq+"{gid}"+and+members[value+eq+"{bob_id}"]',
        excludedAttributes="members",
    ).json()
    assert check["totalResults"] == 1
    by_name = entra("GET", "/Groups", filter='displayName+eq+"engineering"').json()
    assert by_name["totalResults"] == 1
    remove = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "Remove", "path": f'members[value eq "{bob_id}"]'}],
    }
    assert entra("PATCH", f"/Groups/{gid}", remove).status_code in (200, 204)
    assert list(engineering.user_set.values_list("username", flat=True)) == ["alice@contoso.com"]
    # Rename the group.
    rename = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "Replace", "path": "displayName", "value": "Eng"}],
    }
    assert entra("PATCH", f"/Groups/{gid}", rename).status_code in (200, 204)
    assert Group.objects.filter(name="Eng").exists()
    # Permanent delete (hard policy): the Django user is gone, and out of the group.
    signals.seen.clear()
    assert entra("DELETE", f"/Users/{uid}").status_code == 204
    assert entra("GET", f"/Users/{uid}").status_code == 404
    from django.contrib.auth import get_user_model

    assert not get_user_model().objects.filter(username="alice@contoso.com").exists()
    assert "user_deleted" in signals.names()
    assert "members" not in entra("GET", f"/Groups/{gid}").json()
    # Deleting the group deletes the auth group.
    assert entra("DELETE", f"/Groups/{gid}").status_code == 204
    assert not Group.objects.filter(name="Eng").exists()


def test_deactivate_policy_keeps_the_user(entra: Entra, signals: Signals) -> None:
    from django.test import override_settings

    settings = {"TOKENS": {TOKEN: "contoso"}, "DELETE_POLICY": "deactivate"}
    with override_settings(SCIMKIT=settings):
        uid = entra("POST", "/Users", entra_user("carol@contoso.com")).json()["id"]
        pk = _user("carol@contoso.com").pk
        assert entra("DELETE", f"/Users/{uid}").status_code == 204
        carol = _user("carol@contoso.com")
        assert carol.is_active is False
        assert entra("GET", f"/Users/{uid}").status_code == 404
        assert (
            entra("GET", "/Users", filter='userName+eq+"carol@contoso.com"').json()["totalResults"]
            == 0
        )
        assert ("user_deactivated", "deleted") in [(n, k.get("reason")) for n, k in signals.seen]
        # Provisioning the same userName again revives the same Django user.
        again = entra("POST", "/Users", entra_user("carol@contoso.com"))
        assert again.status_code == 201
        carol = _user("carol@contoso.com")
        assert (carol.pk, carol.is_active) == (pk, True)
        assert again.json()["id"] != uid


def test_existing_users_are_linked_only_when_allowed(entra: Entra) -> None:
    from django.contrib.auth import get_user_model
    from django.test import override_settings

    legacy = get_user_model().objects.create_user("dave@contoso.com", password="pw")
    assert entra("POST", "/Users", entra_user("dave@contoso.com")).status_code == 409
    settings = {"TOKENS": {TOKEN: "contoso"}, "LINK_EXISTING_USERS": True}
    with override_settings(SCIMKIT=settings):
        r = entra("POST", "/Users", entra_user("DAVE@contoso.com"))
        assert r.status_code == 201
    dave = get_user_model().objects.get(pk=legacy.pk)
    assert dave.username == "DAVE@contoso.com"
    assert dave.scim_resource.scim_id == r.json()["id"]
    assert dave.check_password("pw")


def test_existing_groups_are_adopted_by_display_name(entra: Entra) -> None:
    from django.contrib.auth.models import Group

    sales = Group.objects.create(name="Sales")
    r = entra("POST", "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Sales"})
    assert r.status_code == 201
    assert Group.objects.get(name="Sales").pk == sales.pk
    again = entra("POST", "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Sales"})
    assert again.status_code == 409


def test_django_store_conforms() -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    import scimkit.testing
    from scimkit.django.models import ScimResource
    from scimkit.django.store import DjangoStore, UserMapper

    class TenantMapper(UserMapper):
        # One user table for many tenants: keep their usernames apart.
        def username(self, tenant: str, user_name: str) -> str:
            return f"{tenant}/{user_name}"

    def fresh() -> DjangoStore:
        ScimResource.objects.all().delete()
        get_user_model().objects.all().delete()
        Group.objects.all().delete()
        return DjangoStore(user_mapper=TenantMapper())

    scimkit.testing.check_store(fresh)
