#!/bin/sh
# The app's database role (command_center/dbroles.py). The postgres image runs this once, when its volume
# is first initialised, as POSTGRES_USER: the owner role, which owns the database and every table and is
# the role `manage.py migrate` connects as (DATABASE_OWNER_URL). The role made here, cc_app, owns nothing
# and is nobody special; web, ws, worker and beat connect as it (DATABASE_URL). Its rights in the database
# are granted by the owner after every migrate, not here.
#
# A volume initialised before this script existed: run it once by hand, then `docker compose up -d`:
#   docker compose exec postgres sh /docker-entrypoint-initdb.d/10-app-role.sh
# Running it again sets the role's password to POSTGRES_APP_PASSWORD and its attributes back to these.
set -eu
: "${POSTGRES_APP_PASSWORD:?set POSTGRES_APP_PASSWORD in .env}"
APP_USER="${POSTGRES_APP_USER:-cc_app}"

psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v app_user="$APP_USER" -v app_password="$POSTGRES_APP_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE %I', :'app_user')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app_user') \gexec
ALTER ROLE :"app_user" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
  PASSWORD :'app_password';
SQL
