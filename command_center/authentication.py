"""API token authentication that reads the token, its user, the user's person, org and roles in one query.

DRF's TokenAuthentication reads the token and user (one query); scoping then reads the person and org and
the role checks the groups (two or three more). Every API request needs all of them, so they come
together, in one statement whose text is built once per process (building the ORM query cost more than
running it).
"""

from __future__ import annotations

from django.contrib.auth.models import Group, User
from django.db import connection
from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from . import orgs
from .models import Org, Person

_SQL: str | None = None


def _names(model: type) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields]  # type: ignore[attr-defined]


def _columns(model: type, alias: str) -> list[str]:
    return [f"{alias}.{connection.ops.quote_name(f.column)}" for f in model._meta.concrete_fields]  # type: ignore[attr-defined]


def _sql() -> str:
    global _SQL
    if _SQL is None:
        cols = ", ".join([*_columns(User, "u"), *_columns(Person, "p"), *_columns(Org, "o")])
        _SQL = f"""
            SELECT t.created, {cols},
                   ARRAY(SELECT g.name FROM {Group._meta.db_table} g
                         JOIN {User.groups.through._meta.db_table} ug ON ug.group_id = g.id
                         WHERE ug.user_id = u.id)
            FROM {Token._meta.db_table} t
            JOIN {User._meta.db_table} u ON u.id = t.user_id
            LEFT JOIN {Person._meta.db_table} p ON p.user_id = u.id
            LEFT JOIN {Org._meta.db_table} o ON o.id = p.org_id
            WHERE t.key = %s
        """  # noqa: S608  # table and column names from the models; the key is a parameter
    return _SQL


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate_credentials(self, key: str) -> tuple[User, Token]:
        with connection.cursor() as cur:
            cur.execute(_sql(), [key])
            row = cur.fetchone()
        if row is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        created, rest = row[0], list(row[1:])
        n_user, n_person = len(User._meta.concrete_fields), len(Person._meta.concrete_fields)
        user = User.from_db(connection.alias, _names(User), rest[:n_user])
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        person_values = rest[n_user : n_user + n_person]
        person = None
        if person_values[0] is not None:
            person = Person.from_db(connection.alias, _names(Person), person_values)
            person.org = Org.from_db(connection.alias, _names(Org), rest[n_user + n_person : -1])
            person.user = user
            person.role_names = rest[-1]  # type: ignore[attr-defined]
        user.__dict__["_cc_person"] = orgs.adopt_roles(person)
        return user, Token(key=key, user=user, created=created)
