"""Test-only (tests/e2e/clients.test.ts): an application sending tasks through
the Sentinel broker made from the stack's `connection.celery` output alone, one
at a time, each acknowledged once its result is back from the worker through
the Sentinel result backend. Afterwards it reads every acknowledged task's
result back from the backend. Protocol: clientproto.py.
"""
from typing import Any, Dict, List

import clientproto
from celery_app import make_app

req = clientproto.read_request()
app = make_app(req["settings"])
echo = app.tasks["e2e.echo"]
task_ids: Dict[int, str] = {}


def write(i: int) -> str:
    r = echo.apply_async(args=[i])
    v = r.get(timeout=5)
    if v.get("i") != i:
        raise RuntimeError(f"task {i} returned {v}")
    task_ids[i] = r.id
    # The server the result backend's (Sentinel-managed) connection is on now.
    return clientproto.laddr(app.backend.client.client_info())


def read_back(acks: List[list]) -> Dict[str, Any]:
    missing = []
    for a in acks:
        # From the store itself: get_task_meta would answer from this process's cache.
        key = app.backend.get_key_for_task(task_ids[a[0]])
        raw = app.backend.get(key)
        meta = app.backend.decode_result(raw) if raw is not None else {}
        if meta.get("status") != "SUCCESS" or (meta.get("result") or {}).get("i") != a[0]:
            missing.append(a[0])
        app.backend.delete(key)
    return {"via": "the result backend (master)", "missing": missing}


clientproto.run(write, read_back)
