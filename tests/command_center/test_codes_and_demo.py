import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management import call_command

from command_center import codes
from command_center.models import Category, HandlingResult, Org, SupervisionLevel


def test_default_code_tables_load_and_are_idempotent(db):
    call_command("load_codes")
    counts = (Category.objects.count(), HandlingResult.objects.count(), SupervisionLevel.objects.count())
    assert counts[0] > 100 and counts[1] >= 10 and counts[2] >= 3
    assert set(Category.objects.filter(level=1).values_list("name", flat=True)) >= {"刑事", "治安", "交通", "非警务"}
    theft = Category.objects.get(code="010000")
    theft.name = "刑事(本省)"
    theft.save()
    call_command("load_codes")  # a second run keeps an administrator's edit
    assert Category.objects.get(code="010000").name == "刑事(本省)"
    assert (Category.objects.count(), HandlingResult.objects.count(), SupervisionLevel.objects.count()) == counts


def test_every_default_category_has_the_four_level_shape(db):
    call_command("load_codes")
    for c in Category.objects.select_related("parent"):
        assert len(c.code) == 6 and c.code.isdigit()
        if c.parent:
            assert c.parent.level == c.level - 1 and c.code.startswith(c.parent.prefix)


@pytest.mark.parametrize(
    "row, message",
    [
        ({"code": "12345", "level": "1", "parent": "", "name": "x"}, "six digits"),
        ({"code": "020100", "level": "2", "parent": "990000", "name": "x"}, "not in the table"),
        ({"code": "020100", "level": "2", "parent": "010000", "name": "x"}, "prefix"),
        ({"code": "010100", "level": "5", "parent": "010000", "name": "x"}, "1–4"),
    ],
)
def test_an_imported_table_with_a_bad_row_is_refused_whole(db, row, message):
    rows = [{"code": "010000", "level": "1", "parent": "", "name": "刑事"}, row]
    with pytest.raises(ValidationError) as exc:
        codes.load_categories(rows, update=False)
    assert message in " ".join(exc.value.messages)
    assert not Category.objects.exists()


def test_import_command_reads_a_province_csv(db, tmp_path):
    f = tmp_path / "province.csv"
    f.write_text("code,level,parent,name\n310000,1,,省定类别\n310100,2,310000,省定类型\n", encoding="utf-8")
    call_command("load_codes", categories=f)
    assert Category.objects.get(code="310100").parent_id == "310000"


def test_demo_loads_the_city_and_people_and_is_idempotent(db):
    call_command("load_demo")
    city = Org.objects.get(name="示范市公安局情指中心")
    assert city.is_command_center and Org.objects.get_children(city).filter(level="county").count() == 3
    assert Org.objects.filter(level="station").count() == 12
    assert Org.objects.filter(kind="partner").count() == 2
    assert Org.objects.filter(level="community").exists()
    users = {u.username: u for u in User.objects.select_related("person__org")}
    assert set(users) == {
        "admin",
        "duty",
        "commander",
        "analyst",
        "supervisor",
        "station1",
        "station2",
        "partner",
        "volunteer",
        "grid",  # a community's grid worker (incidents/demo.py): the community's diversions
    }
    s1, s2 = users["station1"].person.org, users["station2"].person.org
    assert s1.level == s2.level == "station" and Org.objects.get_parent(s1) != Org.objects.get_parent(s2)
    assert users["duty"].check_password("demo12345")
    assert users["partner"].person.org.kind == "partner"
    assert users["grid"].person.org.level == "community" and users["grid"].groups.filter(name="partner").exists()
    before = (Org.objects.count(), User.objects.count())
    users["duty"].set_password("changed-by-duty")
    users["duty"].save()
    call_command("load_demo")
    assert (Org.objects.count(), User.objects.count()) == before
    assert User.objects.get(username="duty").check_password("changed-by-duty")


def test_demo_is_refused_where_not_allowed(db, settings):
    from django.core.management.base import CommandError

    settings.DEMO_ALLOWED = False
    with pytest.raises(CommandError):
        call_command("load_demo")
