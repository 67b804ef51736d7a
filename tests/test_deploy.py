"""Production settings and files: `check --deploy` is clean, the compose file has what production needs."""

import json
import os
import re
import secrets
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
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


# --- Kubernetes (deploy/k8s/) ----------------------------------------------------------------------------

K8S = ROOT / "deploy" / "k8s"
K8S_VERSION = "1.30.0"  # the oldest Kubernetes the manifests are held to (every kind here is GA there)
APP = ("web", "ws", "worker", "beat")


def k8s_docs() -> list[dict]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    docs = []
    for name in kustomization["resources"]:
        docs += [d for d in yaml.safe_load_all((K8S / name).read_text()) if d]
    return docs


def k8s(kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in k8s_docs() if d["kind"] == kind}


def generated_secrets() -> dict[str, set[str]]:
    """The kustomization's secretGenerator: Secret name → its keys, from each env file's committed example."""
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    out = {}
    for gen in kustomization["secretGenerator"]:
        keys: set[str] = set()
        for env_file in gen["envs"]:
            example = (K8S / f"{env_file}.example").read_text().splitlines()
            keys |= {line.split("=", 1)[0] for line in example if line and not line.startswith("#")}
        out[gen["name"]] = keys
    return out


def pod_containers(spec: dict) -> list[dict]:
    return spec.get("initContainers", []) + spec["containers"]


def test_every_manifest_is_valid_against_the_kubernetes_schemas():
    """Strict schemas (an unknown or misspelled field is an error) of the kubernetes-validate package."""
    try:
        import kubernetes_validate
    except ImportError:  # requirements-dev.txt pins it: CI has it
        if os.environ.get("CI"):
            raise
        pytest.skip("kubernetes-validate is not installed (make test installs it)")
    docs = k8s_docs()
    assert {d["kind"] for d in docs} >= {"Deployment", "Service", "Ingress", "Job", "ConfigMap"}
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    # The check does catch a mistake.
    web = json.loads(json.dumps(k8s("Deployment")["web"]))
    web["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["exec"]["commmand"] = ["true"]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(web, K8S_VERSION, strict=True)


def test_the_kustomization_lists_every_manifest_and_keeps_the_secret_files_out_of_git():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(
        p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml"
    )
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    for gen in kustomization["secretGenerator"]:
        for env_file in gen["envs"]:
            assert f"deploy/k8s/{env_file}" in ignored
            assert (K8S / f"{env_file}.example").exists()
    assert {d["metadata"]["name"] for d in k8s_docs() if d["kind"] == "Secret"} == set()  # no secret in git


def test_the_deployments_run_the_compose_commands_with_matching_labels_resources_and_no_root():
    deployments = k8s("Deployment")
    assert set(deployments) == set(APP)
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for name, d in deployments.items():
        spec = d["spec"]
        labels = spec["template"]["metadata"]["labels"]
        assert spec["selector"]["matchLabels"].items() <= labels.items(), name
        pod = spec["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 10001
        assert pod["automountServiceAccountToken"] is False
        volumes = {v["name"]: v for v in pod["volumes"]}
        for c in pod_containers(pod):
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(c["resources"][kind]), (name, c["name"], kind)
            sc = c["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False, name
            assert sc["capabilities"]["drop"] == ["ALL"]
            mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
            assert "emptyDir" in volumes[mounts["/tmp"]], (name, c["name"])  # the only writable place
            for mount in mounts.values():
                assert mount in volumes
        # The same program as compose's service of that name.
        command = " ".join(pod["containers"][0]["command"])
        want = {"web": "gunicorn command_center.wsgi:application", "ws": "daphne"}.get(name)
        assert want in command if want else " ".join(compose[name]["command"]) == command, (name, command)
        # It waits for the migrate Job, as compose's services wait for `migrate`.
        assert "migrate --check" in " ".join(pod["initContainers"][0]["command"]), name
    # Writable volumes where the Dockerfile's paths need them.
    beat_mounts = {
        m["mountPath"] for m in deployments["beat"]["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    }
    assert "/data/beat" in beat_mounts
    config = k8s("ConfigMap")["command-center-config"]["data"]
    assert config["CELERY_BEAT_SCHEDULE_FILENAME"].startswith("/data/beat/")
    for name in ("web", "worker"):
        mounts = deployments[name]["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
        assert {"mountPath": config["MEDIA_ROOT"], "name": "media"} in mounts, name

    # Persistent connections on WSGI only (settings.py: they leak under ASGI).
    def env_of(name: str) -> dict[str, str]:
        c = deployments[name]["spec"]["template"]["spec"]["containers"][0]
        return {e["name"]: e.get("value") for e in c["env"]}

    assert env_of("web")["CONN_MAX_AGE"] == "60" and "CONN_MAX_AGE" not in config
    assert "CONN_MAX_AGE" not in env_of("ws")


def test_beat_is_exactly_one_and_web_and_ws_scale_with_a_disruption_budget():
    deployments = k8s("Deployment")
    beat = deployments["beat"]["spec"]
    assert beat["replicas"] == 1 and beat["strategy"]["type"] == "Recreate"
    hpas = k8s("HorizontalPodAutoscaler")
    assert {h["spec"]["scaleTargetRef"]["name"] for h in hpas.values()} == {"web", "ws"}
    for h in hpas.values():
        target = h["spec"]["scaleTargetRef"]
        assert target["kind"] == "Deployment" and target["name"] in deployments
        assert "replicas" not in deployments[target["name"]]["spec"]  # the autoscaler owns the count
        assert h["spec"]["minReplicas"] >= 2
        assert [m["resource"]["name"] for m in h["spec"]["metrics"]] == ["cpu"]
    pdbs = k8s("PodDisruptionBudget")
    for name in ("web", "ws"):
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert pdbs[name]["spec"]["selector"]["matchLabels"].items() <= labels.items()
        assert pdbs[name]["spec"]["minAvailable"] == 1
    for name in ("beat", "worker"):
        assert name not in hpas and name not in pdbs


def test_web_and_ws_probe_healthz_through_the_probe_script_and_the_others_have_liveness():
    deployments = k8s("Deployment")
    for name in ("web", "ws"):
        c = deployments[name]["spec"]["template"]["spec"]["containers"][0]
        live, ready = c["livenessProbe"], c["readinessProbe"]
        assert live["exec"]["command"] == ["python", "/app/deploy/k8s/probe.py", "live"], name
        assert ready["exec"]["command"] == ["python", "/app/deploy/k8s/probe.py", "ready"], name
        assert c["startupProbe"]["exec"]["command"] == live["exec"]["command"]
        # A restart takes longer to decide than taking the pod out of the Service.
        assert live["periodSeconds"] * live["failureThreshold"] > ready["periodSeconds"] * ready["failureThreshold"]
        assert live["timeoutSeconds"] > 4  # the script's own timeout (PROBE_TIMEOUT_S) plus Python's start
    assert "/healthz" in (K8S / "probe.py").read_text()
    assert "deploy" not in (ROOT / ".dockerignore").read_text().split()  # the image has the script
    for name in ("worker", "beat"):
        assert "livenessProbe" in deployments[name]["spec"]["template"]["spec"]["containers"][0], name


def test_services_and_the_ingress_reach_the_pods_ws_under_ws_the_rest_on_web():
    deployments = k8s("Deployment")
    services = k8s("Service")
    assert set(services) == {"web", "ws"}
    for name, s in services.items():
        pod = deployments[name]["spec"]["template"]
        assert s["spec"]["selector"].items() <= pod["metadata"]["labels"].items(), name
        others = [n for n, d in deployments.items() if n != name]
        for other in others:  # selects that Deployment's pods only
            assert (
                not s["spec"]["selector"].items()
                <= deployments[other]["spec"]["template"]["metadata"]["labels"].items()
            )
        port_names = {p["name"] for p in pod["spec"]["containers"][0]["ports"]}
        assert {p["targetPort"] for p in s["spec"]["ports"]} <= port_names
    routes = {}
    for ingress in k8s("Ingress").values():
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                routes[path["path"]] = (path["backend"]["service"], ingress["metadata"].get("annotations", {}))
    assert set(routes) == {"/", "/ws/"}
    for path, service_name in (("/", "web"), ("/ws/", "ws")):
        backend, _ = routes[path]
        assert backend["name"] == service_name
        assert backend["port"]["name"] in {p["name"] for p in services[service_name]["spec"]["ports"]}
    ws_notes = routes["/ws/"][1]
    assert int(ws_notes["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    assert int(ws_notes["nginx.ingress.kubernetes.io/proxy-send-timeout"]) >= 3600
    assert int(routes["/"][1]["nginx.ingress.kubernetes.io/proxy-read-timeout"]) < 3600


def test_every_variable_the_pods_read_exists_and_the_owner_role_reaches_the_migrate_job_only():
    configmaps = k8s("ConfigMap")
    secrets = generated_secrets()
    settings_py = (ROOT / "command_center" / "settings.py").read_text()
    for key in configmaps["command-center-config"]["data"]:
        assert f'"{key}"' in settings_py, key  # settings.py reads it (a typo here would be silently ignored)
    owner_readers = []
    pods = [(n, d["spec"]["template"]["spec"]) for n, d in k8s("Deployment").items()]
    pods += [(n, j["spec"]["template"]["spec"]) for n, j in k8s("Job").items()]
    for name, pod in pods:
        for c in pod_containers(pod):
            for source in c.get("envFrom", []):
                assert source["configMapRef"]["name"] in configmaps, name
            for e in c.get("env", []):
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref is None:
                    continue
                assert ref["key"] in secrets[ref["name"]], (name, ref)
                if ref["name"] == "command-center-owner":
                    owner_readers.append(name)
            names = {e["name"] for e in c.get("env", [])}
            assert {"SECRET_KEY", "DATABASE_URL"} <= names, (name, c["name"])
    assert owner_readers == ["migrate"]
    migrate = k8s("Job")["migrate"]["spec"]["template"]["spec"]["containers"][0]
    assert "manage.py migrate" in " ".join(migrate["command"]) and "load_codes" in " ".join(migrate["command"])


def load_probe():
    import importlib.util

    spec = importlib.util.spec_from_file_location("k8s_probe", K8S / "probe.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_probe_reads_healthz_live_whatever_it_says_ready_on_this_pods_database_and_redis(live_server):
    """Against a real server: no worker or ws here, so /healthz is 503, yet the pod is alive and ready."""
    probe = load_probe()
    port = int(urlsplit(live_server.url).port or 80)
    answer = probe.fetch(port)
    assert answer is not None
    status, body = answer
    assert status == 503 and body["database"] == body["redis"] == "ok" and body["worker"] != "ok"
    assert probe.live(answer) and probe.ready(answer)
    # A database blip: still alive (no restart), not ready (out of the Service).
    blip = (503, {**body, "database": "unreachable: OperationalError"})
    assert probe.live(blip) and not probe.ready(blip)
    # Nothing listening: neither.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    assert probe.fetch(closed) is None
    assert not probe.live(None) and not probe.ready(None)
    # The command itself, as the kubelet runs it (exit 0 / 1).
    env = {**os.environ, "PORT": str(port), "ALLOWED_HOSTS": "127.0.0.1"}
    for mode in ("live", "ready"):
        assert subprocess.run([sys.executable, str(K8S / "probe.py"), mode], env=env).returncode == 0, mode
    env["PORT"] = str(closed)
    assert subprocess.run([sys.executable, str(K8S / "probe.py"), "live"], env=env, capture_output=True).returncode == 1
