"""Production settings and files: `check --deploy` is clean, the compose file has what production needs."""

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

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
    assert set(services) == {"postgres", "redis", "migrate", "web", "ws", "worker", "beat"}
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


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's variable substitution, as far as the compose file uses it: ${X:?message}, ${X:-default}, $$."""
    text = re.sub(r"\$\{(\w+):\?[^}]*\}", lambda m: env[m[1]], text)
    text = re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: env.get(m[1]) or m[2], text)
    return text.replace("$$", "$")


def test_compose_migrates_as_the_owner_and_runs_the_app_as_a_role_that_owns_nothing():
    env = {"POSTGRES_PASSWORD": "owner-pw", "POSTGRES_APP_PASSWORD": "app-pw"}
    compose = yaml.safe_load(interpolate((ROOT / "docker-compose.yml").read_text(), env))
    services = compose["services"]
    postgres = services["postgres"]
    owner = postgres["environment"]["POSTGRES_USER"]
    assert postgres["environment"]["POSTGRES_APP_PASSWORD"] == "app-pw"
    # The init script creates the app role when the volume is new.
    assert "./deploy/postgres-init:/docker-entrypoint-initdb.d:ro" in postgres["volumes"]
    script = ROOT / "deploy" / "postgres-init" / "10-app-role.sh"
    assert os.access(script, os.X_OK)  # the image runs executable *.sh scripts (others are sourced)
    default = re.search(r'APP_USER="\$\{POSTGRES_APP_USER:-(\w+)\}"', script.read_text())
    assert default is not None
    app_role = default[1]
    assert app_role != owner

    def user_and_password(url: str) -> tuple[str | None, str | None]:
        parts = urlsplit(url)
        assert parts.hostname == "postgres" and parts.path == "/command_center", url
        return parts.username, parts.password

    # The one-shot migrate: as the owner (DATABASE_OWNER_URL), granting the app role (DATABASE_URL's).
    migrate = services["migrate"]
    assert "manage.py migrate" in " ".join(migrate["command"]) and migrate["restart"] == "no"
    assert user_and_password(migrate["environment"]["DATABASE_OWNER_URL"]) == (owner, "owner-pw")
    assert user_and_password(migrate["environment"]["DATABASE_URL"]) == (app_role, "app-pw")
    assert "migrate" not in migrate["depends_on"]
    # Everything else: the app role only, after the migrate, without the owner's password anywhere.
    for name in ("web", "ws", "worker", "beat"):
        service = services[name]
        environment = service["environment"]
        assert user_and_password(environment["DATABASE_URL"]) == (app_role, "app-pw"), name
        assert "DATABASE_OWNER_URL" not in environment, name
        assert environment["POSTGRES_PASSWORD"] == "", name  # blanks the line env_file brings from .env
        assert "owner-pw" not in json.dumps(service), name
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully", name
        assert "migrate" not in " ".join(service.get("command", [])), name  # the image's CMD migrates
    assert "POSTGRES_APP_PASSWORD=" in (ROOT / ".env.example").read_text()


def test_the_postgres_init_script_creates_the_app_role_as_nobody_special(db):
    """Run deploy/postgres-init's script as the image would (psql as POSTGRES_USER), twice, against the test
    server, with a throwaway role name."""
    import shutil

    from django.db import connection

    psql = shutil.which("psql")
    if psql is None:  # the embedded server's own
        from pgserver._commands import POSTGRES_BIN_PATH

        psql = str(POSTGRES_BIN_PATH / "psql")
    s = connection.settings_dict
    role = f"cc_test_init_{secrets.token_hex(4)}"
    env = {
        **os.environ,
        "POSTGRES_USER": s["USER"],
        "POSTGRES_DB": s["NAME"],
        "POSTGRES_APP_USER": role,
        "POSTGRES_APP_PASSWORD": "it's secret",
        "PGHOST": s["HOST"],
        "PGPORT": str(s["PORT"] or ""),
        "PGPASSWORD": s["PASSWORD"] or "",
        "PATH": f"{Path(psql).parent}:{os.environ['PATH']}",
    }
    script = ROOT / "deploy" / "postgres-init" / "10-app-role.sh"
    try:
        for _ in range(2):  # again (an older volume, by hand): no error
            out = subprocess.run(["sh", str(script)], env=env, capture_output=True, text=True)
            assert out.returncode == 0, out.stdout + out.stderr
        with connection.cursor() as cur:
            cur.execute(
                "SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls "
                "FROM pg_roles WHERE rolname = %s",
                [role],
            )
            assert cur.fetchone() == (True, False, False, False, False, False)
    finally:
        subprocess.run(
            [psql, "-c", f"DROP ROLE IF EXISTS {role}"],
            env={**env, "PGUSER": s["USER"], "PGDATABASE": s["NAME"]},
            check=False,
        )


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
