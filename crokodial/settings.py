"""Crokodial settings: everything comes from the environment (see README, "Configuration").

With no DATABASE_URL and no REDIS_URL the project runs on the embedded default: a SQLite file,
the in-memory channel layer and Celery tasks executed eagerly in-process.

A bad value stops the process with one line naming the variable; secrets are never echoed.
"""

import os
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit

import dj_database_url
from csp.constants import NONE, SELF
from kombu import Queue

from webhooks.routes import NEXTGEN_WEBHOOK_ROUTE

BASE_DIR = Path(__file__).resolve().parent.parent

DATABASE_SCHEMES = ("postgres", "postgresql", "sqlite")
REDIS_SCHEMES = ("redis", "rediss")


def _stop(variable: str, problem: str, accepted: tuple[str, ...] = ()) -> None:
    hint = f"; accepted: {', '.join(f'{s}://' for s in accepted)}" if accepted else ""
    raise SystemExit(f"Configuration error: {variable} {problem}{hint}")


def _env_flag(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    _stop(name, f"must be 1 or 0, got {raw!r}")
    return default


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        _stop(name, f"must be a whole number, got {raw!r}")
    return default


def _checked_url(variable: str, accepted: tuple[str, ...]) -> SplitResult | None:
    """Return the parsed URL in `variable`, None when unset; stop on anything malformed.

    Only the scheme is ever quoted back: the rest may hold a password.
    """
    raw = os.environ.get(variable)
    if raw is None:
        return None
    raw = raw.strip()
    if not raw:
        _stop(variable, "is set but empty", accepted)
    try:
        url = urlsplit(raw)
        url.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        _stop(variable, "is not a valid URL", accepted)
    if "://" not in raw or not url.scheme:
        _stop(variable, "is not a URL of the form scheme://…", accepted)
    if url.scheme not in accepted:
        _stop(variable, f"has unsupported scheme {url.scheme!r}", accepted)
    if url.scheme != "sqlite" and not url.hostname:
        _stop(variable, "names no host", accepted)
    if url.scheme in ("postgres", "postgresql") and not url.path.strip("/"):
        _stop(variable, "names no database", accepted)
    if url.scheme == "sqlite" and not url.path.strip("/"):
        _stop(variable, "names no file (use sqlite:///path/to/db.sqlite3)", accepted)
    return url


# --- Core -----------------------------------------------------------------------------------

DEBUG = _env_flag("DJANGO_DEBUG")
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "").strip()
if not SECRET_KEY:
    if not DEBUG:
        _stop("DJANGO_SECRET_KEY", "is required when DJANGO_DEBUG is not 1")
    SECRET_KEY = "django-insecure-development-key-only-for-DJANGO_DEBUG-1"

ALLOWED_HOSTS = [
    host.strip()
    for host in os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1").split(",")
    if host.strip()
]
CSRF_TRUSTED_ORIGINS = [
    origin.strip()
    for origin in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",")
    if origin.strip()
]

USE_FAST_PATH = _env_flag("USE_FAST_PATH")
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "").strip()

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # OpClass in index expressions: the desk's trigram search index (leads.models).
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "axes",
    "csp",
    "leads",
    "imports",
    "webhooks",
    "crokodial",
]

MIDDLEWARE = [
    # A view that fails because PostgreSQL or Redis is down answers 503 + Retry-After.
    "crokodial.outages.ServiceUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Before anything reads a cookie, header or parameter into a query (docs/api-errors.md).
    "crokodial.middleware.RefuseNulMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: it turns a locked-out login into its 429 answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "crokodial.urls"
ASGI_APPLICATION = "crokodial.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "leads.context_processors.waiting",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------

_database_url = _checked_url("DATABASE_URL", DATABASE_SCHEMES)
DATABASES: dict[str, dict[str, Any]]
if _database_url is None:
    DATABASES = {
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}
    }
else:
    DATABASES = {"default": dict(dj_database_url.parse(os.environ["DATABASE_URL"].strip()))}
if DATABASES["default"]["ENGINE"] in ("django.db.backends.postgresql", "crokodial.postgresql"):
    # Under ASGI every request may run in a different thread: persistent per-thread connections
    # exhaust PostgreSQL, so connections come from Django's psycopg pool instead.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Django's pooled backend, plus a breaker: once a connection attempt has failed, requests
    # are refused at once (503) instead of each waiting for the pool, and a probe a second
    # finds the database again (crokodial.postgresql, docs/failures.md).
    DATABASES["default"]["ENGINE"] = "crokodial.postgresql"
    DATABASES["default"]["OPTIONS"] = {
        "pool": {
            "min_size": _env_int("DATABASE_POOL_MIN_SIZE", 2),
            "max_size": _env_int("DATABASE_POOL_MAX_SIZE", 10),
            # Seconds a request waits for a connection while every one is busy. An unreachable
            # database is noticed sooner: by the first failed connection attempt.
            "timeout": _env_int("DATABASE_POOL_TIMEOUT", 5),
        },
        # Seconds one attempt to connect may take before it counts as failed.
        "connect_timeout": _env_int("DATABASE_CONNECT_TIMEOUT", 2),
    }
else:
    DATABASES["default"]["OPTIONS"] = {"timeout": 20}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer and Celery broker -----------------------------------------------

_redis_url = _checked_url("REDIS_URL", REDIS_SCHEMES)
REDIS_URL = _redis_url.geturl() if _redis_url else ""

# Pub/sub costs one PUBLISH per event where the list-based layer costs four round trips and
# drops messages past its channel capacity (measured: docs/benchmarks.md, "Real-time intake").
CHANNEL_LAYER_BACKENDS = {
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
    "lists": "channels_redis.core.RedisChannelLayer",
}
_channel_layer = os.environ.get("CHANNEL_LAYER", "pubsub").strip() or "pubsub"
if _channel_layer not in CHANNEL_LAYER_BACKENDS:
    _stop("CHANNEL_LAYER", f"must be one of {', '.join(CHANNEL_LAYER_BACKENDS)}")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": CHANNEL_LAYER_BACKENDS[_channel_layer],
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
# Who rings due follow-ups (leads/followups.py): the Procfile's worker, or, on the embedded
# default (no Redis: no worker, in-memory events), the web process itself.
FOLLOW_UP_SCHEDULER_IN_WEB = not REDIS_URL

# The cache holds short-lived counters (the sign-up passcode throttle). LocMem is per process:
# with several server processes the counters must be shared, so Redis serves them when set.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "crokodial",
            # A Redis that is gone fails a cache call in a second, never hangs it.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# The broker is Redis (REDIS_URL) unless CELERY_BROKER_URL names another: amqp:// for RabbitMQ
# is supported and measured, Redis stays the default (docs/decisions/0001-celery-broker.md).
_broker_url = _checked_url("CELERY_BROKER_URL", ("amqp", "amqps", *REDIS_SCHEMES))
CELERY_BROKER_URL = _broker_url.geturl() if _broker_url else (REDIS_URL or "memory://")
BROKER_IS_REDIS = CELERY_BROKER_URL.split(":", 1)[0] in REDIS_SCHEMES
if BROKER_IS_REDIS:
    # kombu's Redis transport, except that a message leaves its queue in the same step as it is
    # written to `unacked`: a worker killed while fetching cannot lose it (crokodial.broker).
    CELERY_BROKER_TRANSPORT = "crokodial.broker:Transport"
CELERY_TASK_ALWAYS_EAGER = not (REDIS_URL or _broker_url)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Threads, not processes: a fast-path task mostly waits for the batch that stores its lead, and
# the tasks waiting in one process share that batch (webhooks.tasks, webhooks.batching).
CELERY_WORKER_POOL = "threads"
CELERY_WORKER_CONCURRENCY = _env_int("CELERY_CONCURRENCY", 32)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_VISIBILITY_TIMEOUT = _env_int("CELERY_VISIBILITY_TIMEOUT", 60)
if BROKER_IS_REDIS:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # A task whose worker died is handed out again after this many seconds (kombu's Redis
        # transport default is an hour). No task holds its message longer than half of it
        # (QUEUED_LEAD_HOLD_SECONDS; imports hold a lease in the database instead).
        "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
        # Look for such tasks every 5 s. kombu 5.7 scans only on every 10th 10 s tick by
        # default, so a restarted worker picked them up only 100 s after its start.
        "unacked_restore_interval": 5,
        "unacked_restore_throttle": 1,
        # The fast path answers 503 quickly rather than hang when Redis is gone: one connection
        # attempt of at most a second, no retries (kombu would otherwise retry for
        # broker_connection_timeout, 4 s, sleeping 2 s between tries). A worker's own connection
        # keeps Celery's retry policy; these apply to publishing.
        "socket_connect_timeout": 1,
        "socket_timeout": 5,
        "max_retries": 0,
    }
else:
    # AMQP has no visibility timeout: a message stays with its consumer until it is acked or
    # the connection drops. The fast path still answers 503 quickly when the broker is gone.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"connect_timeout": 2, "confirm_publish": True}
    # The fast path's tasks hold their messages a few seconds at most; no consumer timeout.
    CELERY_BROKER_POOL_LIMIT = 10

# A queued lead is retried for as long as the database is away (webhooks.tasks): in its worker
# thread, waiting up to QUEUED_LEAD_RETRY_MAX_DELAY between attempts, for at most
# QUEUED_LEAD_HOLD_SECONDS; then its message is republished and the next worker carries on.
QUEUED_LEAD_HOLD_SECONDS = max(1.0, CELERY_VISIBILITY_TIMEOUT / 2)
QUEUED_LEAD_RETRY_MAX_DELAY = min(10.0, QUEUED_LEAD_HOLD_SECONDS / 3)
CELERY_WORKER_DISABLE_RATE_LIMITS = True
# The worker logs through LOGGING (JSON lines), not Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Fast-path leads and imports on queues of their own, each with its own worker process
# (Procfile): a running import never delays a hot lead (crokodial.queues).
# Declared, so that a worker started without --queues consumes all three, and purge empties them.
CELERY_TASK_QUEUES = [Queue("leads"), Queue("imports"), Queue("celery")]
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_ROUTES = {
    "webhooks.tasks.*": {"queue": "leads"},
    "imports.*": {"queue": "imports"},
}

# --- Auth -----------------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # First, so a locked-out client is refused before its password is even checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Repeated failed logins: 5 failures for one username from one address lock that pair out for
# 15 minutes (429); a success clears the count. Keyed on the pair, so one agent mistyping does
# not lock out a whole office behind the same address.
AXES_FAILURE_LIMIT = _env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=_env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "leads.views.login_locked_out"
# Database sessions whose cookie must look like a session key before it reaches a query.
SESSION_ENGINE = "crokodial.sessions"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

REST_FRAMEWORK = {
    # Token first, so an anonymous API request is answered 401 with WWW-Authenticate.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "crokodial.api_errors.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "crokodial.api_errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Crokodial API",
    "DESCRIPTION": "Multi-tenant lead desk: leads, CSV imports and the NextGen webhook.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "CAMELIZE_NAMES": False,
    "PREPROCESSING_HOOKS": ["crokodial.api_errors.drop_trailing_slash_duplicates"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "crokodial.api_errors.declare_error_answers",
    ],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "ENUM_NAME_OVERRIDES": {
        "LeadStatusEnum": "leads.models.LeadStatus",
        "ImportStatusEnum": "imports.models.ImportStatus",
    },
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # Deep links put a link inside each operation's toggle button: nested controls (WCAG 4.1.2).
    "SWAGGER_UI_SETTINGS": {"deepLinking": False},
}

# --- Internationalisation, static and media ----------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# CSV imports: the largest file accepted (refused with 413 while it streams in) and the rows
# merged and written per database round.
IMPORT_MAX_BYTES = _env_int("IMPORT_MAX_BYTES", 50 * 1024 * 1024)
IMPORT_BATCH_SIZE = _env_int("IMPORT_BATCH_SIZE", 5000)
# Polars' own threads, which read and convert an import's batches: one by default, so that an
# import shares the cores with PostgreSQL and the web processes instead of contending for them
# (docs/benchmarks.md). Polars reads it when first imported, after these settings.
os.environ.setdefault("POLARS_MAX_THREADS", "1")
# Polars' allocator (its own jemalloc, which Polars configures from this variable when first
# imported) gives freed pages back at once instead of after 0.5-1 s: an import's peak is lower and
# an upload's check leaves less behind, at no measured cost in speed (docs/benchmarks.md).
os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:0,muzzy_decay_ms:0")
# An import's run holds a lease on its job (imports.services, docs/durability.md): renewed every
# IMPORT_HEARTBEAT_SECONDS and with each batch; a worker looks for expired leases every
# IMPORT_LEASE_CHECK_SECONDS and queues those jobs again, up to IMPORT_MAX_ATTEMPTS runs each.
IMPORT_LEASE_SECONDS = max(3, _env_int("IMPORT_LEASE_SECONDS", 60))
IMPORT_HEARTBEAT_SECONDS = IMPORT_LEASE_SECONDS / 3
IMPORT_LEASE_CHECK_SECONDS = _env_int("IMPORT_LEASE_CHECK_SECONDS", IMPORT_LEASE_SECONDS)
IMPORT_QUEUED_GRACE_SECONDS = _env_int("IMPORT_QUEUED_GRACE_SECONDS", 600)
IMPORT_MAX_ATTEMPTS = _env_int("IMPORT_MAX_ATTEMPTS", 5)
# Imports give way to fast-path leads (imports/priority.py): before each batch a run pauses while
# more than IMPORT_YIELD_DEPTH messages wait in the `leads` queue or the oldest is older than
# IMPORT_YIELD_AGE_MS, at most IMPORT_YIELD_MAX_MS per batch. IMPORT_YIELD_MAX_MS=0 turns it off.
IMPORT_HOT_WORK_CHECK = "crokodial.queues.hot_leads_waiting"
IMPORT_YIELD_DEPTH = _env_int("IMPORT_YIELD_DEPTH", 0)
IMPORT_YIELD_AGE_MS = _env_int("IMPORT_YIELD_AGE_MS", 100)
IMPORT_YIELD_MAX_SECONDS = _env_int("IMPORT_YIELD_MAX_MS", 2000) / 1000
FILE_UPLOAD_HANDLERS = [
    "imports.upload.SizeLimitUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# The edge (crokodial.edge) refuses a body past its route's limit before reading it: uploads take
# IMPORT_MAX_BYTES plus the multipart envelope, the webhook 1 MB, the admin and every other route
# these. A body idle this long between chunks, or not complete by the deadline, gets a 408.
REQUEST_MAX_BODY_BYTES = _env_int("REQUEST_MAX_BODY_BYTES", 256 * 1024)
ADMIN_MAX_BODY_BYTES = _env_int("ADMIN_MAX_BODY_BYTES", 2 * 1024 * 1024 + 512 * 1024)
REQUEST_BODY_IDLE_SECONDS = _env_int("REQUEST_BODY_IDLE_SECONDS", 15)
REQUEST_BODY_DEADLINE_SECONDS = _env_int("REQUEST_BODY_DEADLINE_SECONDS", 300)
# Static files are served straight from the app and project folders, so a fresh checkout
# needs no collectstatic step; collectstatic still works for a CDN.
WHITENOISE_USE_FINDERS = True

# --- Security -------------------------------------------------------------------------------

# Production (DJANGO_DEBUG=0) is HTTPS by default; docs/security.md lists every variable.
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the dashboard's script reads it for X-CSRFToken
CSRF_FAILURE_VIEW = "crokodial.api_errors.csrf_failure"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
if not DEBUG:
    # Plain-http use (a laptop, tests on loopback) turns these off with DJANGO_SECURE_COOKIES=0
    # and DJANGO_SSL_REDIRECT=0.
    SESSION_COOKIE_SECURE = _env_flag("DJANGO_SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_SSL_REDIRECT = _env_flag("DJANGO_SSL_REDIRECT", default=True)
    # Load balancers probe health over plain http; a vendor's POST would not follow a redirect
    # (the webhook's lean route answers before Django's middleware anyway: docs/security.md).
    SECURE_REDIRECT_EXEMPT = [r"^api/health/?$", rf"^api/{NEXTGEN_WEBHOOK_ROUTE}$"]
    SECURE_HSTS_SECONDS = _env_int("DJANGO_HSTS_SECONDS", 365 * 24 * 60 * 60)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_flag("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = _env_flag("DJANGO_HSTS_PRELOAD", default=False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading is a commitment browsers keep for months: the operator opts in, and the
        # check that nags about it stays quiet until then.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    # Only a proxy that always sets X-Forwarded-Proto itself may be believed about the scheme.
    if _env_flag("DJANGO_TRUST_PROXY_SSL_HEADER"):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Every page: scripts, styles and everything else from this origin only; no inline code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        # Swagger UI and the admin draw small icons from data: URLs.
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "media-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- Logging --------------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # One JSON object a line (crokodial.logs), from web and worker alike.
    "formatters": {"json": {"()": "crokodial.logs.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
