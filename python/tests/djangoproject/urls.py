"""The test project's URLs: SCIM under /scim/v2/, and one ordinary page."""

from django.http import HttpResponse
from django.urls import include, path

urlpatterns = [
    path("scim/v2/", include("scimkit.django.urls")),
    path("hello/", lambda request: HttpResponse("hello")),
]
