"""Test-only (tests/e2e/clients.test.ts): the protocol every client program of
the test speaks, so the test drives redis-py, Celery and go-redis alike.

stdin, first line: {"settings": <one entry of the stack's `connection` output,
passwords filled in>, "prefix": "<key prefix>"}; later "stop" (or the end of
input). stdout: {"progress": {...}} about every 500 ms while writing, then one
{"report": {"acks": [[i, unix_ms, "ip:port"]], "errors": [[unix_ms, "message"]],
"readBack": {...}}}. Secrets come only through stdin: never a command line or
the environment, which other users can read.
"""
import json
import sys
import threading
import time
from typing import Any, Callable, Dict, List


def read_request() -> Dict[str, Any]:
    line = sys.stdin.readline()
    if not line:
        sys.exit("no settings on stdin")
    req = json.loads(line)
    if not req.get("prefix") or not isinstance(req.get("settings"), dict):
        sys.exit("settings: prefix and settings are required")
    return req


def laddr(client_info: Any) -> str:
    """The server's own address from CLIENT INFO, parsed or not."""
    if isinstance(client_info, dict):
        v = client_info.get("laddr", "")
        return v.decode() if isinstance(v, bytes) else str(v)
    text = client_info.decode() if isinstance(client_info, bytes) else str(client_info)
    for field in text.split():
        if field.startswith("laddr="):
            return field[len("laddr="):]
    return ""


class Record:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.acks: List[list] = []
        self.errors: List[list] = []
        self.by_server: Dict[str, int] = {}


def run(write: Callable[[int], str], read_back: Callable[[List[list]], Dict[str, Any]]) -> None:
    """Calls write(i) (it returns the acknowledging server) until told to stop,
    printing progress, then prints the report with read_back(acks)."""
    rec = Record()
    stop = threading.Event()

    def writer() -> None:
        i = 0
        while not stop.is_set():
            try:
                server = write(i)
                with rec.lock:
                    rec.acks.append([i, int(time.time() * 1000), server])
                    rec.by_server[server] = rec.by_server.get(server, 0) + 1
            except Exception as e:  # every failure is what the test counts
                # A pipeline's error names the command and its key: keep the server's own words.
                text = str(e).split("\n")[0]
                text = text.split(" of pipeline caused error: ", 1)[-1]
                msg = f"{type(e).__name__}: {text}"[:80]
                with rec.lock:
                    rec.errors.append([int(time.time() * 1000), msg])
                time.sleep(0.02)
            i += 1
            time.sleep(0.005)

    def stdin_stop() -> None:
        for line in sys.stdin:
            if line.strip() == "stop":
                break
        stop.set()

    threading.Thread(target=stdin_stop, daemon=True).start()
    w = threading.Thread(target=writer)
    w.start()
    while not stop.wait(0.5):
        with rec.lock:
            p = {"acked": len(rec.acks), "byServer": dict(rec.by_server), "errors": len(rec.errors)}
        print(json.dumps({"progress": p}), flush=True)
    w.join()
    report = {"acks": rec.acks, "errors": rec.errors, "readBack": read_back(rec.acks)}
    print(json.dumps({"report": report}), flush=True)
