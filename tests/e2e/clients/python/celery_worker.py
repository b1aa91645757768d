"""Test-only (tests/e2e/clients.test.ts): a real Celery worker (the `celery
worker` command, run in-process by worker_main so that its settings, passwords
included, come through stdin and never a command line or the environment) for
the app made from the stack's `connection.celery` output. Stopped by SIGTERM
(a warm shutdown). Protocol of its first stdin line: clientproto.py.
"""
import clientproto
from celery_app import make_app

req = clientproto.read_request()
app = make_app(req["settings"])
# The default pool (prefork) with one child: the worker an application runs, sized for a shared 2-core machine.
app.worker_main(["worker", "--loglevel=INFO", "--concurrency=1", "--hostname=e2e-clients@%h"])
