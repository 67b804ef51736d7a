"""The developer's process runner behind `make run`, `make test` and `make bench`: `python -m devstack`.

It stands beside the platform, not in it: it provides PostgreSQL and Redis (embedded unless DATABASE_URL /
REDIS_URL name real ones) and starts manage.py, gunicorn, daphne, Celery, pytest and the benches as child
processes. It never imports Django (it runs before settings can be loaded), and nothing in command_center
or the apps imports it.

- stack.py: the services (embedded PostgreSQL and Redis) and `make run`'s children, kept running
- bench.py: `make bench`, running bench/*.py and merging what they measured
- cli.py: the subcommands run, test, bench, env and stop
"""
