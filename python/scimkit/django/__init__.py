"""``scimkit.django``: SCIM provisioning for a Django project.

Add the app and its URLs, give it a token, run ``migrate``::

    INSTALLED_APPS = [..., "django.contrib.auth", "django.contrib.contenttypes", "scimkit.django"]
    SCIMKIT = {"TOKENS": {"<secret token>": "default"}}

    urlpatterns = [..., path("scim/v2/", include("scimkit.django.urls"))]

SCIM Users become rows of the project's user model (``get_user_model()``):
``username`` ← ``userName``, ``email`` ← the work email, ``first_name`` /
``last_name`` ← ``name.givenName`` / ``name.familyName``, ``is_active`` ←
``active``. SCIM Groups become ``django.contrib.auth`` groups, membership
included. What only SCIM needs (the id, externalId, the full resource, the
version) is kept in this app's own model, ``ScimResource``.

Settings (``SCIMKIT``, all optional except a way to authenticate):

``TOKENS``
    ``{token: tenant}`` bearer tokens (Entra's "Secret Token").
``TRUSTED_TENANT``
    Serve every request as this tenant (authentication done upstream).
``DELETE_POLICY``
    ``"hard"`` (default: SCIM DELETE deletes the Django user) or
    ``"deactivate"`` (the user is kept with ``is_active=False``; SCIM answers 404
    for it afterwards, and provisioning the same userName again revives it).
``LINK_EXISTING_USERS``
    ``False`` (default). ``True``: a POST whose userName matches an existing
    Django user not yet provisioned adopts that user instead of answering 409.
``LINK_EXISTING_GROUPS``
    ``True`` (default): a POSTed group whose displayName names an existing auth
    group not yet provisioned adopts it.
``DELETE_GROUPS``
    ``True`` (default): SCIM DELETE of a group deletes the auth group. ``False``:
    the auth group (and its permissions) is kept, only unlinked.
``USER_MAPPER``
    Dotted path of a ``scimkit.django.store.UserMapper`` subclass, to map more
    (or other) fields of a custom user model.
``BASE_URL``
    Absolute URL prefix for ``meta.location`` (derived from the request otherwise).
``SERVER_OPTIONS``
    More keyword arguments for ``scimkit.Server`` (``max_results``, ...).
``TENANT_NAMES``
    ``"single"`` (default): the project is provisioned by one directory. Django
    usernames and group names are unique across the project, so every token
    must map to the same tenant (several tokens for one tenant are fine, e.g.
    while rotating the secret); a configuration naming two tenants is refused at
    startup (system check ``scimkit.E001``, and ``ImproperlyConfigured`` on the
    first request). ``"prefix"``: several directories share the user table;
    each tenant's users and groups are stored as ``"<tenant>+<userName>"`` and
    ``"<tenant>+<displayName>"`` (SCIM still sees the plain names), so tenants
    never collide, while a duplicate userName within a tenant is a 409
    ``uniqueness``. Tenant names must then consist of letters, digits and
    ``_ . @ -``.

Signals (``scimkit.django.signals``), sent after the transaction commits:
``user_provisioned``, ``user_updated``, ``user_deactivated``,
``user_reactivated``, ``user_deleted``, ``group_membership_changed``.
"""
