"""A minimal Django project provisioned through scimkit.django (tests only)."""

import os

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "scimkit.django",
]
MIDDLEWARE = [
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]
ROOT_URLCONF = "djangoproject.urls"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        # A file in a temporary directory chosen by the test fixture.
        "NAME": os.path.join(os.environ.get("SCIMKIT_TEST_DB_DIR", "."), "db.sqlite3"),
        "OPTIONS": {"timeout": 30, "transaction_mode": "IMMEDIATE"},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
SCIMKIT = {
    "TOKENS": {"entra-secret": "contoso"},
    "DELETE_POLICY": "hard",
}
