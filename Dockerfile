# Production image: one image, three roles (web, worker, beat) chosen by the compose command.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=command_center.settings \
    STATIC_ROOT=/app/staticfiles \
    MEDIA_ROOT=/data/media \
    CELERY_BEAT_SCHEDULE_FILENAME=/data/beat/celerybeat-schedule \
    STATIC_MANIFEST=1 \
    DEMO_ALLOWED=0

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# collectstatic needs settings but no database or Redis; the key is a build-time placeholder only.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput \
    && useradd --system --uid 10001 --home /app app \
    && mkdir -p /data/media /data/beat && chown -R app /data

USER app
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD python -c "import urllib.request,os; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT','8000'), timeout=4)"
# web: HTTP through gunicorn (WSGI: the fastest way this project serves pages and the API, bench/intake.py).
# The compose file's `ws` service runs the same image with daphne for /ws/. This command migrates (as
# DATABASE_OWNER_URL's role when it is set, else DATABASE_URL's); compose migrates in a `migrate` service of
# its own, so web never holds the owner's password, and starts web with the gunicorn part only.
CMD ["sh", "-c", "python manage.py migrate --noinput && python manage.py load_codes && export CONN_MAX_AGE=${CONN_MAX_AGE:-60} && exec gunicorn command_center.wsgi:application -b 0.0.0.0:${PORT:-8000} -w ${WEB_WORKERS:-4} --forwarded-allow-ips='*'"]
