"""`manage.py sentiment_import FILE`: CSV and JSON lines through ingest; bad lines refused with their file line
numbers and reasons, the rest stored; a second import updates, never doubles."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from command_center import codes
from sentiment.models import Post, Source

NOW = datetime.now(UTC).replace(microsecond=0)
HUGE = "很长" * 60_000  # far over any post's text limit


@pytest.fixture
def sources(world: Any) -> dict[str, Source]:
    codes.load_defaults()  # the incident categories scoring maps topics to
    return {code: Source.objects.get_or_create(code=code, defaults={"name": code})[0] for code in ("weibo", "news")}


def run(path: Path, *args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("sentiment_import", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def rows() -> list[dict[str, Any]]:
    t = (NOW - timedelta(hours=1)).isoformat()
    return [
        {
            "source": "weibo",
            "external_id": "w1",
            "author": "网友甲",
            "text": "东湖路口交通事故，民警到场",
            "published_at": t,
            "reposts": "4",
        },
        {
            "source": "weibo",
            "external_id": "w2",
            "text": "新华街深夜噪音扰民",
            "published_at": t,
            "lat": "30.5",
            "lon": "114.3",
        },
        {"source": "weibo", "external_id": "w3", "text": HUGE, "published_at": t},
        {"source": "weibo", "external_id": "w4", "text": "日期不对", "published_at": "昨天下午"},
        {"source": "nowhere", "external_id": "n1", "text": "来源不明", "published_at": t},
        {"source": "news", "external_id": "n2", "text": "西溪派出所开展反诈宣传", "published_at": t, "likes": "9"},
    ]


def write_csv(path: Path, data: list[dict[str, Any]], *, bom: bool = False) -> Path:
    fields = [
        "source",
        "external_id",
        "author",
        "url",
        "text",
        "published_at",
        "place",
        "lat",
        "lon",
        "reposts",
        "comments",
        "likes",
    ]
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(data)
    return path


def assert_outcome(out: str) -> None:
    assert "6 read, 3 stored, 0 updated, 3 refused." in out, out
    # The file's line numbers (the header is line 1), each with the field and the reason.
    assert "line 4: text:" in out
    assert "line 5: published_at:" in out
    assert "line 6: source:" in out
    stored = {p.external_id: p for p in Post.objects.all()}
    assert set(stored) == {"w1", "w2", "n2"}
    assert stored["w1"].reposts == 4 and stored["w1"].author == "网友甲"
    assert (stored["w2"].lat, stored["w2"].lon) == (30.5, 114.3)
    assert stored["n2"].source.code == "news" and stored["n2"].likes == 9


def test_csv_import_stores_good_rows_and_reports_bad_ones(tmp_path: Path, sources: dict[str, Source]) -> None:
    path = write_csv(tmp_path / "posts.csv", rows(), bom=True)
    out, err = run(path)
    assert_outcome(out)
    assert "6/6" in err  # the progress bar, on stderr
    assert "refused=3" in err

    again, _ = run(path)
    assert "6 read, 0 stored, 3 updated, 3 refused." in again
    assert Post.objects.count() == 3


def test_jsonl_import_the_same(tmp_path: Path, sources: dict[str, Source]) -> None:
    data = rows()
    for row in data:
        for key in ("reposts", "likes", "lat", "lon"):
            if key in row:
                row[key] = float(row[key]) if key in ("lat", "lon") else int(row[key])
    # `id` / `content` / `created_at` are read too.
    data[5] = {
        "source": "news",
        "id": "n2",
        "content": data[5]["text"],
        "created_at": data[5]["published_at"],
        "likes": 9,
    }
    lines = ["", *(json.dumps(r, ensure_ascii=False) for r in data)]  # line 1 blank, as the CSV's header
    path = tmp_path / "posts.data"  # no telling suffix: the first `{` says JSON lines
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out, _ = run(path, "--no-progress")
    assert_outcome(out)
    again, _ = run(path, "--no-progress")
    assert "0 stored, 3 updated, 3 refused." in again and Post.objects.count() == 3


def test_default_source_bad_numbers_and_broken_lines(tmp_path: Path, sources: dict[str, Source]) -> None:
    t = NOW.isoformat()
    path = tmp_path / "no_source.csv"
    path.write_text(
        f'external_id,text,published_at,lat,lon\nx1,"多行\n文本",{t},,\nx2,坐标不对,{t},北纬三十,114\nx3,正常,{t},30,114\n',
        encoding="utf-8",
    )
    out, _ = run(path, "--source", "news", "--no-progress")
    assert "3 read, 2 stored, 0 updated, 1 refused." in out
    assert "line 4: lat: Not a number." in out  # x1 spans lines 2-3
    assert Post.objects.get(external_id="x1").text == "多行\n文本"
    assert set(Post.objects.values_list("source__code", flat=True)) == {"news"}

    jl = tmp_path / "mixed.jsonl"
    jl.write_text(f'{{"external_id": "j1", "text": "好", "published_at": "{t}"}}\nnot json\n[1]\n', encoding="utf-8")
    out, _ = run(jl, "--source", "weibo", "--no-progress")
    assert "3 read, 1 stored" in out and "line 2: line: Not JSON" in out and "line 3: line: Not a JSON object." in out


def test_nothing_readable_is_an_error(tmp_path: Path, sources: dict[str, Source]) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(CommandError, match="Nothing to import"):
        run(empty)
    with pytest.raises(CommandError, match="No file"):
        run(tmp_path / "missing.csv")
    headless = tmp_path / "nosource.csv"
    headless.write_text("external_id,text,published_at\nx,y,z\n", encoding="utf-8")
    with pytest.raises(CommandError, match="--source"):
        run(headless)
    with pytest.raises(CommandError, match="No source"):
        run(headless, "--source", "nowhere")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("source,external_id,text,published_at\nweibo,1,caf\xe9,2026-01-01\n".encode("latin-1"))
    with pytest.raises(CommandError, match="not UTF-8"):
        run(latin)
    assert Post.objects.count() == 0


def test_lines_past_the_first_chunk_keep_their_numbers(tmp_path: Path, sources: dict[str, Source]) -> None:
    t = (NOW - timedelta(minutes=5)).isoformat()
    lines = [
        json.dumps({"source": "weibo", "external_id": f"c{i}", "text": f"第{i}条：东湖路段拥堵", "published_at": t})
        for i in range(1, 1203)
    ]
    lines[1100] = json.dumps({"source": "weibo", "external_id": "bad", "text": "", "published_at": t})  # line 1101
    path = tmp_path / "many.ndjson"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out, _ = run(path, "--no-progress")
    assert "1202 read, 1201 stored, 0 updated, 1 refused." in out
    assert "line 1101: text:" in out
