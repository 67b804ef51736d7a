"""网情 ingest at a desk's pace: posts pushed in batches through `sentiment.services.ingest` (what the API,
the file import and the feeds all call) into a database that already holds a day of earlier posts, with
watch lists active — checked, scored, placed, grouped into events, matched, stored and their pushes queued,
in one transaction per batch. A third of the posts retell an earlier one (reposts, copies), so the event
grouping has work. Measured: posts/s over the whole run, and the time per batch (p50/p99); then one spike
detection over the day (`detect_spikes`, beat's job).
Baseline in the same run, on the same database: pgbench's single-row INSERT (`db_baseline`): a post costs
about as many single-row commits as the ratio says.
Environment: BENCH_SENTIMENT_INGEST_POSTS (20,000; quick 2,000), BENCH_SENTIMENT_INGEST_BATCH (1,000).
"""

from __future__ import annotations

import json
import random
import time
from datetime import timedelta
from typing import Any

from _common import db_baseline, machine, ratio, setup_django, size, summary

POSTS = size("BENCH_SENTIMENT_INGEST_POSTS", 20_000, 2_000)
BATCH = size("BENCH_SENTIMENT_INGEST_BATCH", 1_000, 500)
EARLIER = size("BENCH_SENTIMENT_INGEST_EARLIER", 20_000, 2_000)

STORIES = [
    "{p}派出所门口有人打架，警察已经到场处置，大家绕行",
    "{p}小区昨晚电动车被偷了三辆，物业说监控坏了，报警后民警来看过",
    "{p}路口发生交通事故，一辆货车和电动车相撞，现场拥堵严重",
    "感谢{p}派出所民警帮我找回了丢失的钱包，为人民服务点赞",
    "{p}有人冒充客服打电话骗钱，大家注意不要转账，已经报警",
    "{p}商场今天开业，人很多，排队的人一直排到马路上",
    "投诉{p}派出所出警太慢，报警一个小时才来人，态度还很差",
    "{p}附近的烧烤店噪音扰民到凌晨两点，打了几次电话都没人管",
]
PLACES = ["东湖", "西溪", "湖滨", "新华", "城北", "南山", "滨江", "翠苑"]
FILLER = ["今天天气", "下班路上", "听说", "刚刚", "真的", "大家", "看到", "有没有", "知道", "情况"]


def post_text(rnd: random.Random) -> str:
    story = rnd.choice(STORIES).format(p=rnd.choice(PLACES))
    words = " ".join(rnd.choice(FILLER) for _ in range(rnd.randint(2, 8)))
    return f"{words}，{story}。{rnd.randint(1, 10**6)}"


def main() -> None:
    setup_django("cc_bench_sentiment_ingest", "ccbench")
    from django.contrib.auth.models import User
    from django.db import connection
    from django.utils import timezone

    from command_center import codes, demo
    from sentiment import services
    from sentiment.models import Event, Post

    codes.load_defaults()
    services.load_defaults()
    city = demo.load_orgs()
    admin = User.objects.create_superuser("bench-sentiment", password="bench-pass-123")
    for k, expr in enumerate(["打架 警察", "(诈骗 OR 骗钱) -演练", "投诉 出警", "电动车 被偷", "货车 相撞"]):
        services.watch_create(actor=admin, org_id=city.pk, name=f"布控{k}", expression=expr)
    rnd = random.Random(14)
    now = timezone.now()
    said: list[str] = []

    def batch(n: int, start: int, spread_s: float, end: Any) -> list[dict[str, Any]]:
        items = []
        for k in range(start, start + n):
            if said and rnd.random() < 0.33:  # a retelling of something said earlier
                text = (
                    rnd.choice(["转发：", "", "求扩散 "])
                    + rnd.choice(said[-2000:])
                    + rnd.choice(["！", "", " 真的假的"])
                )
            else:
                text = post_text(rnd)
                said.append(text)
            at = end - timedelta(seconds=rnd.uniform(0, spread_s))
            items.append(
                {
                    "source": rnd.choice(["weibo", "douyin", "wechat"]),
                    "external_id": f"b{k}",
                    "author": f"用户{rnd.randrange(5000)}",
                    "text": text,
                    "published_at": at.isoformat(),
                    "metrics": {
                        "reposts": rnd.randrange(50),
                        "comments": rnd.randrange(50),
                        "likes": rnd.randrange(200),
                    },
                }
            )
        return items

    t0 = time.perf_counter()
    for start in range(0, EARLIER, BATCH):  # the day before: what the window of the grouping holds
        services.ingest(batch(min(BATCH, EARLIER - start), start, 86400, now - timedelta(hours=1)))
    earlier_s = time.perf_counter() - t0
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE sentiment_post")

    times = []
    t0 = time.perf_counter()
    for start in range(EARLIER, EARLIER + POSTS, BATCH):
        items = batch(min(BATCH, EARLIER + POSTS - start), start, 3600, now)
        t = time.perf_counter()
        result = services.ingest(items)
        times.append((time.perf_counter() - t) * 1000)
        assert not result.refused, result.refused[:3]
    total_s = time.perf_counter() - t0
    t = time.perf_counter()
    spikes = services.detect_spikes(now=now + timedelta(hours=1))
    spikes_ms = (time.perf_counter() - t) * 1000
    baseline = db_baseline()
    tps = baseline["pgbench_single_row_insert_1_client"].get("tps")
    rate = POSTS / total_s
    out = {
        "bench": "sentiment_ingest",
        "machine": machine(),
        "posts": POSTS,
        "earlier_posts": EARLIER,
        "batch": BATCH,
        "earlier_load_s": round(earlier_s, 1),
        "posts_per_s": round(rate, 1),
        "batch_ms": summary(times),
        "events": Event.objects.count(),
        "posts_in_events": Post.objects.filter(event__isnull=False).count(),
        "spike_detection_ms": round(spikes_ms, 1),
        "spike_warnings": len(spikes),
        "baseline": baseline,
        "ratios": {"posts_per_s_over_pgbench_1_client_tps": ratio(rate, tps, 2)},
    }
    print(json.dumps(out, ensure_ascii=False))
    connection.close()


if __name__ == "__main__":
    main()
