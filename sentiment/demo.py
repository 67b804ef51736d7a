"""Demo 网情 for the demo city (command_center/demo.py), run by `manage.py load_demo` through
`SentimentConfig.demo_loader`: a watch list of the city's analyst and two days of posts about the demo
stations' areas — complaints, thanks, a story retold (an event), a watched keyword — pushed through the one
ingest every channel uses, so they are scored, placed and grouped as real posts are.

Idempotent: the posts have fixed external ids (a second run updates nothing new), the watch list is looked
up by name. Times are relative to the run, so the monitor has something of today.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from command_center.models import Org

from . import services
from .models import Source, WatchList

WATCH = {"name": "危化品安全", "expression": "(化工厂 OR 加油站 OR 燃气) (泄漏 OR 爆炸 OR 着火)", "colour": "red"}

# (minutes ago, source, author, text, reposts, comments, likes); a text that starts with "↻" retells the one
# before it.
POSTS: list[tuple[int, str, str, str, int, int, int]] = [
    (2900, "weibo", "东湖老住户", "东湖小区昨晚又有两辆电动车被偷了，车棚监控一直是坏的，报警后民警来看过", 12, 30, 41),
    (2700, "douyin", "湖滨生活号", "湖滨商圈周末促销人特别多，地铁口排队排到马路上，注意安全", 80, 45, 300),
    (2400, "weibo", "新华街坊", "感谢新华派出所民警帮我找回了丢失的钱包，为人民服务点赞", 5, 12, 88),
    (2100, "wechat", "城东发布", "城东派出所开展反诈宣传进社区活动，提醒居民警惕冒充客服诈骗", 20, 3, 60),
    (1500, "weibo", "西溪路人甲", "西溪路口发生交通事故，一辆货车和电动车相撞，现场拥堵严重", 35, 20, 50),
    (1480, "weibo", "路过的小王", "↻转发：", 3, 1, 4),
    (1460, "douyin", "西溪快报", "↻求扩散 ", 10, 6, 22),
    (900, "weibo", "愤怒的市民", "投诉东湖派出所出警太慢，报警一个小时才来人，态度还很差", 60, 140, 90),
    (600, "tieba", "蒋村吧友", "蒋村那边有人冒充客服打电话骗钱，我妈差点转账，大家注意，已经报警了", 15, 40, 35),
    (300, "weibo", "文新夜跑", "文新公园晚上路灯坏了好几盏，夜跑有点害怕，希望有关部门处理", 2, 8, 15),
    (120, "weibo", "城东观察", "城东化工厂附近闻到很大的气味，不知道是不是泄漏了，有没有人知道情况", 40, 66, 20),
    (100, "weibo", "城东居民", "↻", 12, 9, 6),
    (45, "douyin", "湖滨小李", "湖滨派出所门口有人打架，警察已经到场处置，大家绕行", 25, 30, 18),
    (30, "weibo", "望江街道", "望江派出所民警连夜帮走失老人找到家人，暖心", 44, 21, 260),
    (10, "weibo", "南星路人", "南星桥下有人拉横幅聚集，好像是讨薪的，警察在现场", 30, 52, 12),
]


def load_demo() -> str:
    analyst = User.objects.filter(username="analyst").first()
    city = Org.objects.filter(name="示范市公安局情指中心").first()
    if analyst is None or city is None or not Source.objects.exists():
        return "sentiment demo: skipped (no demo analyst, city or sources)"
    if not WatchList.objects.filter(org=city, name=WATCH["name"]).exists():
        services.watch_create(
            actor=analyst, org_id=city.pk, name=WATCH["name"], expression=WATCH["expression"], colour=WATCH["colour"]
        )
    now = timezone.now()
    items: list[dict[str, Any]] = []
    previous = ""
    for k, (ago, source, author, text, reposts, comments, likes) in enumerate(POSTS):
        if text.startswith("↻"):
            text = text[1:] + previous
        else:
            previous = text
        items.append(
            {
                "source": source,
                "external_id": f"demo-{k}",
                "author": author,
                "text": text,
                "published_at": (now - timedelta(minutes=ago)).isoformat(),
                "metrics": {"reposts": reposts, "comments": comments, "likes": likes},
            }
        )
    result = services.ingest(items)
    return f"sentiment demo: {result.stored} posts stored, {result.updated} already there"
