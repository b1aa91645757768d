"""Test-only (tests/e2e/clients.test.ts): a Celery app configured from the
stack's `connection.celery` output alone (its keys are Celery's setting names),
with one task whose result proves the worker ran it.
"""
import os
from typing import Any, Dict

from celery import Celery


def make_app(settings: Dict[str, Any]) -> Celery:
    app = Celery("e2e_clients")
    app.conf.update(settings)
    # Not connection settings: keep the worker's start-up retries without the
    # deprecation warning, and keep results as JSON.
    app.conf.update(broker_connection_retry_on_startup=True, task_serializer="json", result_serializer="json",
                    accept_content=["json"])

    @app.task(name="e2e.echo")
    def echo(i: int) -> Dict[str, int]:
        return {"i": i, "pid": os.getpid()}

    return app
