"""Settings for the command-center platform.

Everything that differs between a laptop, CI and production comes from the environment (`DATABASE_URL`,
`DATABASE_OWNER_URL`, `REDIS_URL`, `SECRET_KEY`, `DEBUG`, `HTTPS`, `ALLOWED_HOSTS`, `PORT`, `DEMO_PASSWORD`).
`make run` / `make test` fill `DATABASE_URL` and `REDIS_URL` with embedded services when they are unset
(see `devstack/stack.py`).
"""

import os
from pathlib import Path
from urllib.parse import unquote

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from command_center.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
RUN_DIR = Path(os.environ.get("CC_RUN_DIR") or BASE_DIR / ".run")  # see devstack/stack.py

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="insecure-dev-key-change-me-" + "x" * 40)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
PORT = env.int("PORT", default=8000)
# Where browsers open WebSockets (/ws/...). Empty: the page's own origin (one ASGI server for both, or a
# proxy routing /ws/ to daphne). `make run` serves HTTP with gunicorn and /ws/ with daphne on PORT + 1.
WS_PUBLIC_URL = env.str("WS_PUBLIC_URL", default="")
DEMO_PASSWORD = env.str("DEMO_PASSWORD", default="demo12345")
# The demo loader refuses to run where this is false (production images set it to 0).
DEMO_ALLOWED = env.bool("DEMO_ALLOWED", default=True)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "treebeard",
    "channels",
    "axes",
    "command_center",
    "places",  # the gazetteer and jurisdictions: between the kernel and incidents
    "incidents",
    "dispatch",
    "intel",
    "sentiment",
    "supervision",
    "community",  # 社情: volunteers' hazards and clues, triage, points (between supervision and intel)
    "briefing",  # the daily 三情 report and the station duty log: reads every domain app below it
    "simulation",  # above the domain apps: it plays a day through their services (make run's demo mode)
]

MIDDLEWARE = [
    "command_center.logs.RequestIdMiddleware",
    "command_center.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "command_center.inputs.RejectNulMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "command_center.middleware.DefaultLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: it turns a refused login (too many failures) into its lockout answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "command_center.urls"
ASGI_APPLICATION = "command_center.asgi.application"
WSGI_APPLICATION = "command_center.wsgi.application"

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
                "command_center.context.navigation",
                "command_center.context.realtime",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/command_center")}
# A unix-socket directory arrives percent-encoded in the URL host (postgres://user@%2Fpath%2Fto/db).
DATABASES["default"]["HOST"] = unquote(DATABASES["default"].get("HOST", ""))
# Persistent connections leaked under ASGI on this stack (see shared/RECIPES.md): off by default, and off
# for daphne. The WSGI web server (gunicorn) turns them on (CONN_MAX_AGE=60): a new PostgreSQL connection
# per request cost more than the request's own queries (bench/intake.py).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# The health check looks at the kept connection's socket and sends `SELECT 1` only when there is something
# to read (command_center/pgbackend/base.py): no round trip per request on a live connection.
_PG_ENGINE = "command_center.pgbackend"
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = _PG_ENGINE
# An outage must surface as a quick 503, not a hung request.
DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = 5
# The forked live server of browser tests must find the same test database (RECIPES pitfall 1).
DATABASES["default"]["TEST"] = {"NAME": "test_" + DATABASES["default"]["NAME"]}
# The owner role: it owns every table and only `manage.py migrate` connects as it, then grants DATABASE_URL's
# role (the app's) what the app needs and no more (command_center/dbroles.py). Unset: one role does all.
# Kept parsed only (a PASSWORD key is masked on debug pages; the URL itself would not be).
_owner_url = env.str("DATABASE_OWNER_URL", default="")
DATABASE_OWNER = env.db_url_config(_owner_url) if _owner_url else None
if DATABASE_OWNER is not None:
    DATABASE_OWNER["HOST"] = unquote(DATABASE_OWNER.get("HOST", ""))
    if DATABASE_OWNER["NAME"] != DATABASES["default"]["NAME"]:
        raise ImproperlyConfigured("DATABASE_OWNER_URL and DATABASE_URL must name the same database.")
# A read replica (optional): the analytics reads (KPIs, hotspots, the report's sections) go to it inside
# command_center.dbrouter.use_replica(); every write, and every other read, to default. Unset: default only.
_replica_url = env.str("DATABASE_REPLICA_URL", default="")
READ_REPLICA: str | None = None
if _replica_url:
    DATABASES["replica"] = env.db_url_config(_replica_url)
    DATABASES["replica"]["HOST"] = unquote(DATABASES["replica"].get("HOST", ""))
    DATABASES["replica"]["CONN_MAX_AGE"] = DATABASES["default"]["CONN_MAX_AGE"]
    DATABASES["replica"]["CONN_HEALTH_CHECKS"] = True
    if DATABASES["replica"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["replica"]["ENGINE"] = _PG_ENGINE
    DATABASES["replica"].setdefault("OPTIONS", {})["connect_timeout"] = 5
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}  # tests read the test database through it
    READ_REPLICA = "replica"
# Behind a pooler in transaction mode (PgBouncer pool_mode=transaction; docs/scale.md "PgBouncer"): set
# DATABASE_POOL=transaction. Each transaction may run on another server connection, so nothing may live on a
# connection between transactions: no server-side cursors (QuerySet.iterator() would declare one WITH HOLD
# outside a transaction), no session-level SET, advisory lock, LISTEN or temporary table. The code keeps to
# transaction-scoped ones (SET LOCAL, pg_advisory_xact_lock); this turns Django's cursors off.
DATABASE_POOL = env.str("DATABASE_POOL", default="session")
if DATABASE_POOL not in ("session", "transaction"):
    raise ImproperlyConfigured("DATABASE_POOL is 'session' (direct, or a pooler in session mode) or 'transaction'.")
if DATABASE_POOL == "transaction":
    for _alias in DATABASES.values():
        _alias["DISABLE_SERVER_SIDE_CURSORS"] = True
DATABASE_ROUTERS = ["command_center.dbrouter.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, Celery broker, channel layer ---------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
# Prefix for every key and channel this deployment writes, so two checkouts can share one Redis.
REDIS_PREFIX = env.str("REDIS_PREFIX", default="cc")

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": REDIS_PREFIX,
        "TIMEOUT": 300,
    }
}

CHANNEL_LAYERS = {
    "default": {
        # channels_redis's pub/sub layer, writing each group message straight to the process's sockets,
        # bounded, closing sockets whose feed lost messages (pubsub.py); realtime.py publishes once per group.
        "BACKEND": "command_center.pubsub.BoardChannelLayer",
        "CONFIG": {
            # The subscriber reads with its own 0.1 s timeout; this bounds (un)subscribing when Redis hangs.
            "hosts": [{"address": REDIS_URL, "socket_timeout": 15}],
            "prefix": f"{REDIS_PREFIX}:asgi",
            # Messages held for a socket (while it connects) before it is closed, its screen to reconnect and
            # reload: a city board hears every push of every station; at 50 incidents/s that is 20 s of them.
            "capacity": 1000,
        },
    }
}

CELERY_BROKER_URL = REDIS_URL
CELERY_BROKER_TRANSPORT_OPTIONS = {"global_keyprefix": f"{REDIS_PREFIX}:celery:"}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_BEAT_SCHEDULE_FILENAME = env.str("CELERY_BEAT_SCHEDULE_FILENAME", default=str(RUN_DIR / "celerybeat-schedule"))
# Beat as one leader (command_center/beat.py): any number of beats may run, only the one holding a lease in
# Redis sends; a standby takes over within BEAT_LEASE_S (+ a third of it) after the leader died.
CELERY_BEAT_SCHEDULER = "command_center.beat:LeaderScheduler"
BEAT_LEASE_S = env.float("BEAT_LEASE_S", default=10.0)
# A probe that beat sends every BEAT_PROBE_S seconds (0: never) and a worker records in Redis with the sender's
# identity (command_center.beat_probe): how the scale-out test counts what beat sent. Off in production.
BEAT_PROBE_S = env.float("BEAT_PROBE_S", default=0.0)
# Bulletins (supervision/bulletins.py): beat drafts each kind at 08:00 Asia/Shanghai for the period that
# ended yesterday — daily every day, weekly on Mondays, monthly on the 1st. Crontab fields.
BULLETIN_SCHEDULE = {
    "daily": {"hour": 8, "minute": 0},
    "weekly": {"hour": 8, "minute": 0, "day_of_week": 1},
    "monthly": {"hour": 8, "minute": 0, "day_of_month": 1},
}
# Beat's slower chores: task name → seconds between runs (command_center/celery.py).
HOUSEKEEPING = {
    "intel.delete_orphan_files": 3600.0,  # files left on disk by a report whose transaction rolled back
    "command_center.delete_expired_tokens": 3600.0,  # API tokens past their lifetime that nobody sent since
    "supervision.inspect": 600.0,  # 数字督察: the inspection rules (supervision/inspection.py)
    "supervision.flush_kpi_rollups": 60.0,  # the measures' rollup: rebuild the keys marked dirty (rollups.py)
    "sentiment.detect_spikes": 300.0,  # 网情: the last full hour's counts against their baseline (idempotent)
    "sentiment.pull_feeds": 60.0,  # 网情 feeds: pull the due ones, each at its own interval (sentiment/feeds.py)
    "briefing.draft_reports": 300.0,  # the morning 三情 reports whose hour has come (idempotent, catches up)
    "intel.flush_hotspot_counts": 60.0,  # hotspots: move the incidents' count changes into the rollup (hotspots.py)
    "intel.snapshot_hotspots": 3600.0,  # hotspots: keep yesterday's red and yellow ones (idempotent)
    "incidents.sweep_webhooks": 15.0,  # partner webhooks: send the deliveries whose attempt is due (webhooks.py)
}
# The morning report's draft time (local hour, minute) for an org without a row in the admin's schedules.
BRIEFING_DRAFT_AT = (env.int("BRIEFING_DRAFT_HOUR", default=7), env.int("BRIEFING_DRAFT_MINUTE", default=0))
# How many days back beat drafts a report it missed altogether (beat down overnight): yesterday and the day before.
BRIEFING_CATCH_UP_DAYS = env.int("BRIEFING_CATCH_UP_DAYS", default=2)
# 网情 feeds (sentiment/feeds.py): how long one pull may take in all, and the largest body read.
SENTIMENT_FEED_TIMEOUT_S = env.float("SENTIMENT_FEED_TIMEOUT_S", default=10.0)
SENTIMENT_FEED_MAX_BYTES = env.int("SENTIMENT_FEED_MAX_BYTES", default=5 * 1024 * 1024)
# Partner webhooks (incidents/webhooks.py): one attempt's time limit, and whether plain http to this machine
# (127.0.0.1, localhost) is allowed besides https (always under DEBUG; the tests turn it on).
WEBHOOK_TIMEOUT_S = env.float("WEBHOOK_TIMEOUT_S", default=10.0)
WEBHOOKS_ALLOW_HTTP_LOCAL = env.bool("WEBHOOKS_ALLOW_HTTP_LOCAL", default=False)
# How far back each inspection run looks (the rules' window ends at the run); a run every 10 minutes
# overlaps the last by far, so a missed run loses nothing.
INSPECTION_LOOKBACK_S = env.int("INSPECTION_LOOKBACK_S", default=2 * 86400)
# How often beat asks a worker to sweep the clocks (at least every second). Half a second keeps the
# due → pushed lag of a 1,000-deadline storm under 1.5 s at p99 (bench/sweep.py); an idle sweep is one
# index probe.
CLOCK_SWEEP_INTERVAL_S = env.float("CLOCK_SWEEP_INTERVAL_S", default=0.5)
# How many due deadlines one sweep transaction claims.
CLOCK_SWEEP_BATCH = env.int("CLOCK_SWEEP_BATCH", default=500)
# /healthz calls the sweeper lagging when a due deadline has waited longer than this.
CLOCK_SWEEP_LAG_ALARM_S = env.float("CLOCK_SWEEP_LAG_ALARM_S", default=10.0)
# /healthz calls the worker (or beat) down when the sweep's heartbeat is older than this: six sweeps missed,
# 3 s at least. A long sweep beats between its batches, so a busy worker does not look dead, and a killed one
# shows within seconds (`make run` starts it again in about as many).
WORKER_HEARTBEAT_MAX_AGE_S = env.float("WORKER_HEARTBEAT_MAX_AGE_S", default=max(3.0, 6 * CLOCK_SWEEP_INTERVAL_S))
# /healthz calls the WebSocket server down when no ASGI process has beaten (every second) for this long.
WS_HEARTBEAT_MAX_AGE_S = env.float("WS_HEARTBEAT_MAX_AGE_S", default=3.0)

# How long a worker process keeps the org tree and code tables it read (command_center/memo.py).
PROCESS_CACHE_S = env.float("PROCESS_CACHE_S", default=60.0)

# The intake's fixed statements prepared once per kept connection (command_center/prepared.py). Always off
# behind a pooler in transaction mode (DATABASE_POOL=transaction: PgBouncer's does not keep a session's
# prepared statements: the next transaction may run on a server connection that never saw the PREPARE).
PREPARED_STATEMENTS = env.bool("PREPARED_STATEMENTS", default=True) and DATABASE_POOL != "transaction"

# --- Auth -----------------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# Login throttling (django-axes): after AXES_FAILURE_LIMIT failed logins of one username from one address
# (the page or the token API), that pair is refused for AXES_COOLOFF_MINUTES; a success resets the count.
# Username and address together: a stranger cannot lock an officer out from elsewhere.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_MINUTES", default=15.0) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_IPWARE_PROXY_COUNT = env.int("AXES_PROXY_COUNT", default=0)  # 1 behind the TLS proxy of compose
AXES_VERBOSE = False
# How long an API token lives (command_center/tokens.py). A day: longer than the longest duty (24-hour 值班),
# so a client never loses its token in the middle of one, and a token that leaked is dead by the next day's;
# integrations (12345, sentiment feeds) log in again once a day with their credentials.
API_TOKEN_TTL_S = env.int("API_TOKEN_TTL_S", default=24 * 3600)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- Internationalisation -------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.str("STATIC_ROOT", default=str(BASE_DIR / ".run" / "static"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and env.bool("STATIC_MANIFEST", default=False)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Serve straight from the finders when no collectstatic ran (make run); production runs collectstatic.
WHITENOISE_USE_FINDERS = True
MEDIA_URL = "/media/"
MEDIA_ROOT = env.str("MEDIA_ROOT", default=str(BASE_DIR / ".run" / "media"))

# --- API ------------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: a request without credentials then gets 401 with `WWW-Authenticate: Token`.
        "command_center.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "command_center.drf.Pagination",
    # JSON with a bound on nesting (command_center/inputs.py); forms and multipart as DRF's own.
    "DEFAULT_PARSER_CLASSES": [
        "command_center.inputs.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "command_center.drf.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Command Center API",
    "DESCRIPTION": "情指行 command-center platform: incidents, dispatch, directives, supervision.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Choice sets that share a field name with another app's get names of their own (no hashed suffixes).
    "ENUM_NAME_OVERRIDES": {
        "UnitKindEnum": "dispatch.models.Unit.Kind",
        "DispatchOrderKindEnum": "dispatch.models.DispatchOrder.Kind",
        "OrgLevelEnum": "command_center.models.Org.Level",
        "IncidentSourceEnum": "incidents.models.Source",
        # An analysis (研判) and a bulletin (通报) are both drafted, then published: one choice set, one name.
        "PublicationStateEnum": "intel.models.Analysis.State",
        "DirectiveStateEnum": "intel.models.Directive.State",
        "DirectiveSourceEnum": "intel.models.Directive.Source",
        "IssuableSourceEnum": "intel.models.ISSUABLE_SOURCES",
        "TaskStateEnum": "intel.models.Task.State",
        "ReminderLevelEnum": "supervision.models.Reminder.Level",
        "BulletinKindEnum": "supervision.models.Bulletin.Kind",
    },
}

# --- Security -------------------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Served over TLS? Then plain HTTP is redirected to HTTPS, cookies are `Secure` and HSTS is on. Production sits
# behind TLS (see docker-compose.yml and README): on unless DEBUG. `make run` serves plain HTTP on 127.0.0.1
# and sets HTTPS=0 — not DEBUG, so its visitors get the site's own error pages, never Django's debug pages.
HTTPS = env.bool("HTTPS", default=not DEBUG)
if HTTPS:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # /healthz is probed over plain HTTP inside the compose network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# LOG_FORMAT=json: one JSON object per line (time, level, logger, message, request_id, exc_info); every line
# carries the request's id either way (command_center/logs.py, docs/operations.md).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
LOGGING = logging_config(fmt=LOG_FORMAT, level=env.str("LOG_LEVEL", default="INFO"))
# GET /metrics (command_center/metrics.py): with a token, only `Authorization: Bearer <token>`; without, only
# from the machine itself. Request counters add up over processes when PROMETHEUS_MULTIPROC_DIR is set.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# manage.py backup: where backups go unless --out says otherwise.
BACKUP_DIR = env.str("BACKUP_DIR", default=str(RUN_DIR / "backups"))

# --- Incidents: repeat detection (REPEAT) -------------------------------------------------------------------
REPEAT = {
    "phone_window_days": env.int("REPEAT_PHONE_WINDOW_DAYS", default=7),
    "place_window_days": env.int("REPEAT_PLACE_WINDOW_DAYS", default=30),
    "radius_m": env.float("REPEAT_RADIUS_M", default=150.0),
    "same_event_minutes": env.int("REPEAT_SAME_EVENT_MINUTES", default=30),
    "after_handling_hours": env.int("REPEAT_AFTER_HANDLING_HOURS", default=72),
    # A place becomes a "recurring" line of the ledger at this many incidents of one type in the window.
    "cluster_min": env.int("REPEAT_CLUSTER_MIN", default=3),
}
# Numbers that never count as "the same caller": switchboards, shared phones.
REPEAT_BLOCKED_NUMBERS = env.list("REPEAT_BLOCKED_NUMBERS", default=[])
# Export: at most this many rows per file; the response says when it was cut.
EXPORT_MAX_ROWS = env.int("EXPORT_MAX_ROWS", default=10000)
# Exchange (README, Exchange: EIDO and CAP): this center's domain in NENA EIDO identifiers
# (urn:emergency:uid:incidentid:<number>:<domain>), and the sender of its CAP alerts.
EIDO_DOMAIN = env.str("EIDO_DOMAIN", default="cc.police.local")
CAP_SENDER = env.str("CAP_SENDER", default=EIDO_DOMAIN)
# Input bounds (command_center/inputs.py): JSON nesting, and the window a client-stated time must lie in.
JSON_MAX_DEPTH = env.int("JSON_MAX_DEPTH", default=32)
INPUT_PAST_DAYS = env.int("INPUT_PAST_DAYS", default=30)
INPUT_FUTURE_S = env.int("INPUT_FUTURE_S", default=300)
# Map tiles for pages with a map; empty means a blank background (works with no tile server).
MAP_TILE_URL = env.str("MAP_TILE_URL", default="")
# The region this deployment answers for, "south,west,north,east" in degrees: coordinates outside it are
# refused at intake. Empty: the union of the loaded jurisdictions (places/); no check when none is loaded.
REGION_BOUNDS = env.list("REGION_BOUNDS", cast=float, default=[])

# --- 社情 (community): volunteers' reports -----------------------------------------------------------------
# Photos per report (each checked like the loop's files: LOOP_UPLOAD_MAX_BYTES, images only). A category's
# triage clock is data (ReportCategory.triage_within_s, admin).
COMMUNITY_MAX_PHOTOS = env.int("COMMUNITY_MAX_PHOTOS", default=4)

# --- The loop 研交办督结: directives, tasks, reports (intel) and supervision ---------------------------------
# A directive's clocks by risk colour, in seconds: sign (签收) from issuing, report (反馈) from issuing. Red is
# the tightest. A directive may set its own (`sign_within_s`, `report_within_s`).
DIRECTIVE_CLOCKS = {
    "red": {
        "sign_s": env.int("DIRECTIVE_RED_SIGN_S", default=600),
        "report_s": env.int("DIRECTIVE_RED_REPORT_S", default=86400),
    },
    "yellow": {
        "sign_s": env.int("DIRECTIVE_YELLOW_SIGN_S", default=1800),
        "report_s": env.int("DIRECTIVE_YELLOW_REPORT_S", default=3 * 86400),
    },
    "blue": {
        "sign_s": env.int("DIRECTIVE_BLUE_SIGN_S", default=7200),
        "report_s": env.int("DIRECTIVE_BLUE_REPORT_S", default=7 * 86400),
    },
}
# Files on directives and reports: stored under MEDIA_ROOT/loop/, served only by a view that checks the caller
# may see the task or directive. At most this many bytes per file and files per upload, of these types
# (checked against the file's name and its first bytes, not only what the browser claims).
LOOP_UPLOAD_MAX_BYTES = env.int("LOOP_UPLOAD_MAX_BYTES", default=20 * 1024 * 1024)
LOOP_UPLOAD_MAX_FILES = env.int("LOOP_UPLOAD_MAX_FILES", default=10)
LOOP_UPLOAD_TYPES = env.list(
    "LOOP_UPLOAD_TYPES",
    default=[
        "image/jpeg",
        "image/png",
        "application/pdf",
        "text/plain",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "video/mp4",
    ],
)
# Supervision: after a reminder (催办), how long a task may stay where it is before a formal 督办 is raised.
SUPERVISION_ESCALATE_AFTER_S = {
    "red": env.int("SUPERVISION_RED_ESCALATE_S", default=1800),
    "yellow": env.int("SUPERVISION_YELLOW_ESCALATE_S", default=4 * 3600),
    "blue": env.int("SUPERVISION_BLUE_ESCALATE_S", default=24 * 3600),
}
# An incident still late this long after its first reminder (催办: a late signature, arrival or report back)
# gets a 督办.
SUPERVISION_INCIDENT_ESCALATE_S = env.int("SUPERVISION_INCIDENT_ESCALATE_S", default=600)
# Feedback review (反馈审核): the share of feedback the review queue draws where no org set its own (percent,
# 100 = all); how long a station has to rectify a returned feedback (整改) before a reminder (催办), and how
# long after that reminder before a 督办.
SUPERVISION_FEEDBACK_SAMPLE_PERCENT = env.int("SUPERVISION_FEEDBACK_SAMPLE_PERCENT", default=10)
SUPERVISION_FEEDBACK_REWORK_S = env.int("SUPERVISION_FEEDBACK_REWORK_S", default=24 * 3600)
SUPERVISION_FEEDBACK_REWORK_ESCALATE_S = env.int("SUPERVISION_FEEDBACK_REWORK_ESCALATE_S", default=12 * 3600)


# --- Content-Security-Policy (django-csp) ------------------------------------------------------------------
# Scripts and styles only from our own origin: no inline script, no inline style attribute, nothing from a
# CDN (every library is vendored). Map tiles and the WebSocket server may live elsewhere (settings above).
def _origin(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url.replace("{s}", "a"))
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


_TILE_ORIGIN = _origin(MAP_TILE_URL)
_WS_ORIGIN = _origin(WS_PUBLIC_URL)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:", *([_TILE_ORIGIN] if _TILE_ORIGIN else [])],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'", *([_WS_ORIGIN] if _WS_ORIGIN else [])],
        "media-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
