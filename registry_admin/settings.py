"""Django settings for registry-admin.

Every setting a deployment may change comes from the environment (see ``.env.example``);
``registry_admin.env`` reads them and fails loudly, naming the variable, on a bad value.
"""

from __future__ import annotations

import hmac as _hmac
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

from registry_admin.env import (
    env,
    env_verify_tls,
    envbool,
    envint,
    envlist,
    envurl,
    read_or_create_secret,
)

# ModelAdmin[AuditEntry], ModelForm[RetentionPolicy]: the type arguments mypy checks, at run time too.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env("DATA_DIR", str(BASE_DIR / "data"))).resolve()
try:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
except OSError as e:
    raise ImproperlyConfigured(f"DATA_DIR={DATA_DIR}: cannot create it ({e.strerror})") from e

# Kept in the data directory when unset, so sessions survive restarts and updates,
# like the installation guide's persistent registry secret.
SECRET_KEY = env("DJANGO_SECRET_KEY") or read_or_create_secret(DATA_DIR / "secret_key")
DEBUG = envbool("DJANGO_DEBUG", False)
# A NAS dashboard is reached by whatever name or IP the LAN uses; narrow this in production.
ALLOWED_HOSTS = envlist("DJANGO_ALLOWED_HOSTS", "*")
CSRF_TRUSTED_ORIGINS = envlist("DJANGO_CSRF_TRUSTED_ORIGINS", "")
PORT = envint("PORT", 8000, minimum=1)

# --- The registry and the Docker engine it runs on -------------------------------
REGISTRY_URL = envurl("REGISTRY_URL", "http://localhost:5000", ("http", "https"))
REGISTRY_USERNAME = env("REGISTRY_USERNAME")
REGISTRY_PASSWORD = env("REGISTRY_PASSWORD")
REGISTRY_VERIFY_TLS = env_verify_tls("REGISTRY_VERIFY_TLS")
REGISTRY_PUBLIC_HOST = env("REGISTRY_PUBLIC_HOST") or urlsplit(REGISTRY_URL).netloc
REGISTRY_TIMEOUT = envint("REGISTRY_TIMEOUT", 10, minimum=1)
REGISTRY_CONTAINER = env("REGISTRY_CONTAINER", "registry")

# --- The registry's token server (access/, issue 23) ------------------------------
# The registry's auth.token.realm: this dashboard's /auth/token as docker clients reach it
# (e.g. http://nas.lan:8000/auth/token). Empty: the registry does not use the dashboard's tokens.
REGISTRY_TOKEN_REALM = env("REGISTRY_TOKEN_REALM")
if REGISTRY_TOKEN_REALM:
    REGISTRY_TOKEN_REALM = envurl("REGISTRY_TOKEN_REALM", "", ("http", "https"))
REGISTRY_TOKEN_SERVICE = env("REGISTRY_TOKEN_SERVICE", "registry")  # auth.token.service
REGISTRY_TOKEN_ISSUER = env("REGISTRY_TOKEN_ISSUER", "registry-admin")  # auth.token.issuer
REGISTRY_TOKEN_TTL = envint("REGISTRY_TOKEN_TTL", 300, minimum=30)
# Token requests without a login (anonymous pulls), per address: a pull asks one token per
# repository, so a few clients pulling big images stay well under it; over it, 429 with Retry-After.
REGISTRY_TOKEN_ANON_RATE = env("REGISTRY_TOKEN_ANON_RATE", "120/minute")
# The signing key (PEM, RSA >= 2048 bits), usually as REGISTRY_TOKEN_KEY_FILE; generated into
# DATA_DIR/registry-token/ when unset.
REGISTRY_TOKEN_KEY = env("REGISTRY_TOKEN_KEY")
# The dashboard's own account on its token server (robot$dashboard): a password derived from the
# secret key, so web and worker agree without storing another secret. Used by the dashboard's
# registry client when REGISTRY_TOKEN_REALM is set and REGISTRY_USERNAME is not.
DASHBOARD_REGISTRY_PASSWORD = _hmac.new(SECRET_KEY.encode(), b"registry-admin robot$dashboard", "sha256").hexdigest()
if REGISTRY_TOKEN_REALM and not REGISTRY_USERNAME:
    REGISTRY_USERNAME, REGISTRY_PASSWORD = "robot$dashboard", DASHBOARD_REGISTRY_PASSWORD

REGISTRY_CONFIG_PATH = env("REGISTRY_CONFIG_PATH", "/etc/distribution/config.yml")
# The registry's data directory as the worker sees it, mounted read-only (issue 24): the
# inventory then reads tags, manifests and sizes from the files. Unset: everything over HTTP.
REGISTRY_DATA_DIR = env("REGISTRY_DATA_DIR")
# DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH are read by the docker SDK itself
# (docker.from_env), in the worker only: the web process never opens the engine.
if (docker_host := env("DOCKER_HOST")) and not docker_host.startswith(("unix:///", "tcp://", "ssh://", "npipe://")):
    raise ImproperlyConfigured(f"DOCKER_HOST={docker_host!r}: expected unix:///path/to/docker.sock or tcp://host:port")

# --- Redis: Celery's broker and the cache ------------------------------------------
REDIS_URL = envurl("REDIS_URL", "redis://localhost:6379/0", ("redis", "rediss", "unix"))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "django_htmx",
    "django_celery_beat",
    "core",
    "jobs",
    "catalog",
    "maintenance",
    "inventory",
    "retention",
    "access",
    "notifications",
]

MIDDLEWARE = [
    # First: after every other middleware, an API view lets go of its request and answer (core.middleware).
    "core.middleware.ReleaseViews",
    "django.middleware.security.SecurityMiddleware",
    # The registry's notifications, answered before the rest (inventory/middleware.py).
    "inventory.middleware.EventsReceiver",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "core.middleware.ServiceFaultMiddleware",
    # A body sent to an API operation that takes none is a 400 (core.api.bodies).
    "core.api.bodies.RefuseUnexpectedBodies",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "registry_admin.urls"
WSGI_APPLICATION = "registry_admin.wsgi.application"

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
                "core.context_processors.dashboard",
                "core.context_processors.navigation",
                "maintenance.context_processors.registry_pause",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(env("DATABASE_URL", f"sqlite:///{DATA_DIR / 'db.sqlite3'}"), conn_max_age=60)
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The worker and beat write while the web process reads: wait instead of failing.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": {
        # Django's Redis cache, off while Redis does not answer (core/cache.py): Redis is a
        # cache and a broker, the pages are served from the database and the registry.
        "BACKEND": "core.cache.DegradingRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "registry-admin",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 3},
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TZ", "UTC") or "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads no cookie: the token travels in hx-headers
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "core.error_views.csrf_failure"  # JSON under /api/
SECURE_CONTENT_TYPE_NOSNIFF = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["core.permissions.IsViewer"],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.PageNumberPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_RENDERER_CLASSES": ["core.renderers.JSONWithWarningsRenderer"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "EXCEPTION_HANDLER": "core.api.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "core.api.openapi.AutoSchema",
}

# --- Celery ---------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True  # job progress lives in the database, not in a result backend
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
ENGINE_HEALTH_INTERVAL = envint("ENGINE_HEALTH_INTERVAL", 60, minimum=5)
CELERY_BEAT_SCHEDULE = {
    "record-engine-health": {
        "task": "maintenance.tasks.check_engine",
        "schedule": float(ENGINE_HEALTH_INTERVAL),
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO").upper() or "INFO"},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Garbage collection --------------------------------------------------------------------
# Soft time limit of one GC job in seconds; the hard limit kills the worker 5 minutes later
# (the watchdog then restores the registry).
GC_TIME_LIMIT = envint("GC_TIME_LIMIT", 3600, minimum=60)
# Seconds the GC lock lives without being extended: a dead worker's lock expires after this,
# then the watchdog may restore the registry.
GC_LOCK_TIMEOUT = envint("GC_LOCK_TIMEOUT", 60, minimum=10)
# A GC job that no worker has taken after this many seconds is cancelled when the next is asked for.
GC_QUEUE_TIMEOUT = envint("GC_QUEUE_TIMEOUT", 600, minimum=30)
# An update waits this many seconds for the new registry to answer /v2/, else puts the old one back.
UPDATE_ANSWER_TIMEOUT = envint("UPDATE_ANSWER_TIMEOUT", 60, minimum=5)
# Parallel HEAD requests of a verification (manifests and blobs).
VERIFY_CONCURRENCY = envint("VERIFY_CONCURRENCY", 8, minimum=1)
CELERY_BEAT_SCHEDULE["gc-watchdog"] = {
    "task": "maintenance.tasks.gc_watchdog",
    "schedule": float(envint("GC_WATCHDOG_INTERVAL", 60, minimum=10)),
}
# --- Statistics, the container panel, the snapshot pause ------------------------------------
# The first interval of the statistics schedule; admins change it afterwards on /registry/
# (a django-celery-beat entry named "registry-statistics").
STATS_INTERVAL_SECONDS = envint("STATS_INTERVAL_SECONDS", 300, minimum=30)
STATS_RETENTION_DAYS = envint("STATS_RETENTION_DAYS", 30, minimum=1)
# "Prepare for snapshot" resumes the registry by itself after this many seconds.
SNAPSHOT_PAUSE_SECONDS = envint("SNAPSHOT_PAUSE_SECONDS", 600, minimum=1)
REGISTRY_LOG_LINES = envint("REGISTRY_LOG_LINES", 200, minimum=10)
CELERY_BEAT_SCHEDULE.update(
    {
        "resume-overdue-registry-pause": {"task": "maintenance.tasks.resume_overdue_pause", "schedule": 30.0},
        "prune-statistics": {"task": "maintenance.tasks.prune_stats", "schedule": 3600.0},
    }
)
# --- Catalog: registry reads and their caches ---------------------------------------------
# Manifests are addressed by digest, so they are cached without expiry (catalog.blobs); what a
# tag points to only briefly.
CATALOG_TAG_TTL = envint("CATALOG_TAG_TTL", 30, minimum=0)
# Accepted and unused since the repository list is read from the inventory (kept: a set value
# must not break a deployment).
CATALOG_LIST_TTL = envint("CATALOG_LIST_TTL", 60, minimum=0)
CATALOG_CONCURRENCY = envint("CATALOG_CONCURRENCY", 8, minimum=1)
CATALOG_CACHE_MAX_KB = envint("CATALOG_CACHE_MAX_KB", 256, minimum=0)
# --- Faults: dead workers ----------------------------------------------------------------
# A running job whose worker has not renewed its heartbeat for this many seconds (killed,
# out of memory, its host restarted) is marked failed by the job watchdog.
JOB_HEARTBEAT_TIMEOUT = envint("JOB_HEARTBEAT_TIMEOUT", GC_LOCK_TIMEOUT, minimum=5)
# How often the job watchdog looks: a beat task, and a thread in every worker's main process
# (so that a pool whose processes all wait on long tasks cannot starve it).
JOB_WATCHDOG_INTERVAL = envint("JOB_WATCHDOG_INTERVAL", 60, minimum=5)
# A worker runs the inventory's sync job in a short-lived child process it forks for the job
# (jobs/child.py): what the sync built goes back to the system when the child exits (issue 28).
JOB_CHILD_PROCESS = envbool("JOB_CHILD_PROCESS", True)
CELERY_BEAT_SCHEDULE["job-watchdog"] = {
    "task": "maintenance.tasks.job_watchdog",
    "schedule": float(JOB_WATCHDOG_INTERVAL),
}
# --- Inventory (issue 13) ------------------------------------------------------------------
# The registry's content in the database, fed by its notifications and a periodic reconcile.
# The token the registry sends as "Authorization: Bearer <token>" to POST /api/v1/events/;
# empty: events are off and the inventory follows the registry through the reconcile alone.
REGISTRY_EVENTS_TOKEN = env("REGISTRY_EVENTS_TOKEN")
# Seconds between reconciles (beat); one also runs when a worker starts with an empty inventory.
INVENTORY_SYNC_INTERVAL = envint("INVENTORY_SYNC_INTERVAL", 300, minimum=10)
INVENTORY_SYNC_ON_START = envbool("INVENTORY_SYNC_ON_START", True)
# With events arriving, a known tag is HEADed again only when not confirmed for this long.
INVENTORY_VERIFY_AGE = envint("INVENTORY_VERIFY_AGE", 86400, minimum=0)
# Events (the Activity page) are kept this many days.
EVENTS_RETENTION_DAYS = envint("EVENTS_RETENTION_DAYS", 90, minimum=1)
CELERY_BEAT_SCHEDULE.update(
    {
        "inventory-sync": {"task": "maintenance.tasks.scheduled_sync", "schedule": float(INVENTORY_SYNC_INTERVAL)},
        "prune-events": {"task": "maintenance.tasks.prune_events", "schedule": 3600.0},
        # A sweep: events stored while no worker ran, or whose task was lost, are applied.
        "apply-events": {"task": "inventory.tasks.apply_events", "schedule": 15.0},
        # Events off or refused: an events gap, and a reconcile (inventory/gaps.py).
        "watch-events": {"task": "inventory.tasks.watch_events", "schedule": 30.0},
    }
)
# --- The scrub (issue 24): every blob read and checked against its sha256, from REGISTRY_DATA_DIR ----
# The most it reads, in MB/s (0: no limit), so that a scrub leaves the NAS's disks to the registry.
SCRUB_MAX_MBPS = envint("SCRUB_MAX_MBPS", 50, minimum=0)
# Hours between scheduled scrubs; 0 (the default) schedules none (on demand and after a restore
# check only); 168 is weekly.
SCRUB_INTERVAL_HOURS = envint("SCRUB_INTERVAL_HOURS", 0, minimum=0)
if SCRUB_INTERVAL_HOURS:
    CELERY_BEAT_SCHEDULE["storage-scrub"] = {
        "task": "inventory.tasks.scheduled_scrub",
        "schedule": float(SCRUB_INTERVAL_HOURS * 3600),
    }

# --- API schema, logins, tokens, HTTPS and CSP (issue 12) -------------------------------
# Kept together in this block so other changes to the settings merge around it.
import datetime as _dt  # noqa: E402

SPECTACULAR_SETTINGS = {
    "TITLE": "registry-admin API",
    "DESCRIPTION": (
        "The REST API of registry-admin, a dashboard for a private Docker registry. "
        "Authenticate with `Authorization: Token <token>` (a token from the Tokens page, "
        "`manage.py create_token` or `manage.py drf_create_token`) or a logged-in session. "
        'Every error is JSON: `{"detail": ...}`, or field names mapped to messages for a 400.'
    ),
    "VERSION": "1",
    "OAS_VERSION": "3.1.0",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SERVE_INCLUDE_SCHEMA": True,
    "SERVE_PERMISSIONS": ["core.permissions.IsViewer"],
    # Named tokens (core.tokens) travel in the same "Authorization: Token ..." header as DRF's.
    "AUTHENTICATION_WHITELIST": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "COMPONENT_SPLIT_REQUEST": True,
    # Two fields named "kind" with different choices: a manifest's and a job's, each named once.
    "ENUM_NAME_OVERRIDES": {
        "ManifestKindEnum": "registry_client.manifests.KINDS",
        "JobKindEnum": "maintenance.models.Job.Kind",
        "JobStatusEnum": "jobs.models.Job.Status",
        "JobRequestedViaEnum": "jobs.models.Job.RequestedVia",
        "ChannelKindEnum": "notifications.models.Channel.Kind",
    },
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "core.api.openapi.add_common_errors"],
    # Swagger UI's files come from drf-spectacular-sidecar's static files: no CDN, the NAS may be offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": False},
}

# Failed logins (django-axes): limited per username and address together, so nobody can lock a
# user out from another machine. The pair is refused, even with the right password, until
# LOGIN_LOCKOUT_MINUTES after the last failure; admins unlock on the admin site (Axes > Access attempts).
LOGIN_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", 10, minimum=1)
LOGIN_LOCKOUT_MINUTES = envint("LOGIN_LOCKOUT_MINUTES", 15, minimum=1)
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = _dt.timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = True  # the message's "try again after" holds
AXES_LOCKOUT_CALLABLE = "core.logins.lockout_response"
# The address as the server saw it, like the audit log (X-Forwarded-For can be forged).
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]
AXES_VERBOSE = False

# API tokens (core.tokens) and DRF's throttling: per token (or per user for a session), and
# per address for anonymous calls. Rates are DRF's "N/second|minute|hour|day".
API_THROTTLE_RATE = env("API_THROTTLE_RATE", "1200/minute")
API_ANON_THROTTLE_RATE = env("API_ANON_THROTTLE_RATE", "60/minute")
for _name, _rate in (
    ("API_THROTTLE_RATE", API_THROTTLE_RATE),
    ("API_ANON_THROTTLE_RATE", API_ANON_THROTTLE_RATE),
    ("REGISTRY_TOKEN_ANON_RATE", REGISTRY_TOKEN_ANON_RATE),
):
    _count, _, _period = _rate.partition("/")
    if not (_count.isascii() and _count.isdigit() and int(_count) > 0 and _period[:1] in ("s", "m", "h", "d")):
        raise ImproperlyConfigured(
            f"{_name}={_rate!r}: expected calls/period, e.g. 600/minute (second, minute, hour, day)"
        )
REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] = [
    "core.tokens.ApiTokenAuthentication",
    "rest_framework.authentication.TokenAuthentication",
    "rest_framework.authentication.SessionAuthentication",
]
# The API speaks JSON: a form-encoded body is a 415, not strings read as booleans; a body nested
# deeper than core.api.parsers.MAX_JSON_DEPTH is a 400 before the parser recurses.
REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] = ["core.api.parsers.BoundedJSONParser"]
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = ["core.tokens.TokenRateThrottle", "core.tokens.AnonAddressThrottle"]
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {"token": API_THROTTLE_RATE, "anon": API_ANON_THROTTLE_RATE}

# Sessions end after SESSION_COOKIE_AGE seconds (two weeks) and, Django's default, when the
# password changes (the session keeps a hash of it).
SESSION_COOKIE_AGE = envint("SESSION_COOKIE_AGE", 14 * 24 * 3600, minimum=60)

# Behind a TLS-terminating reverse proxy (QNAP's, Traefik, Caddy): DJANGO_HTTPS=true. Plain
# HTTP on the LAN stays the default: these settings would lock a plain-HTTP browser out.
HTTPS = envbool("DJANGO_HTTPS", False)
if HTTPS:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = envbool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = envint("DJANGO_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = envbool("DJANGO_HSTS_PRELOAD", True)
    # The health checks of web's container call plain http://127.0.0.1 inside it.
    SECURE_REDIRECT_EXEMPT = [r"^-/alive$", r"^api/v1/health/$"]

# Content-Security-Policy (django-csp): scripts only from our own static files; htmx's
# indicator style is turned off in base.html's htmx-config meta, so no inline style is needed.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- Notifications (issue 27) ---------------------------------------------------------------
# The dashboard's address as people reach it: the links in messages, a CloudEvent's source.
DASHBOARD_URL = envurl("DASHBOARD_URL", f"http://localhost:{PORT}", ("http", "https")).rstrip("/")
# Channels may call loopback addresses (an ntfy or Gotify on the NAS itself); false refuses them.
# Link-local and cloud metadata addresses, and the dashboard itself, are always refused.
NOTIFICATIONS_ALLOW_LOOPBACK = envbool("NOTIFICATIONS_ALLOW_LOOPBACK", True)
# Attempts per message, the first retry's wait in seconds (doubling each time, at most an hour),
# and the seconds one attempt may take.
NOTIFICATIONS_ATTEMPTS = envint("NOTIFICATIONS_ATTEMPTS", 5, minimum=1)
NOTIFICATIONS_RETRY_SECONDS = envint("NOTIFICATIONS_RETRY_SECONDS", 30, minimum=1)
NOTIFICATIONS_TIMEOUT = envint("NOTIFICATIONS_TIMEOUT", 10, minimum=1)
# A channel whose messages failed (after all their attempts) this many times in a row is marked failing.
NOTIFICATIONS_FAILING_AFTER = envint("NOTIFICATIONS_FAILING_AFTER", 3, minimum=1)
# The registry watcher: seconds between checks, and failed checks in a row before "down" is told.
NOTIFICATIONS_REGISTRY_CHECK_INTERVAL = envint("NOTIFICATIONS_REGISTRY_CHECK_INTERVAL", 60, minimum=5)
NOTIFICATIONS_REGISTRY_DOWN_AFTER = envint("NOTIFICATIONS_REGISTRY_DOWN_AFTER", 2, minimum=1)
# Days each channel's delivery log keeps its messages.
NOTIFICATIONS_LOG_DAYS = envint("NOTIFICATIONS_LOG_DAYS", 30, minimum=1)
CELERY_BEAT_SCHEDULE.update(
    {
        "notifications-digests": {"task": "notifications.tasks.flush_digests", "schedule": 30.0},
        "notifications-prune": {"task": "notifications.tasks.prune_deliveries", "schedule": 3600.0},
        "notifications-registry-watch": {
            "task": "notifications.tasks.watch_registry",
            "schedule": float(NOTIFICATIONS_REGISTRY_CHECK_INTERVAL),
        },
    }
)
# Apprise logs channel URLs whole ("Could not load Discord URL: discord://id/token"): its records
# go nowhere but to notifications.delivery, which captures them and logs them masked.
LOGGING["handlers"]["discard"] = {"class": "logging.NullHandler"}  # type: ignore[index]
LOGGING["loggers"]["apprise"] = {"level": "WARNING", "handlers": ["discard"], "propagate": False}  # type: ignore[index]
