"""Django settings for medshield, read from the environment with safe defaults.

The variables, their meaning and defaults are listed in the README ("Configuration").
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from medshield.core.env import envbool, envint, envlist, envsecret, envstr

BASE_DIR = Path(__file__).resolve().parent
REPO_DIR = BASE_DIR.parent
DATA_DIR = Path(
    envstr("MEDSHIELD_DATA_DIR", str(Path.home() / ".local" / "share" / "medshield"))
).resolve()

DEBUG = envbool("MEDSHIELD_DEBUG", False)
SECRET_KEY = envsecret("MEDSHIELD_SECRET_KEY", DATA_DIR)
ALLOWED_HOSTS = envlist("MEDSHIELD_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "medshield.core",
    "medshield.assets",
    "medshield.network",
    "medshield.register",
    "medshield.demo",
    "medshield.diagrams",
    "medshield.vulns",
    "medshield.sboms",
    "medshield.discovery",
    "medshield.findings",
    "medshield.accounts",
    "medshield.audit",
    "medshield.api",
    "medshield.jobs",
    "medshield.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "medshield.core.middleware.ChangeActorMiddleware",
]

ROOT_URLCONF = "medshield.urls"
WSGI_APPLICATION = "medshield.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _database() -> dict[str, object]:
    url = os.environ.get("DATABASE_URL")
    if not url:
        # Owner-only: the database is a map of the hospital's weak points.
        DATA_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
        url = f"sqlite:///{DATA_DIR / 'medshield.sqlite3'}"
    config: dict[str, object] = dict(dj_database_url.parse(url, conn_max_age=60))
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # Writers wait for each other instead of failing with "database is locked", and a write
        # transaction takes its lock at BEGIN so two imports never deadlock half-way.
        config["CONN_MAX_AGE"] = 0
        config["OPTIONS"] = {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "asset-list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", _("Japanese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = envstr("MEDSHIELD_TIME_ZONE", "Asia/Tokyo")
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every start without it
STATICFILES_DIRS = [
    ("vendor/bootstrap", REPO_DIR / "node_modules" / "bootstrap" / "dist"),
    ("vendor/htmx", REPO_DIR / "node_modules" / "htmx.org" / "dist"),
    ("vendor/svg-pan-zoom", REPO_DIR / "node_modules" / "svg-pan-zoom" / "dist"),
]
STATICFILES_DIRS = [(prefix, path) for prefix, path in STATICFILES_DIRS if path.exists()]
WHITENOISE_USE_FINDERS = True

# Sessions end after an hour idle: a register of weak points should not stay open on a ward PC.
SESSION_COOKIE_AGE = envint("MEDSHIELD_SESSION_AGE", 3600)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = envbool("MEDSHIELD_SECURE_COOKIES", False)
# Behind the TLS reverse proxy the README asks for: the origins users type in their browser
# (https://medshield.hospital.example) and, when the proxy sets it, the header saying the
# request came over HTTPS. Without them Django refuses every form post from the proxy.
CSRF_TRUSTED_ORIGINS = envlist("MEDSHIELD_CSRF_TRUSTED_ORIGINS", [])
if envbool("MEDSHIELD_BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

MAX_UPLOAD_MB = envint("MEDSHIELD_MAX_UPLOAD_MB", 50)
# Seconds Graphviz may spend on one diagram before it is stopped (a worker must not be pinned).
DIAGRAM_TIMEOUT = envint("MEDSHIELD_DIAGRAM_TIMEOUT", 120)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 5000

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": envstr("MEDSHIELD_LOG_LEVEL", "WARNING")},
}
