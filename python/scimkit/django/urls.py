"""URLs of ``scimkit.django``: include under the SCIM base path.

``path("scim/v2/", include("scimkit.django.urls"))`` serves ``/scim/v2/Users``,
``/scim/v2/Groups``, discovery and the rest under that prefix.
"""

from django.urls import re_path

from scimkit.django.views import scim_view

app_name = "scimkit"

urlpatterns = [re_path(r"^(?P<subpath>.*)$", scim_view, name="scim")]
