"""API token authentication that reads the token, its user, the user's person, org and roles in one query.

DRF's TokenAuthentication reads the token and user (one query); scoping then reads the person and org and
the role checks the groups (two or three more). Every API request needs all of them, so they come
together, in one statement whose text is built once per process (building the ORM query cost more than
running it), and prepared once per kept connection (prepared.py: planning it cost PostgreSQL more than
running it). Besides it, a token's use is recorded at most once every five minutes (`tokens.token_touch`).
"""

from __future__ import annotations

import hmac

from django.contrib.auth.models import Group, User
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions

from . import orgs, prepared, tokens
from .models import ApiToken, Org, Person

_SQL: str | None = None


def _names(model: type) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields]  # type: ignore[attr-defined]


def _columns(model: type, alias: str) -> list[str]:
    return [f"{alias}.{connection.ops.quote_name(f.column)}" for f in model._meta.concrete_fields]  # type: ignore[attr-defined]


def _sql() -> str:
    global _SQL
    if _SQL is None:
        cols = ", ".join([*_columns(ApiToken, "t"), *_columns(User, "u"), *_columns(Person, "p"), *_columns(Org, "o")])
        _SQL = f"""
            SELECT {cols},
                   ARRAY(SELECT g.name FROM {Group._meta.db_table} g
                         JOIN {User.groups.through._meta.db_table} ug ON ug.group_id = g.id
                         WHERE ug.user_id = u.id)
            FROM {ApiToken._meta.db_table} t
            JOIN {User._meta.db_table} u ON u.id = t.user_id
            LEFT JOIN {Person._meta.db_table} p ON p.user_id = u.id
            LEFT JOIN {Org._meta.db_table} o ON o.id = p.org_id
            WHERE t.id = %s
        """  # noqa: S608  # table and column names from the models; the token id is a parameter
    return _SQL


class TokenAuthentication(authentication.TokenAuthentication):
    """`Authorization: Token <id>.<secret>` (tokens.py). The row is found by its public id; the secret's
    digest is compared in constant time; an expired token, or one whose user was deactivated or changed
    password since, is refused and deleted. A wrong secret deletes nothing: knowing a token's id is not
    enough to revoke it."""

    def authenticate_credentials(self, key: str) -> tuple[User, ApiToken]:
        parsed = tokens.parse(key)
        if parsed is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        token_id, secret = parsed
        with connection.cursor() as cur:
            prepared.execute(cur, "cc_token_auth", _sql(), [token_id])
            row = cur.fetchone()
        if row is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        n_token, n_user, n_person = (len(m._meta.concrete_fields) for m in (ApiToken, User, Person))
        token = ApiToken.from_db(connection.alias, _names(ApiToken), row[:n_token])
        if not hmac.compare_digest(token.digest, tokens.digest(secret)):
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        rest = list(row[n_token:])
        user = User.from_db(connection.alias, _names(User), rest[:n_user])
        now = timezone.now()
        why = tokens.refusal(token, user, now)
        if why is not None:
            tokens.token_discard(token_id=token_id, user=user)
            raise exceptions.AuthenticationFailed(why)
        tokens.token_touch(token=token, now=now)
        person_values = rest[n_user : n_user + n_person]
        person = None
        if person_values[0] is not None:
            person = Person.from_db(connection.alias, _names(Person), person_values)
            person.org = Org.from_db(connection.alias, _names(Org), rest[n_user + n_person : -1])
            person.user = user
            person.role_names = rest[-1]  # type: ignore[attr-defined]
        user.__dict__["_cc_person"] = orgs.adopt_roles(person)
        token.user = user
        return user, token
