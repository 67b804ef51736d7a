"""Demo loop data for the demo city (command_center/demo.py), run by `manage.py load_demo` through
`IntelConfig.demo_loader`: one published analysis and two directives from it, one already signed.

Idempotent like the city: a directive is looked up by title before it is issued, and nothing that exists is
changed, so a second run keeps whatever the first one (or a person) did.
"""

from __future__ import annotations

from django.contrib.auth.models import User

from command_center.models import Org

from . import services
from .models import Analysis, Colour, Directive, Task

ANALYSIS_TITLE = "东城分局辖区夜间电动车盗窃警情上升研判"
ANALYSIS_BODY = (
    "近两周东湖、新华派出所辖区夜间（22时至次日6时）电动车盗窃警情较前两周上升约四成，"
    "集中在老旧小区和无人值守车棚，作案时段与路段相对固定。建议加强夜间巡防、排查车棚监控盲区，"
    "并对重点小区开展防盗宣传。"
)

DIRECTIVES = [
    {
        "title": "加强夜间电动车防盗巡防",
        "content": "请各所即日起在22时至次日6时加密重点小区和车棚巡逻频次，排查监控盲区，并于三日内反馈落实情况。",
        "colour": Colour.YELLOW,
        "recipients": ["东湖派出所", "新华派出所"],
        "actions": ["加密夜间巡逻并记录巡逻轨迹", "排查车棚监控盲区并报送清单", "开展防盗宣传不少于两场"],
        "subject": "demo:ebike-theft",
        "sign": ["station1"],
    },
    {
        "title": "湖滨商圈周末大型活动安保",
        "content": (
            "本周末湖滨商圈举办大型促销活动，预计客流较大。请湖滨派出所制定安保方案，落实现场警力和应急处置预案。"
        ),
        "colour": Colour.RED,
        "recipients": ["湖滨派出所"],
        "actions": ["报送安保方案", "落实现场警力部署", "明确应急疏散通道"],
        "subject": "demo:lakeside-event",
        "sign": [],
    },
]


def load_demo() -> str:
    analyst = User.objects.filter(username="analyst").first()
    if analyst is None or not hasattr(analyst, "person"):
        return "intel demo: skipped (no demo analyst)"
    analysis = Analysis.objects.filter(title=ANALYSIS_TITLE).first()
    if analysis is None:
        analysis = services.analysis_create(actor=analyst, title=ANALYSIS_TITLE, body=ANALYSIS_BODY)
        analysis = services.analysis_publish(analysis_id=analysis.pk, actor=analyst)
    made = 0
    for spec in DIRECTIVES:
        if Directive.objects.filter(title=spec["title"]).exists():
            continue
        recipients = list(Org.objects.filter(name__in=spec["recipients"], level=Org.Level.STATION))
        if not recipients:
            continue
        d = services.directive_issue(
            actor=analyst,
            data=services.DirectiveData(
                title=str(spec["title"]),
                content=str(spec["content"]),
                colour=str(spec["colour"]),
                recipients=recipients,
                actions=list(spec["actions"]),
                subject=str(spec["subject"]),
                analysis=analysis if spec["colour"] == Colour.YELLOW else None,
            ),
        )
        made += 1
        for username in spec["sign"]:
            officer = User.objects.filter(username=username).select_related("person").first()
            if officer is None:
                continue
            task = Task.objects.filter(directives=d, org=officer.person.org).first()
            if task is not None:
                services.task_sign(task_id=task.pk, actor=officer)
    total = Directive.objects.count()
    return f"intel demo: 1 analysis, {total} directives ({made} new)"
