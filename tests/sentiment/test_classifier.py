"""The polarity classifier: what normalization keeps and drops, training and predicting, the stored form
(numpy arrays only, never a pickle), the shipped model on police-desk posts, and the train / eval commands
with the active model they choose."""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from sentiment import classifier
from sentiment.models import ScoringModel

NEG_WORDS = ["太差了", "很失望", "态度恶劣", "投诉无门", "气死了", "垃圾", "不作为", "糟糕透了"]
POS_WORDS = ["非常满意", "感谢", "点赞", "太好了", "很开心", "暖心", "辛苦了", "给力"]
FILLER = ["今天", "派出所", "民警", "这件事", "我觉得", "昨天晚上", "小区门口", "办事"]
NEU_WORDS = ["通知", "发布", "今日", "下午三点", "会议", "天气预报", "公告", "时间表"]


def generated(n: int, seed: int = 1, neutral: bool = False) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    kinds = [("negative", NEG_WORDS), ("positive", POS_WORDS)] + ([("neutral", NEU_WORDS)] if neutral else [])
    rows = []
    for i in range(n):
        label, words = kinds[i % len(kinds)]
        rows.append((f"{rng.choice(FILLER)}{rng.choice(words)}，{rng.choice(FILLER)}{rng.choice(words)}", label))
    return rows


def write_csv(path: Path, rows: list[tuple[str, str]], header: tuple[str, str] = ("text", "label")) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_normalize_strips_urls_mentions_emoticons_emoji_and_keeps_the_words():
    raw = (
        "//@张三: 转发 @李四_2 看看 https://t.cn/A6abc?x=1 【突发】#某地暴雨# 太惨了[泪][哈哈]😭👍🏻  ＡＢＣ１２３\n好"
    )
    out = classifier.normalize(raw)
    assert out == "转发 看看 【突发】#某地暴雨# 太惨了 ABC123 好"
    for gone in ("张三", "李四", "http", "t.cn", "[泪]", "泪", "哈哈", "😭", "👍"):
        assert gone not in out
    assert classifier.normalize("  民警 \t 点赞！ ") == "民警 点赞！"
    assert classifier.normalize("[good][赞]😀") == ""


def test_labels_map_by_name_and_by_the_files_numbering():
    assert classifier.map_labels(["negative", "中", "正面", "Pos"]) == ["negative", "neutral", "positive", "positive"]
    assert classifier.map_labels(["0", "1", "1"]) == ["negative", "positive", "positive"]
    assert classifier.map_labels(["0", "1", "2"]) == ["negative", "neutral", "positive"]
    assert classifier.map_labels(["-1", "0", "1"]) == ["negative", "neutral", "positive"]
    with pytest.raises(classifier.LabelError) as exc:
        classifier.map_labels(["0", "1", "good", "1"])
    assert exc.value.index == 2 and exc.value.label == "good"


def test_a_model_trained_on_generated_posts_reads_new_obvious_ones():
    rows = generated(240)
    clf = classifier.train([t for t, _ in rows], [lab for _, lab in rows], name="gen")
    assert clf.classes == ["negative", "positive"]
    out = clf.predict(["昨天民警态度恶劣，太差了", "民警辛苦了，非常满意，点赞"])
    assert out[0][0] == "negative" and out[0][1] < -0.2
    assert out[1][0] == "positive" and out[1][1] > 0.2
    assert clf.predict([]) == []
    assert all(-1 <= s <= 1 for _, s in clf.predict(["", "完全无关的一句话"]))


def test_a_three_class_model_predicts_neutral_itself():
    rows = generated(300, neutral=True)
    clf = classifier.train([t for t, _ in rows], [lab for _, lab in rows], name="three")
    assert clf.classes == ["negative", "neutral", "positive"]
    labels = [lab for lab, _ in clf.predict(["今日下午三点发布公告通知", "太差了，很失望", "感谢，点赞"])]
    assert labels == ["neutral", "negative", "positive"]


def test_the_stored_form_round_trips_and_loads_without_pickle():
    rows = generated(120)
    clf = classifier.train([t for t, _ in rows], [lab for _, lab in rows], name="rt")
    data = clf.to_bytes()
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        assert {"idx", "idf", "coef", "intercept", "classes"} <= set(z.files)
        assert all(z[k].dtype != object for k in z.files)
    again = classifier.Classifier.from_bytes(data, "rt2")
    probe = [t for t, _ in generated(40, seed=9)] + ["随便说点什么"]
    assert again.predict(probe) == clf.predict(probe)
    assert again.name == "rt2" and again.classes == clf.classes
    with pytest.raises(ValueError):
        classifier.Classifier.from_bytes(b"not a model", "x")


def test_the_shipped_model_reads_police_desk_posts():
    clf = classifier.shipped()
    assert clf is classifier.shipped()  # read once
    (neg, neg_score), (pos, pos_score) = clf.predict(
        ["警察态度恶劣，投诉无门，太失望了", "感谢民警帮我找回了钱包，为人民服务点赞"]
    )
    assert neg == "negative" and neg_score < -0.5
    assert pos == "positive" and pos_score > 0.5
    assert classifier.SHIPPED_FILE.stat().st_size < 3_000_000


def test_evaluate_gives_macro_f1_per_class_and_the_confusion_matrix():
    rows = generated(200)
    clf = classifier.train([t for t, _ in rows], [lab for _, lab in rows], name="ev")
    test = generated(60, seed=5)
    m = classifier.evaluate(clf, [t for t, _ in test], [lab for _, lab in test])
    assert m["n"] == 60 and m["macro_f1"] > 0.9
    assert m["classes"][0] == "negative" and m["classes"][-1] == "positive"
    assert sum(map(sum, m["confusion"])) == 60
    assert m["per_class"]["negative"]["support"] == 30 and m["posts_per_s"] > 0
    assert "macro_f1_no_band" in m


@pytest.mark.django_db
def test_sentiment_train_stores_a_model_and_activate_makes_it_score(tmp_path, capsys):
    classifier.forget()
    assert classifier.active() is classifier.shipped()
    path = write_csv(tmp_path / "mine.csv", generated(200))
    call_command("sentiment_train", str(path), "--name", "desk-1", "--activate")
    out = capsys.readouterr().out
    assert "macro-F1" in out and "confusion matrix" in out and "desk-1" in out
    row = ScoringModel.objects.get(name="desk-1")
    assert row.active and row.classes == ["negative", "positive"] and row.rows == 160
    assert row.metrics["macro_f1"] > 0.9 and row.metrics["holdout_rows"] == 40
    assert "mine.csv" in row.trained_on
    assert classifier.active().name == "desk-1"

    call_command("sentiment_train", str(path), "--name", "desk-2", "--activate", "--holdout", "0")
    assert list(ScoringModel.objects.filter(active=True).values_list("name", flat=True)) == ["desk-2"]
    assert classifier.active().name == "desk-2"
    classifier.make_active(None)
    assert classifier.active() is classifier.shipped()
    with pytest.raises(CommandError, match="exists already"):
        call_command("sentiment_train", str(path), "--name", "desk-1")


@pytest.mark.django_db
def test_sentiment_eval_prints_macro_f1_and_the_confusion_matrix(tmp_path, capsys):
    path = write_csv(tmp_path / "eval.csv", [("警察态度恶劣，投诉无门，太失望了", "0"), ("感谢民警，点赞", "1")] * 5)
    call_command("sentiment_eval", str(path), "--model", "shipped")
    out = capsys.readouterr().out
    assert "macro-F1" in out and "confusion matrix (rows: true, columns: predicted)" in out and "posts/s" in out
    call_command("sentiment_eval", str(path), "--model", "shipped", "--json")
    m = json.loads(capsys.readouterr().out)
    assert m["model"] == "shipped" and m["macro_f1"] == 1.0 and m["confusion"][0][0] == 5
    with pytest.raises(CommandError, match="no scoring model named 'nope'"):
        call_command("sentiment_eval", str(path), "--model", "nope")


@pytest.mark.django_db
def test_bad_csv_is_refused_naming_the_column_or_the_label(tmp_path):
    no_label = write_csv(tmp_path / "a.csv", generated(40), header=("text", "polarity"))
    with pytest.raises(CommandError, match="no column 'label'"):
        call_command("sentiment_train", str(no_label))
    rows = generated(40)
    rows[6] = ("还行吧", "meh")
    bad = write_csv(tmp_path / "b.csv", rows)
    with pytest.raises(CommandError, match=r"line 8: unknown label 'meh'"):
        call_command("sentiment_train", str(bad))
    with pytest.raises(CommandError, match="unknown label 'meh'"):
        call_command("sentiment_eval", str(bad), "--model", "shipped")
    few = write_csv(tmp_path / "c.csv", [*generated(40), ("一般般", "neutral")])
    with pytest.raises(CommandError, match="at least 10 rows"):
        call_command("sentiment_train", str(few))
    assert not ScoringModel.objects.exists()
    other = write_csv(tmp_path / "d.csv", generated(40), header=("review", "y"))
    call_command("sentiment_train", str(other), "--text-column", "review", "--label-column", "y", "--name", "cols")
    assert ScoringModel.objects.filter(name="cols", rows=32).exists()


@pytest.mark.django_db
def test_the_admin_lists_models_and_makes_one_active_without_showing_the_bytes(client, django_user_model):
    clf = classifier.train(*zip(*generated(60), strict=True), name="a")
    metrics = {"macro_f1": 0.91, "per_class": {"negative": {"recall": 0.88}}}
    a = ScoringModel.objects.create(name="a", classes=clf.classes, data=clf.to_bytes(), rows=60, metrics=metrics)
    b = ScoringModel.objects.create(name="b", classes=clf.classes, data=clf.to_bytes(), rows=60, active=True)
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.org", "pw-12345"))
    page = client.get("/admin/sentiment/scoringmodel/")
    assert page.status_code == 200 and b"0.91" in page.content and b"0.88" in page.content
    change = client.get(f"/admin/sentiment/scoringmodel/{a.pk}/change/")
    assert change.status_code == 200 and b'name="data"' not in change.content
    assert client.get("/admin/sentiment/scoringmodel/add/").status_code == 403
    r = client.post("/admin/sentiment/scoringmodel/", {"action": "make_active", "_selected_action": [a.pk]})
    assert r.status_code == 302
    assert list(ScoringModel.objects.filter(active=True).values_list("name", flat=True)) == ["a"]
    assert classifier.active().name == "a"
    b.refresh_from_db()
    assert not b.active
    client.post("/admin/sentiment/scoringmodel/", {"action": "make_active", "_selected_action": [a.pk, b.pk]})
    assert list(ScoringModel.objects.filter(active=True).values_list("name", flat=True)) == ["a"]  # one at a time
    client.post("/admin/sentiment/scoringmodel/", {"action": "make_none_active", "_selected_action": [a.pk]})
    assert not ScoringModel.objects.filter(active=True).exists()
    assert classifier.active() is classifier.shipped()
