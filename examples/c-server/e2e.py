#!/usr/bin/env python3
"""End-to-end test of scimkit-c-server over real HTTP, as Microsoft Entra ID
provisions: test connection, create user, filter by userName, PATCH in Entra's
dialect, group add/remove members, delete; plus parallel clients.

    e2e.py PATH/TO/scimkit-c-server [server args...]

Starts the server on 127.0.0.1 with an ephemeral port (loopback only), runs the
flow with bounded timeouts, stops the server (SIGTERM, then SIGKILL), and
prints "N passed, N failed". Exit status 0 only if everything passed and the
server stopped cleanly.
"""

import json
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

TOKEN = "e2e-secret-token"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

passed = 0
failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"FAILED: {what}", file=sys.stderr)


class Client:
    def __init__(self, base):
        self.base = base

    def call(self, method, path, body=None, token=TOKEN):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Content-Type", "application/scim+json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                raw = resp.read()
                status, headers = resp.status, resp.headers
        except urllib.error.HTTPError as e:
            raw = e.read()
            status, headers = e.code, e.headers
        doc = json.loads(raw) if raw else None
        return status, doc, headers


def start(argv):
    proc = subprocess.Popen(
        argv + ["--port", "0", "--token", f"{TOKEN}:contoso"],
        stdout=subprocess.PIPE,
        text=True,
    )
    line = ""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if "listening on 127.0.0.1:" in line or not line:
            break
    if "listening on 127.0.0.1:" not in line:
        proc.kill()
        proc.wait(timeout=10)
        raise SystemExit(f"server did not start (said {line!r})")
    port = int(line.rsplit(":", 1)[1])
    return proc, f"http://127.0.0.1:{port}/scim/v2"


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
        return None


def entra_flow(c):
    # Test connection: Entra queries a user that does not exist.
    st, doc, _ = c.call("GET", "/Users?filter=" + urllib.parse.quote('userName eq "probe-4d2e@contoso.com"'))
    check(st == 200 and doc["totalResults"] == 0, f"test connection: {st} {doc}")
    st, doc, headers = c.call("GET", "/Users", token=None)
    check(st == 401 and headers.get("WWW-Authenticate"), f"no token: {st}")
    st, doc, _ = c.call("GET", "/ServiceProviderConfig", token=None)
    check(st == 200 and doc["patch"]["supported"] is True, "ServiceProviderConfig")

    # Create.
    user = {
        "schemas": [USER, ENTERPRISE],
        "externalId": "9b2a7c1e-0c2f-4c4b-9b53-0b6b0f3c7d11",
        "userName": "Adele.Vance@contoso.com",
        "active": True,
        "displayName": "Adele Vance",
        "name": {"formatted": "Adele Vance", "givenName": "Adele", "familyName": "Vance"},
        "emails": [{"primary": True, "type": "work", "value": "Adele.Vance@contoso.com"}],
        ENTERPRISE: {"department": "Retail", "employeeNumber": "4711"},
    }
    st, doc, headers = c.call("POST", "/Users", user)
    check(st == 201 and doc["userName"] == "Adele.Vance@contoso.com", f"create user: {st} {doc}")
    check(headers.get("Location", "").endswith("/Users/" + doc["id"]), "Location header")
    uid = doc["id"]
    st, doc, _ = c.call("POST", "/Users", {"schemas": [USER], "userName": "Alex.Wilber@contoso.com"})
    check(st == 201, "create second user")
    uid2 = doc["id"]
    st, doc, _ = c.call("POST", "/Users", {"schemas": [USER], "userName": "adele.vance@CONTOSO.com"})
    check(st == 409 and doc.get("scimType") == "uniqueness", f"duplicate userName: {st} {doc}")

    # Filter by userName (Entra matches case-insensitively).
    st, doc, _ = c.call("GET", "/Users?filter=" + urllib.parse.quote('userName eq "adele.vance@contoso.com"'))
    check(st == 200 and doc["totalResults"] == 1 and doc["Resources"][0]["id"] == uid, f"filter: {doc}")

    # PATCH in Entra's dialect.
    ops = {
        "schemas": [PATCH],
        "Operations": [
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "adele@contoso.com"},
            {"op": "Add", "path": f"{ENTERPRISE}:department", "value": "Sales"},
            {"op": "Replace", "value": {"displayName": "Adele V."}},
        ],
    }
    st, doc, _ = c.call("PATCH", f"/Users/{uid}", ops)
    check(st == 200, f"patch user: {st} {doc}")
    if st == 200:
        check(doc["active"] is False, "active is false")
        check(doc["emails"][0]["value"] == "adele@contoso.com", "email replaced")
        check(doc[ENTERPRISE]["department"] == "Sales", "department")
        check(doc["displayName"] == "Adele V.", "displayName")

    # Groups: create, add members, remove one.
    st, doc, _ = c.call("POST", "/Groups", {"schemas": [GROUP], "displayName": "Retail", "externalId": "g-1"})
    check(st == 201, f"create group: {st}")
    gid = doc["id"]
    add = {"schemas": [PATCH], "Operations": [{"op": "Add", "path": "members", "value": [{"value": uid}, {"value": uid2}]}]}
    st, _, _ = c.call("PATCH", f"/Groups/{gid}", add)
    check(st in (200, 204), f"add members: {st}")
    st, doc, _ = c.call("GET", f"/Groups/{gid}")
    check(st == 200 and {m["value"] for m in doc.get("members", [])} == {uid, uid2}, f"members: {doc}")
    remove = {"schemas": [PATCH], "Operations": [{"op": "Remove", "path": f'members[value eq "{uid2}"]'}]}
    st, _, _ = c.call("PATCH", f"/Groups/{gid}", remove)
    check(st in (200, 204), f"remove member: {st}")
    st, doc, _ = c.call("GET", "/Groups?filter=" + urllib.parse.quote('displayName eq "Retail"'))
    check(st == 200 and doc["totalResults"] == 1, "group by displayName")
    st, doc, _ = c.call("GET", f"/Groups/{gid}")
    check([m["value"] for m in doc.get("members", [])] == [uid], f"members after remove: {doc}")

    # Delete: the user is gone, and gone from its group.
    st, _, _ = c.call("DELETE", f"/Users/{uid}")
    check(st == 204, f"delete user: {st}")
    st, _, _ = c.call("GET", f"/Users/{uid}")
    check(st == 404, "deleted user is 404")
    st, doc, _ = c.call("GET", f"/Groups/{gid}")
    check(st == 200 and not doc.get("members"), f"group after delete: {doc}")
    st, _, _ = c.call("DELETE", f"/Groups/{gid}")
    check(st == 204, "delete group")


def parallel_clients(c, threads=8, each=10):
    errors = []

    def work(t):
        for i in range(each):
            st, _, _ = c.call("POST", "/Users", {"schemas": [USER], "userName": f"par-{t}-{i}@contoso.com"})
            if st != 201:
                errors.append(st)

    ts = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=60)
    check(not errors, f"parallel creates: {errors[:5]}")
    st, doc, _ = c.call("GET", "/Users?count=0&filter=" + urllib.parse.quote('userName sw "par-"'))
    check(st == 200 and doc["totalResults"] == threads * each, f"parallel total: {doc}")


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    proc, base = start(sys.argv[1:])
    try:
        c = Client(base)
        entra_flow(c)
        parallel_clients(c)
    finally:
        code = stop(proc)
    check(code == 0, f"server stopped cleanly (exit {code})")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
