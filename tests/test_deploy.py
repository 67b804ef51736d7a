"""Production settings and files: `check --deploy` is clean, the compose file has what production needs."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_check_deploy_reports_nothing_with_debug_off_and_a_real_key():
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},  # set for Playwright only
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "cc.example.gov.cn",
        "DJANGO_SETTINGS_MODULE": "command_center.settings",
    }
    out = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "no issues" in out.stdout


def test_compose_runs_postgres_redis_web_worker_beat_with_health_checks_and_volumes():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "web", "ws", "worker", "beat"}
    assert services["postgres"]["image"] == "postgres:16"
    assert services["redis"]["image"] == "redis:7"
    for name in ("postgres", "redis", "worker", "beat"):
        assert "healthcheck" in services[name], name
    assert "HEALTHCHECK" in (ROOT / "Dockerfile").read_text()  # web's health check lives in the image
    assert "daphne" in services["ws"]["command"] and "gunicorn" in (ROOT / "Dockerfile").read_text()
    for name in ("web", "ws", "worker", "beat"):
        deps = services[name]["depends_on"]
        assert deps["postgres"]["condition"] == deps["redis"]["condition"] == "service_healthy"
        assert services[name]["environment"]["DEBUG"] == "0"  # ws/worker/beat get it from the anchor
    assert set(compose["volumes"]) >= {"pgdata", "redisdata"}
    assert "celery" in services["worker"]["command"] and "beat" in services["beat"]["command"]


def test_migrations_are_committed(db):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_collectstatic_with_the_production_manifest_storage(tmp_path):
    """The image runs this at build time; a vendored file naming a missing source map used to break it."""
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DEBUG": "0",
        "SECRET_KEY": "collectstatic-only",
        "STATIC_MANIFEST": "1",
        "STATIC_ROOT": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "command_center.settings",
    }
    out = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert list(tmp_path.glob("js/map.*.js"))
