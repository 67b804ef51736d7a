"""The loop 研交办督结 at the demo city's size (12 stations): issuing a directive to every station (new tasks,
and merged into open ones), approving a task whose approval closes a directive (the closure report is
written then), and a breach storm — 1,000 task clocks due at once, each writing a reminder (催办), starting
an escalation clock and pushing to the station and the issuer. Baselines in the same run: the same 1,000
tasks' clocks of a kind with no escalation at all, swept the same way (the kernel's cost of a breach), and
pgbench's single-row INSERT on the same database (`db_baseline`).
Environment: BENCH_LOOP_DIRECTIVES (84 × 12 stations ≈ 1,000 tasks; quick 10).
"""

from __future__ import annotations

import json
import time
from datetime import timedelta

from _common import db_baseline, machine, ratio, setup_django, size, summary

DIRECTIVES = size("BENCH_LOOP_DIRECTIVES", 84, 10)  # × 12 stations ≈ 1,000 tasks


def main() -> None:
    setup_django("cc_bench_loop", "ccbench")
    from django.contrib.auth.models import Group, User
    from django.db import connection

    from command_center import clocks, codes, demo
    from command_center.models import Org, Person
    from intel import services
    from intel.models import Task
    from supervision.models import Reminder

    codes.load_defaults()
    city = demo.load_orgs()
    stations = list(Org.objects.filter(level=Org.Level.STATION, kind=Org.Kind.POLICE).order_by("path"))

    def person(username: str, org: Org, *roles: str) -> User:
        user = User.objects.create_user(username, password="bench-pass-123")
        Person.objects.create(user=user, org=org)
        user.groups.set(Group.objects.filter(name__in=roles))
        return user

    analyst = person("bench-analyst", city, "analyst")
    supervisor = person("bench-supervisor", city, "supervisor")
    officers = {s.pk: person(f"bench-station-{s.pk}", s, "station_officer") for s in stations}

    def directive(k: int, subject: str = "") -> services.DirectiveData:
        return services.DirectiveData(
            title=f"bench {k}",
            content="bench",
            recipients=stations,
            colour="red",
            actions=["a", "b", "c"],
            subject=subject,
        )

    issue_ms: list[float] = []
    for k in range(DIRECTIVES):
        t = time.perf_counter()
        services.directive_issue(actor=analyst, data=directive(k))
        issue_ms.append((time.perf_counter() - t) * 1000)
    merge_ms: list[float] = []
    services.directive_issue(actor=analyst, data=directive(-1, subject="merge"))
    for k in range(20):
        t = time.perf_counter()
        services.directive_issue(actor=analyst, data=directive(1000 + k, subject="merge"))
        merge_ms.append((time.perf_counter() - t) * 1000)

    # Approvals: walk 12 tasks of one directive to reported, then approve them; the last closes it.
    first = Task.objects.filter(carried__directive__title="bench 0").order_by("org__path")
    approve_ms: list[float] = []
    for task in first:
        officer = officers[task.org_id]
        services.task_sign(task_id=task.pk, actor=officer)
        services.task_start(task_id=task.pk, actor=officer)
        answers = [{"action": a, "done": True} for a in task.actions]
        services.task_report(task_id=task.pk, actor=officer, text="done", checklist=answers)
        t = time.perf_counter()
        services.task_approve(task_id=task.pk, actor=supervisor)
        approve_ms.append((time.perf_counter() - t) * 1000)

    # Breach storm. Baseline first: a clock kind with no escalation on every open task, due one minute
    # before their sign clocks, swept alone.
    clocks.register("bench.noop", label="bench")
    open_tasks = list(Task.objects.filter(state="issued", subject=""))
    earliest = min(task.issued_at for task in open_tasks)
    for task in open_tasks:
        clocks.start(task, "bench.noop", due=earliest + timedelta(minutes=9), org=task.org)
    with connection.cursor() as cur:
        cur.execute("ANALYZE command_center_deadline")
    t0 = time.perf_counter()
    baseline_n = clocks.sweep(now=earliest + timedelta(minutes=9, seconds=30))
    baseline_s = time.perf_counter() - t0
    latest = max(task.issued_at for task in open_tasks)
    t0 = time.perf_counter()
    storm_n = clocks.sweep(now=latest + timedelta(minutes=11))
    storm_s = time.perf_counter() - t0
    reminders = Reminder.objects.count()
    baseline = db_baseline()
    pg_p50 = baseline["pgbench_single_row_insert_1_client"].get("latency_ms", {}).get("p50")
    storm_ms = storm_s * 1000 / max(storm_n, 1)

    out = {
        "bench": "loop",
        "machine": machine(),
        "stations": len(stations),
        "issue_to_12_stations_ms": summary(issue_ms),
        "issue_merged_into_12_open_tasks_ms": summary(merge_ms),
        "approve_ms": summary(approve_ms),
        "breach_storm": {
            "deadlines": storm_n,
            "reminders": reminders,
            "seconds": round(storm_s, 2),
            "ms_per_breach": round(storm_s * 1000 / max(storm_n, 1), 2),
        },
        "baseline": {
            **baseline,
            "breach_without_escalation": {
                "deadlines": baseline_n,
                "seconds": round(baseline_s, 2),
                "ms_per_breach": round(baseline_s * 1000 / max(baseline_n, 1), 2),
            },
        },
        "ratios": {
            "escalated_breach_over_bare_breach": ratio(storm_s / max(storm_n, 1), baseline_s / max(baseline_n, 1), 1),
            "escalated_breach_ms_over_pgbench_1_client_p50": ratio(storm_ms, pg_p50, 1),
            "issue_p50_over_pgbench_1_client_p50": ratio(summary(issue_ms)["p50"], pg_p50, 1),
        },
    }
    print(json.dumps(out, ensure_ascii=False))
    connection.close()


if __name__ == "__main__":
    main()
