"""Test-only (tests/e2e/clients.test.ts): an application's redis-py Sentinel
client made from the stack's `connection.redisPy` output alone. Writes
numbered keys through master_for until told to stop, then, once every replica
has them (WAIT), reads them back through slave_for. Protocol: clientproto.py.
"""
import time
from typing import Any, Dict, List

from redis.sentinel import Sentinel

import clientproto

req = clientproto.read_request()
s = req["settings"]
prefix = req["prefix"]
# The output's keys are Sentinel()'s own arguments.
sentinel = Sentinel([tuple(a) for a in s["sentinels"]], sentinel_kwargs=s["sentinel_kwargs"], password=s["password"])
master = sentinel.master_for(s["service_name"])


def write(i: int) -> str:
    # CLIENT INFO in the same pipeline (one connection) names the server that took the SET.
    p = master.pipeline(transaction=False)
    p.set(f"{prefix}:{i}", i)
    p.client_info()
    _, info = p.execute()
    return clientproto.laddr(info)


def read_back(acks: List[list]) -> Dict[str, Any]:
    keys = [f"{prefix}:{a[0]}" for a in acks]
    # The old master, just turned into a replica, may still be syncing: wait until
    # every replica (one per other Sentinel's host in this project) has everything.
    replicas = len(s["sentinels"]) - 1
    deadline = time.time() + 60
    while len(sentinel.discover_slaves(s["service_name"])) < replicas or master.wait(replicas, 1000) < replicas:
        if time.time() > deadline:
            raise SystemExit(f"the {replicas} replicas did not all acknowledge the writes within 60 s")
        time.sleep(0.2)
    replica = sentinel.slave_for(s["service_name"])
    role = replica.execute_command("ROLE")[0]
    via = clientproto.laddr(replica.client_info())
    missing = []
    for k in range(0, len(keys), 500):
        vals = replica.mget(keys[k:k + 500])
        missing += [acks[k + j][0] for j, v in enumerate(vals) if v is None]
    for k in range(0, len(keys), 500):
        master.delete(*keys[k:k + 500])
    return {"via": f"slave_for ({via}, role {role.decode() if isinstance(role, bytes) else role})", "server": via,
            "role": role.decode() if isinstance(role, bytes) else role, "missing": missing}


clientproto.run(write, read_back)
