"""Run the scim2-tester checks against a live SCIM server.

Usage: python scim2_tester_run.py TENANT_URL TOKEN

Prints one line per check and a summary. Exits 1 when a check reports ERROR or
CRITICAL (a MUST of RFC 7643/7644 violated) that is not listed in
KNOWN_FAILURES, or when a listed known failure no longer occurs (then the list
is stale: remove the entry). DEVIATION (a SHOULD not followed) is reported but
does not fail the run.
"""

import sys

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

FAILING = {Status.ERROR, Status.CRITICAL}

# (resource type, check title, text in the reason) -> why it fails. Each entry
# is a real defect waiting for a fix, not a disagreement with the check (those
# are documented in the README, "Conformance").
KNOWN_FAILURES: dict = {}


def known(result) -> str | None:
    for (rtype, title, text), why in KNOWN_FAILURES.items():
        if result.resource_type == rtype and result.title == title and text in (result.reason or ""):
            return why
    return None


def main() -> int:
    url, token = sys.argv[1], sys.argv[2]
    http = httpx2.Client(
        base_url=url,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    results = check_server(SyncSCIMClient(http))
    counts: dict[str, int] = {}
    unexpected, expected, seen = [], [], set()
    for r in results:
        counts[r.status.name] = counts.get(r.status.name, 0) + 1
        where = f"[{r.resource_type}] " if r.resource_type else ""
        line = f"{r.status.name:<10} {where}{r.title}"
        if r.status not in {Status.SUCCESS, Status.COMPLIANT, Status.SKIPPED}:
            line += f": {r.reason}"
        print(line)
        if r.status in FAILING:
            why = known(r)
            if why is None:
                unexpected.append(r)
            else:
                expected.append((r, why))
                seen.add(why)
    stale = sorted(set(KNOWN_FAILURES.values()) - seen)
    skipped = counts.get("SKIPPED", 0)
    failed = len(unexpected) + len(expected)
    passed = len(results) - failed - skipped
    print()
    print("scim2-tester statuses: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    for r, why in expected:
        print(f"KNOWN FAILURE [{r.resource_type}] {r.title}: {why}")
    for why in stale:
        print(f"STALE KNOWN FAILURE (it passes now: remove it from KNOWN_FAILURES): {why}")
    for r in unexpected:
        print(f"FAILURE [{r.resource_type}] {r.title}: {r.reason}")
    print(
        f"scim2-tester: {passed} passed, {failed} failed, {skipped} skipped "
        f"({len(expected)} failures known, {len(unexpected)} unexpected)"
    )
    return 1 if unexpected or stale or not results else 0


if __name__ == "__main__":
    sys.exit(main())
