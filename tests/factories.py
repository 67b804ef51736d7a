"""factory_boy factories for the kernel: orgs (treebeard needs add_root/add_child), users with a person."""

from __future__ import annotations

from typing import Any

import factory
from django.contrib.auth.models import Group, User

from command_center.models import Org, Person


def make_org(parent: Org | None = None, *, name: str, level: str, **fields: Any) -> Org:
    fields = {"name": name, "level": level, **fields}
    if parent is None:
        return Org.objects.add_root(create_kwargs=fields)
    return Org.objects.add_child(parent, create_kwargs=fields)


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw-12345")


def make_person(username: str, org: Org, *roles: str, **user_fields: Any) -> User:
    user: User = UserFactory.create(username=username, **user_fields)
    Person.objects.create(user=user, org=org, display_name=username)
    for role in roles:
        group, _ = Group.objects.get_or_create(name=role)
        user.groups.add(group)
    return user
