import io
import json
import logging
import logging.config

import pytest
from django.conf import settings

from command_center import logs


@pytest.fixture
def json_logs():
    """The logging that LOG_FORMAT=json sets up, its console handler writing to a buffer."""
    logging.config.dictConfig(logs.logging_config(fmt="json", level="INFO"))
    buffer = io.StringIO()
    (console,) = [h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler)]
    console.setStream(buffer)
    yield buffer
    logging.config.dictConfig(settings.LOGGING)


def lines(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]  # every line is one JSON object


def test_a_request_logs_json_lines_under_the_id_of_its_response(client, db, json_logs):
    r = client.get("/no/such/page/")  # Django logs "Not Found" on django.request
    rid = r["X-Request-ID"]
    assert len(rid) == 32
    found = [line for line in lines(json_logs) if line["logger"] == "django.request"]
    assert found, "django.request logged nothing"
    line = found[-1]
    assert line["request_id"] == rid
    assert line["level"] == "WARNING" and "/no/such/page/" in line["message"]
    assert set(line) >= {"time", "level", "logger", "message", "request_id"}
    assert line["time"].endswith("+00:00")


def test_a_sane_incoming_id_is_kept_and_a_wild_one_replaced(client, db):
    assert client.get("/healthz", HTTP_X_REQUEST_ID="lb-42.abc")["X-Request-ID"] == "lb-42.abc"
    wild = client.get("/healthz", HTTP_X_REQUEST_ID="x" * 200 + "\n")["X-Request-ID"]
    assert wild != "x" * 200 and len(wild) == 32
    assert client.get("/healthz", HTTP_X_REQUEST_ID="a b")["X-Request-ID"] != "a b"


def test_an_exception_is_one_line_with_its_traceback(json_logs):
    token = logs.request_id.set("job-7")
    try:
        try:
            raise ValueError("坏了")
        except ValueError:
            logging.getLogger("cc.test").exception("处理失败")
    finally:
        logs.request_id.reset(token)
    (line,) = [line for line in lines(json_logs) if line["logger"] == "cc.test"]
    assert line["message"] == "处理失败" and line["request_id"] == "job-7"
    assert "ValueError: 坏了" in line["exc_info"]


def test_outside_a_request_the_id_is_a_dash(json_logs):
    logging.getLogger("cc.test").warning("idle")
    (line,) = [line for line in lines(json_logs) if line["logger"] == "cc.test"]
    assert line["request_id"] == "-"


def test_a_task_sent_during_a_request_runs_under_its_id():
    from celery import signals

    from command_center import tasks

    task = tasks.sweep_deadlines
    headers: dict[str, object] = {}
    token = logs.request_id.set("req-77")
    try:
        signals.before_task_publish.send(sender=task.name, headers=headers, body=None)
    finally:
        logs.request_id.reset(token)
    assert headers["request_id"] == "req-77"

    # On the worker: the message's headers are on the task's request while it runs.
    task.push_request({"id": "t1", "request_id": headers["request_id"]})  # type: ignore[call-arg]  # the stub takes none
    try:
        signals.task_prerun.send(sender=task, task_id="t1", task=task, args=(), kwargs={})
        assert logs.request_id.get() == "req-77"
    finally:
        task.pop_request()
    task.push_request({"id": "t2"})  # type: ignore[call-arg]  # sent by beat: no id
    try:
        signals.task_prerun.send(sender=task, task_id="t2", task=task, args=(), kwargs={})
        assert logs.request_id.get() == logs.NONE
    finally:
        task.pop_request()
