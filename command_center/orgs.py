"""People, roles and scoping: the one place that decides what a person may see and act on.

A person sees what their org's subtree owns, plus what is addressed to their org (a diversion to a
partner, a directive to a station). Every list, detail, export and board subscription goes through
`restrict()`; every action goes through `require()`.

What is addressed to an org may live in a higher app: a dispatch order sends station B to an incident of
station A's area, a task of the loop names an incident. The lower app cannot import the higher one, so the
higher app names that business in its AppConfig.ready (`add_reach`), and `restrict(..., reach=True)` and
`require(..., via=obj)` take it into account:

    # dispatch/apps.py: a station holding a live or finished order may read the incident
    orgs.add_reach(Incident, lambda org: DispatchOrder.objects.filter(org=org).values("incident_id"))
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.contrib.auth.models import AnonymousUser, Group, Permission
from django.contrib.postgres.expressions import ArraySubquery
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import OuterRef, Q
from django.utils.translation import gettext as _

from .models import Org, Person, Role

M = TypeVar("M", bound=models.Model)

# Per model: functions `fn(org)` giving a subquery of that model's primary keys addressed to `org` by another
# app's rows (values_list of one column), e.g. the incidents a station holds an order for.
Reach = Callable[[Org], "models.QuerySet[Any]"]
_reach: dict[type[models.Model], list[Reach]] = {}


def add_reach(model: type[models.Model], fn: Reach) -> None:
    """Let `fn(org)` name rows of `model` addressed to `org` (see the module docstring). Idempotent."""
    found = _reach.setdefault(model, [])
    if fn not in found:
        found.append(fn)


def reach_of(model: type[models.Model]) -> list[Reach]:
    return list(_reach.get(model, []))


def reached(org: Org, obj: models.Model) -> bool:
    """Whether `obj` is addressed to `org` through another app's business (add_reach)."""
    fns = reach_of(type(obj))
    if not fns:
        return False
    cond = Q()
    for fn in fns:
        cond |= Q(pk__in=fn(org))
    return type(obj)._default_manager.filter(cond, pk=obj.pk).exists()


# Model permissions each role's group holds, as "app_label.codename". Apps extend this map for their own
# models in their AppConfig.ready(); `sync_role_groups()` (run after every migrate) applies it.
ROLE_PERMISSIONS: dict[str, set[str]] = {
    Role.CALL_TAKER: {"command_center.view_org", "command_center.view_category"},
    Role.DUTY_OFFICER: {"command_center.view_org", "command_center.view_category", "command_center.view_deadline"},
    Role.COMMANDER: {"command_center.view_org", "command_center.view_category", "command_center.view_deadline"},
    Role.STATION_OFFICER: {"command_center.view_org", "command_center.view_category"},
    Role.ANALYST: {"command_center.view_org", "command_center.view_category", "command_center.view_deadline"},
    Role.SUPERVISOR: {"command_center.view_org", "command_center.view_category", "command_center.view_deadline"},
    Role.PARTNER: {"command_center.view_category"},
    Role.VOLUNTEER: {"command_center.view_category"},
    Role.ADMIN: {
        "command_center.view_org",
        "command_center.add_org",
        "command_center.change_org",
        "command_center.view_person",
        "command_center.add_person",
        "command_center.change_person",
        "command_center.view_category",
        "command_center.add_category",
        "command_center.change_category",
        "command_center.view_handlingresult",
        "command_center.add_handlingresult",
        "command_center.change_handlingresult",
        "command_center.view_supervisionlevel",
        "command_center.add_supervisionlevel",
        "command_center.change_supervisionlevel",
        "command_center.view_deadline",
        "command_center.view_apitoken",
        "command_center.delete_apitoken",
        "auth.view_user",
        "auth.add_user",
        "auth.change_user",
    },
}


def sync_role_groups() -> None:
    """Create one group per role and give it exactly the permissions ROLE_PERMISSIONS names."""
    for role in Role:
        group, _created = Group.objects.get_or_create(name=role.value)
        wanted = ROLE_PERMISSIONS.get(role, set())
        perms = []
        for dotted in sorted(wanted):
            app_label, codename = dotted.split(".", 1)
            perm = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if perm is not None:
                perms.append(perm)
        group.permissions.set(perms)


def person_of(user: Any) -> Person | None:
    """The person a user acts as, or None (anonymous, or a user without a profile)."""
    if user is None or isinstance(user, AnonymousUser) or not user.is_authenticated:
        return None
    # Read the person with its org and role names in one query, once per user object (one request).
    cache = user.__dict__
    if "_cc_person" not in cache:
        person = with_roles(Person.objects.select_related("org")).filter(user_id=user.pk).first()
        cache["_cc_person"] = adopt_roles(person)
    return cache["_cc_person"]


def outside_police(person: Person | None) -> bool:
    """A volunteer (平安义警) with no other role: a person of a community org who reads no org's business —
    not even their own community's diversions — only what an app gives them as their own (their reports)."""
    return person is not None and bool(person.roles) and set(person.roles) <= {Role.VOLUNTEER.value}


def with_roles(qs: models.QuerySet[Any], user_field: str = "user_id") -> models.QuerySet[Any]:
    """Annotate `role_names` (the user's group names) onto rows that carry a user id in `user_field`."""
    groups = Group.objects.filter(user=OuterRef(user_field)).values("name")
    return qs.annotate(role_names=ArraySubquery(groups))


def adopt_roles(person: Person | None) -> Person | None:
    """Fill `person.roles` from the `role_names` annotation (see with_roles) so it costs no query."""
    if person is not None and hasattr(person, "role_names"):
        names = set(person.role_names)
        person.__dict__["roles"] = [r.value for r in Role if r.value in names]
    return person


def visible_orgs(user: Any) -> models.QuerySet[Org]:
    """The orgs whose business `user` may see: their org's subtree (all orgs for a superuser)."""
    if getattr(user, "is_superuser", False):
        return Org.objects.all()
    person = person_of(user)
    if person is None:
        return Org.objects.none()
    return person.org.subtree()


def restrict(
    qs: models.QuerySet[M],
    user: Any,
    *,
    org_field: str = "org",
    addressed_fields: Iterable[str] = (),
    addressed: Iterable[Reach] = (),
    reach: bool = False,
) -> models.QuerySet[M]:
    """Limit `qs` to rows whose `org_field` lies in the user's subtree, or whose `addressed_fields` (an org
    FK or M2M, e.g. a diversion's partner or a directive's recipients) name the user's own org, or that a
    function of `addressed` (a subquery of primary keys, see `Reach`) gives for the user's own org; with
    `reach=True` also what higher apps address to it (`add_reach`)."""
    if getattr(user, "is_superuser", False):
        return qs
    person = person_of(user)
    if person is None or outside_police(person):
        return qs.none()
    org = person.org
    cond = Q(**{f"{org_field}__path__startswith": org.path})
    for field in addressed_fields:
        # A subquery, not a join: a join through a to-many relation would repeat rows and need DISTINCT,
        # which makes every list and count of the model slower.
        cond |= Q(pk__in=qs.model._default_manager.filter(**{field: org}).values("pk"))
    for fn in [*addressed, *(reach_of(qs.model) if reach else [])]:
        cond |= Q(pk__in=fn(org))
    return qs.filter(cond)


def can_act(user: Any, org: Org, *, addressed: Iterable[Org] = ()) -> bool:
    if getattr(user, "is_superuser", False):
        return True
    person = person_of(user)
    if person is None or outside_police(person):
        return False
    return person.org.contains(org) or any(a.pk == person.org_id for a in addressed)


def require(
    user: Any,
    org: Org,
    *,
    addressed: Iterable[Org] = (),
    roles: Iterable[str] = (),
    via: models.Model | None = None,
) -> Person | None:
    """Refuse (PermissionDenied → 403) an action on `org`'s business by someone outside it, or without one
    of `roles` when roles are named. `via`: the subject acted on, which another app may address to the
    user's org (`add_reach`: a station sent to another area's incident). Returns the acting person (None
    for a superuser without a profile)."""
    if not can_act(user, org, addressed=addressed) and not (
        via is not None and (p := person_of(user)) is not None and reached(p.org, via)
    ):
        raise PermissionDenied(_("This belongs to an organisation outside your area."))
    person = person_of(user)
    wanted = list(roles)
    if wanted and not getattr(user, "is_superuser", False) and (person is None or not person.has_role(*wanted)):
        raise PermissionDenied(_("Your role does not allow this action."))
    return person
