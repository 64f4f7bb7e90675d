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

    def __init__(self, token: str = TOKEN) -> None:
        from django.test import Client

        self.client = Client()
        self.token = token

    def __call__(self, method: str, path: str, body: Any = None, **query: str) -> Any:
        kwargs: dict[str, Any] = {"headers": {"Authorization": f"Bearer {self.token}"}}
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


def test_models_and_migrations_agree() -> None:
    # A model change without its migration would leave projects' tables behind.
    call_command("makemigrations", "scimkit", check=True, dry_run=True, verbosity=0)


def test_the_member_key_migration_folds_existing_members() -> None:
    import importlib

    from django.apps import apps

    from scimkit.django.models import ScimMember, ScimResource

    migration = importlib.import_module("scimkit.django.migrations.0002_member_value_key")
    group = ScimResource.objects.create(
        tenant="t", kind="Group", scim_id="g1", name_key="g", resource="{}"
    )
    ScimMember.objects.create(group=group, value="AbC-1")
    ScimMember.objects.create(group=group, value="ÉLAN")
    assert set(ScimMember.objects.values_list("value_key", flat=True)) == {""}
    migration.fill_value_keys(apps, None)
    assert dict(ScimMember.objects.values_list("value", "value_key")) == {
        "AbC-1": "abc-1",
        "ÉLAN": "élan",
    }


def test_membership_filters_ignore_case(entra: Entra) -> None:
    user = entra("POST", "/Users", entra_user("casey@contoso.com")).json()
    group = entra("POST", "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Casey's"}).json()
    patch = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "Add", "path": "members", "value": [{"value": user["id"]}]}],
    }
    assert entra("PATCH", f"/Groups/{group['id']}", patch).status_code in (200, 204)
    for value in (user["id"], user["id"].upper()):
        found = entra(
            "GET",
            "/Groups",
            filter=f'members[value eq "{value}"]',
            excludedAttributes="members",
        ).json()
        assert [r["id"] for r in found["Resources"]] == [group["id"]], value


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


# ===== tenants: one per project, or prefixed names =====

FABRIKAM = "fabrikam-secret"


def test_a_second_tenant_is_refused_at_startup(entra: Entra) -> None:
    from django.contrib.auth import get_user_model
    from django.core import checks
    from django.core.exceptions import ImproperlyConfigured
    from django.test import override_settings

    assert [m for m in checks.run_checks() if m.id == "scimkit.E001"] == []
    two = {"TOKENS": {TOKEN: "contoso", FABRIKAM: "fabrikam"}}
    with override_settings(SCIMKIT=two):
        errors = [m for m in checks.run_checks() if m.id == "scimkit.E001"]
        assert len(errors) == 1
        assert errors[0].level == checks.ERROR
        assert "2 tenants (contoso, fabrikam)" in errors[0].msg
        assert '"TENANT_NAMES": "prefix"' in errors[0].msg
        # A server that skipped the checks refuses on the first request, provisioning nothing.
        with pytest.raises(ImproperlyConfigured, match="2 tenants"):
            entra("POST", "/Users", entra_user("alice@example.com"))
        assert not get_user_model().objects.exists()
    # Several tokens for one tenant (rotating Entra's secret) are fine.
    rotating = {"TOKENS": {TOKEN: "contoso", FABRIKAM: "contoso"}}
    with override_settings(SCIMKIT=rotating):
        assert [m for m in checks.run_checks() if m.id == "scimkit.E001"] == []
        assert entra("POST", "/Users", entra_user("alice@example.com")).status_code == 201
        again = Entra(FABRIKAM)("POST", "/Users", entra_user("alice@example.com"))
        assert again.status_code == 409
        assert again.json()["scimType"] == "uniqueness"
    assert _user("alice@example.com").is_active


@pytest.mark.parametrize(
    ("scimkit_setting", "message"),
    [
        ({"TOKENS": {TOKEN: "contoso"}, "TENANT_NAMES": "suffix"}, "must be"),
        ({"TOKENS": {TOKEN: "con+toso"}, "TENANT_NAMES": "prefix"}, "'con\\+toso'"),
        (
            {"TOKENS": {TOKEN: "contoso"}, "TRUSTED_TENANT": "fabrikam"},
            r"2 tenants \(contoso, fabrikam\)",
        ),
    ],
)
def test_tenant_settings_are_checked(scimkit_setting: dict[str, Any], message: str) -> None:
    from django.core.exceptions import ImproperlyConfigured
    from django.test import override_settings

    from scimkit.django.conf import get_config

    with (
        override_settings(SCIMKIT=scimkit_setting),
        pytest.raises(ImproperlyConfigured, match=message),
    ):
        get_config()


def test_prefixed_tenants_share_the_user_table(entra: Entra) -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import override_settings

    fabrikam = Entra(FABRIKAM)
    settings = {"TOKENS": {TOKEN: "contoso", FABRIKAM: "fabrikam"}, "TENANT_NAMES": "prefix"}
    with override_settings(SCIMKIT=settings):
        # The same userName from two directories: two Django users.
        a = entra("POST", "/Users", entra_user("alice@example.com"))
        b = fabrikam("POST", "/Users", entra_user("alice@example.com"))
        assert (a.status_code, b.status_code) == (201, 201)
        users = get_user_model().objects.order_by("username")
        assert [u.username for u in users] == [
            "contoso+alice@example.com",
            "fabrikam+alice@example.com",
        ]
        field = get_user_model()._meta.get_field("username")
        for u in users:
            field.run_validators(u.username)  # a valid Django username
            assert u.email == "alice@example.com"
        # SCIM sees the plain userName, each tenant only its own user.
        assert a.json()["userName"] == b.json()["userName"] == "alice@example.com"
        mine = entra("GET", "/Users", filter='userName+eq+"alice@example.com"').json()
        assert [r["id"] for r in mine["Resources"]] == [a.json()["id"]]
        assert fabrikam("GET", f"/Users/{a.json()['id']}").status_code == 404

        # Within one tenant the userName is still unique: 409, nothing added.
        dup = fabrikam("POST", "/Users", entra_user("ALICE@example.com"))
        assert (dup.status_code, dup.json()["scimType"]) == (409, "uniqueness")
        assert get_user_model().objects.count() == 2

        # Renaming maps again; deleting in one tenant leaves the other's user.
        renamed = fabrikam(
            "PATCH",
            f"/Users/{b.json()['id']}",
            {
                "schemas": [PATCH_OP],
                "Operations": [{"op": "Replace", "path": "userName", "value": "al@example.com"}],
            },
        )
        assert renamed.status_code == 200
        assert renamed.json()["userName"] == "al@example.com"
        assert _user("fabrikam+al@example.com").pk == users[1].pk

        # Groups are kept apart the same way.
        for client in (entra, fabrikam):
            g = client("POST", "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Sales"})
            assert g.status_code == 201
            assert g.json()["displayName"] == "Sales"
        assert sorted(Group.objects.values_list("name", flat=True)) == [
            "contoso+Sales",
            "fabrikam+Sales",
        ]

        assert entra("DELETE", f"/Users/{a.json()['id']}").status_code == 204
        assert [u.username for u in get_user_model().objects.all()] == ["fabrikam+al@example.com"]
        assert fabrikam("GET", f"/Users/{b.json()['id']}").json()["userName"] == "al@example.com"
