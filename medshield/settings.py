"""Django settings for medshield, read from the environment with safe defaults.

The variables, their meaning and defaults are listed in the README ("Configuration").
"""

from __future__ import annotations

import importlib.util
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
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
    # Accounts: login throttling and the TOTP second factor
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "medshield.accounts.middleware.SlidingSessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "medshield.core.security.UploadLimitMiddleware",  # before anything reads a request body
    "medshield.core.security.SecurityHeadersMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "medshield.api.middleware.ApiTokenMiddleware",  # Bearer tokens on /api/
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "medshield.core.middleware.ChangeActorMiddleware",
    # Accounts: every view passes the permission rules (after authentication, the OTP check and
    # API tokens); axes turns a locked-out login into its page and stays last, as it asks.
    "medshield.accounts.middleware.PermissionMiddleware",
    "axes.middleware.AxesMiddleware",
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


#: the page size of a new SQLite database (SQLite's default is 4 KiB). An NVD's 400,000 records
#: of about 1 KiB each are most of the register: merged with 16 KiB pages, they took a quarter
#: less time to write and their commit a third less (fewer pages, fewer spilled to overflow
#: pages, and a fourth of the page writes when the log is copied into the database). A database
#: made before keeps its page size (SQLite changes it only when rebuilding the file).
SQLITE_PAGE_SIZE = 16384


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
            "init_command": f"PRAGMA page_size={SQLITE_PAGE_SIZE}; PRAGMA journal_mode=WAL; "
            "PRAGMA synchronous=NORMAL;",
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
# Sliding expiry without a session write per request: medshield.accounts.middleware.
SESSION_SAVE_EVERY_REQUEST = False
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

# Hardening (docs/security.md). MEDSHIELD_ENV=production is the deployment the README describes:
# behind a TLS proxy, DEBUG refused, HTTPS everywhere; `medshield check --deploy` is then clean.
# CSP, Permissions-Policy and the request-size limit come from medshield.core.security in
# every environment.
MEDSHIELD_ENV = envstr("MEDSHIELD_ENV", "development").strip().lower()
if MEDSHIELD_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(
        f"MEDSHIELD_ENV must be development or production, not {MEDSHIELD_ENV!r}"
    )
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if MEDSHIELD_ENV == "production":
    if DEBUG:
        raise ImproperlyConfigured("MEDSHIELD_DEBUG must be off when MEDSHIELD_ENV=production")
    # The TLS proxy says which requests came over HTTPS; without it every request would look
    # like plain HTTP and be redirected for ever.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = envbool("MEDSHIELD_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    CSRF_COOKIE_HTTPONLY = True
    SECURE_HSTS_SECONDS = envint("MEDSHIELD_HSTS_SECONDS", 365 * 24 * 3600)
    # Subdomains of medshield's own host name (not of the hospital's domain) are covered.
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SILENCED_SYSTEM_CHECKS = [
        # security.W021, HSTS preload: the preload list is for public domains and binds the
        # hospital's whole registrable domain in every browser; medshield runs on an internal
        # host name, so it must not ask to be preloaded.
        "security.W021",
    ]

# Accounts (docs/authentication.md): argon2 first (older hashes are upgraded at the next login),
# lockout after repeated failures per user name and address, TOTP as the second factor.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
# OIDC or LDAP plug in here (mozilla-django-oidc, django-auth-ldap): add the backend after the
# lockout backend. Roles still come from the groups (docs/authentication.md).
AUTHENTICATION_BACKENDS = [
    "medshield.accounts.backends.LockoutBackend",
    "medshield.accounts.backends.RoleBackend",
]
AXES_FAILURE_LIMIT = envint("MEDSHIELD_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=envint("MEDSHIELD_LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # logins are in medshield's own audit log
AXES_LOCKOUT_CALLABLE = "medshield.accounts.views.locked_out"
AXES_VERBOSE = False
# The client's address behind the TLS proxy too (medshield.core.clientip), so that a lockout is
# per user and address, not per user and proxy.
AXES_CLIENT_IP_CALLABLE = "medshield.core.clientip.client_ip"
OTP_TOTP_ISSUER = "medshield"
MEDSHIELD_REQUIRE_2FA = envbool("MEDSHIELD_REQUIRE_2FA", False)
# End of accounts.

# Findings are re-matched after every commit that changes the register or imports a feed
# (medshield.findings.signals): in the process that committed (on, the default), by a job the
# workers run ("worker": the request that saved returns at once), or not at all (off: only
# `medshield match`, e.g. from a timer, re-matches).
FINDINGS_AUTO_MATCH: bool | str = (
    "worker"
    if os.environ.get("MEDSHIELD_AUTO_MATCH", "").strip().lower() == "worker"
    else envbool("MEDSHIELD_AUTO_MATCH", True)
)
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

# API (medshield/api): the Swagger UI comes from django-ninja's own templates and static files
# rather than a CDN, so the docs page works on a hospital network without internet access. They
# are found without making ninja an installed app, which would import it (and pydantic's schema
# machinery) in every process at start-up, every `medshield` command included: a fifth of a
# second each (medshield.api.main.LocalSwagger renders them).
_NINJA_SPEC = importlib.util.find_spec("ninja")
if _NINJA_SPEC is not None and _NINJA_SPEC.submodule_search_locations:
    _NINJA_DIR = Path(next(iter(_NINJA_SPEC.submodule_search_locations)))
    TEMPLATES[0]["DIRS"] = [_NINJA_DIR / "templates"]  # type: ignore[index]
    STATICFILES_DIRS.append(_NINJA_DIR / "static")  # type: ignore[arg-type]
