"""Settings from the environment (12-factor); a fresh checkout runs on SQLite under ./.wangge/.

Every variable is listed in docs/configuration.md.
"""

from pathlib import Path

import dj_database_url

from wangge.lib.env import env_bool, env_choice, env_float, env_int, env_secret, env_str

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(env_str("WANGGE_DATA_DIR", str(Path.cwd() / ".wangge"))).resolve()

DEBUG = env_bool("WANGGE_DEBUG", True)
# Development defaults exist only in debug mode; production must supply real secrets.
SECRET_KEY = env_secret("WANGGE_SECRET_KEY", "dev-only-insecure-secret-key" if DEBUG else None)
PII_KEY = env_secret(
    "WANGGE_PII_KEY",
    # A fixed development key (urlsafe base64 of 32 bytes); never used when WANGGE_DEBUG=false.
    "ZGV2LW9ubHktd2FuZ2dlLXBpaS1rZXktMzJieXRlcyE=" if DEBUG else None,
)
# Previous PII keys, comma-separated: still decrypt until `wangge pii rotate` has run.
PII_OLD_KEYS = tuple(
    k.strip() for k in env_secret("WANGGE_PII_OLD_KEYS", "").split(",") if k.strip()
)
ALLOWED_HOSTS = [h for h in env_str("WANGGE_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
if DEBUG:
    ALLOWED_HOSTS += ["testserver", "*"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    "ninja",
    "django_htmx",
    "wangge.audit",
    "wangge.grids",
    "wangge.accounts",
    "wangge.people",
    "wangge.care",
    "wangge.privacy",
    "wangge.timebank",
    "wangge.participation",
    "wangge.projects",
    "wangge.deliberation",
    "wangge.cases",
    "wangge.dispatch",
    "wangge.dashboards",
    "wangge.open311",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "wangge.lib.middleware.RequestIdMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "wangge.lib.middleware.HtmxLoginRedirect",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "wangge.urls"
WSGI_APPLICATION = "wangge.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "wangge.lib.navigation.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'wangge.sqlite3'}",
        conn_max_age=env_int("WANGGE_DB_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    # WAL and a busy timeout let the worker and the web server share the file.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }

# One cache for every server process (throttle counts of the public forms, big-screen data): a
# database table, created by migrate (audit/migrations/0002_cache_table.py).
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "wangge_cache",
        # Many clients × forms: keep culling rare so throttle counts are not dropped early.
        "OPTIONS": {"MAX_ENTRIES": 100_000, "CULL_FREQUENCY": 4},
    }
}
# Reverse proxies whose X-Forwarded-For names the client (addresses or CIDR ranges).
WANGGE_TRUSTED_PROXIES = tuple(
    p.strip() for p in env_str("WANGGE_TRUSTED_PROXIES", "").split(",") if p.strip()
)

AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/queue/"
LOGOUT_REDIRECT_URL = "/login/"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    # plotly's offline bundle and Leaflet, from their installed packages
    "wangge.lib.staticfinders.PackageStaticFinder",
]
MEDIA_URL = "/media/"
MEDIA_ROOT = DATA_DIR / "media"

DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("WANGGE_MAX_BODY_BYTES", 5 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = DATA_UPLOAD_MAX_MEMORY_SIZE

TASKS = {
    "default": {
        "BACKEND": env_str("WANGGE_TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "wangge": {"handlers": ["console"], "level": env_str("WANGGE_LOG_LEVEL", "INFO")},
        "wangge.notify": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

# --- domain settings -------------------------------------------------------------------------
# Share of the allowed time after which a deadline turns yellow.
WANGGE_WARN_SHARE = env_float("WANGGE_WARN_SHARE", 0.8)
# Working hours of a working day (24h clock); deadlines in hours count only these.
WANGGE_WORKDAY_START = env_str("WANGGE_WORKDAY_START", "09:00")
WANGGE_WORKDAY_END = env_str("WANGGE_WORKDAY_END", "17:00")
# Extra holiday rows (same columns as wangge/lib/data/holidays.csv) an administrator can add.
WANGGE_HOLIDAYS_FILE = env_str("WANGGE_HOLIDAYS_FILE", "")
# NBS division codes (cn-admin-nbs2023 layout): places outside the jurisdiction are recognised
# so a message naming them is not placed locally. Empty: ../shared/data next to the checkout.
WANGGE_ADMIN_DIVISIONS_DIR = env_str("WANGGE_ADMIN_DIVISIONS_DIR", "")
# A point this close (metres) to a sibling's boundary is flagged as ambiguous.
WANGGE_AMBIGUOUS_METRES = env_float("WANGGE_AMBIGUOUS_METRES", 30.0)
# Attachments.
WANGGE_ATTACHMENT_MAX_BYTES = env_int("WANGGE_ATTACHMENT_MAX_BYTES", 5 * 1024 * 1024)
WANGGE_ATTACHMENT_TYPES = env_str(
    "WANGGE_ATTACHMENT_TYPES", "image/jpeg,image/png,image/webp,application/pdf"
).split(",")
# Base map: an intranet tile server's URL template ({z}/{x}/{y}); empty shows the grid polygons
# on a plain background. Nothing is ever fetched from the internet.
WANGGE_TILE_URL = env_str("WANGGE_TILE_URL", "")
WANGGE_TILE_ATTRIBUTION = env_str("WANGGE_TILE_ATTRIBUTION", "")
# How often the dispatcher's queue refreshes its rows (htmx polling), in seconds.
WANGGE_QUEUE_POLL_SECONDS = env_int("WANGGE_QUEUE_POLL_SECONDS", 15)
# How long an API token's user and roles are remembered in one process (0: never).
WANGGE_TOKEN_CACHE_SECONDS = env_float("WANGGE_TOKEN_CACHE_SECONDS", 10.0)
# 智能分派 of a case taken in by the API: "worker" (answer at once, `wangge worker` routes it
# within a poll) or "inline" (within the request: slower intake, the answer shows the dispatch).
WANGGE_INTAKE_ROUTING = env_choice("WANGGE_INTAKE_ROUTING", ("worker", "inline"), "worker")
# A device alarm within this many minutes of the last one joins its open case.
WANGGE_DEVICE_DEDUP_MINUTES = env_float("WANGGE_DEVICE_DEDUP_MINUTES", 10.0)
# 智能守护: the MQTT broker the home devices report to (docs/devices.md).
WANGGE_MQTT_HOST = env_str("WANGGE_MQTT_HOST", "127.0.0.1")
WANGGE_MQTT_PORT = env_int("WANGGE_MQTT_PORT", 1883)
WANGGE_MQTT_USERNAME = env_str("WANGGE_MQTT_USERNAME", "")
WANGGE_MQTT_PASSWORD = env_secret("WANGGE_MQTT_PASSWORD", "")
WANGGE_MQTT_TLS = env_bool("WANGGE_MQTT_TLS", False)
WANGGE_MQTT_CA_FILE = env_str("WANGGE_MQTT_CA_FILE", "")
WANGGE_MQTT_CLIENT_ID = env_str("WANGGE_MQTT_CLIENT_ID", "wangge-devices")
WANGGE_MQTT_TOPIC = env_str("WANGGE_MQTT_TOPIC", "wangge/devices/+/events")
WANGGE_MQTT_SESSION_EXPIRY = env_int("WANGGE_MQTT_SESSION_EXPIRY", 7 * 24 * 3600)
# Notification delivery: "log" or "webhook" (with WANGGE_WEBHOOK_URL).
WANGGE_NOTIFY_BACKEND = env_str("WANGGE_NOTIFY_BACKEND", "log")
WANGGE_WEBHOOK_URL = env_str("WANGGE_WEBHOOK_URL", "")
WANGGE_NOTIFY_MAX_ATTEMPTS = env_int("WANGGE_NOTIFY_MAX_ATTEMPTS", 8)
