"""The admin page in a real headless browser (Debian's chromium + chromedriver,
driven by Selenium), against a running `scimkit serve`.

Usage: python browser_test.py BASE_URL TOKEN PASSWORD SCREENSHOT_DIR

BASE_URL is the server's root (http://127.0.0.1:PORT), TOKEN a SCIM bearer
token of tenant "contoso" (configured with deletion = "review"), PASSWORD the
admin password. SCIM requests are sent the way Entra ID sends them (urllib, on
loopback). Every wait is bounded. Saves a PNG of each step and prints
"N passed, N failed"; exits 1 on any failure.
"""

import hashlib
import json
import os
import sys
import tempfile
import traceback
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

WAIT = 15  # seconds, for any element or page
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def scim(base, token, method, path, body=None):
    """One SCIM request; returns (status, parsed body or None)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        f"{base}/scim/v2{path}",
        data=data,
        method=method,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/scim+json",
            "Accept": "application/scim+json",
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=WAIT) as r:
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, (json.loads(raw) if raw else None)


def browser(profile):
    opts = webdriver.ChromeOptions()
    opts.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for flag in [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--window-size=1280,1000",
    ]:
        opts.add_argument(flag)
    # The driver path is given: Selenium Manager (which downloads) never runs.
    service = Service(executable_path=os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    driver = webdriver.Chrome(service=service, options=opts)
    driver.set_page_load_timeout(WAIT)
    driver.set_script_timeout(WAIT)
    return driver


class Run:
    def __init__(self, base, token, password, shots):
        self.base, self.token, self.password, self.shots = base, token, password, shots
        self.passed, self.failed = 0, 0
        self.n = 0

    def shot(self, d, name):
        self.n += 1
        path = os.path.join(self.shots, f"{self.n:02d}-{name}.png")
        # The whole page, not just the window.
        height = d.execute_script("return document.documentElement.scrollHeight")
        d.set_window_size(1280, max(800, min(int(height) + 40, 4000)))
        d.save_screenshot(path)
        d.set_window_size(1280, 1000)
        print(f"    screenshot {path}")

    def step(self, name, fn, d):
        print(f"--- {name}")
        try:
            fn(d)
            self.passed += 1
            print("    ok")
        except Exception:  # noqa: BLE001 — report and go on to the next step
            self.failed += 1
            traceback.print_exc()
            try:
                self.shot(d, "FAILED-" + name.replace(" ", "-"))
            except Exception:  # noqa: BLE001
                pass

    def wait(self, d):
        return WebDriverWait(d, WAIT)

    def open(self, d, path):
        d.get(self.base + path)

    # ----- the steps

    def login(self, d):
        self.open(d, "/admin")
        self.wait(d).until(EC.url_contains("/admin/login"))
        self.shot(d, "login")
        d.find_element(By.NAME, "password").send_keys("wrong password")
        d.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        self.wait(d).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".error"), "Wrong password"))
        assert not d.get_cookies(), "a failed login sets no cookie"
        d.find_element(By.NAME, "password").send_keys(self.password)
        d.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        self.wait(d).until(EC.presence_of_element_located((By.LINK_TEXT, "Provisioning log")))
        cookie = d.get_cookie("scimkit_admin")
        assert cookie and cookie["httpOnly"] and cookie["sameSite"] == "Strict", cookie
        self.shot(d, "overview-empty")

    def provisioned_user_in_log(self, d):
        status, body = scim(self.base, self.token, "GET", '/Users?filter=userName%20eq%20%22alice%40contoso.com%22')
        assert status == 200 and body["totalResults"] == 0, (status, body)
        status, body = scim(self.base, self.token, "POST", "/Users", {
            "schemas": [USER, ENTERPRISE],
            "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
            "userName": "alice@contoso.com",
            "active": True,
            "displayName": "Alice Smith",
            "name": {"givenName": "Alice", "familyName": "Smith"},
            "emails": [{"type": "work", "primary": True, "value": "alice@contoso.com"}],
            ENTERPRISE: {"department": "Finance"},
        })
        assert status == 201, (status, body)
        self.alice = body["id"]
        status, _ = scim(self.base, self.token, "PATCH", f"/Users/{self.alice}", {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Replace", "path": "title", "value": "Accountant"}],
        })
        assert status in (200, 204), status
        self.open(d, "/admin/log?tenant=contoso")
        table = self.wait(d).until(EC.presence_of_element_located((By.ID, "log")))
        rows = table.find_elements(By.CSS_SELECTOR, "tbody tr")
        texts = [r.text for r in rows]
        assert any("alice@contoso.com" in t and "201" in t for t in texts), texts
        assert any("PATCH" in t and ("200" in t or "204" in t) for t in texts), texts
        self.shot(d, "log-provisioned-user")
        d.find_element(By.LINK_TEXT, "alice@contoso.com").click()
        self.wait(d).until(EC.text_to_be_present_in_element((By.TAG_NAME, "h1"), "alice@contoso.com"))
        assert "Provisioning history" in d.page_source
        self.shot(d, "user-history")

    def approve_queued_deletion(self, d):
        status, _ = scim(self.base, self.token, "DELETE", f"/Users/{self.alice}")
        assert status == 204, status
        status, _ = scim(self.base, self.token, "GET", f"/Users/{self.alice}")
        assert status == 404, status
        d.find_element(By.LINK_TEXT, "Review queue").click()
        row = self.wait(d).until(EC.presence_of_element_located((By.ID, f"hidden-{self.alice}")))
        assert "alice@contoso.com" in row.text, row.text
        self.shot(d, "review-queue")
        row.find_element(By.XPATH, ".//button[normalize-space()='Approve deletion']").click()
        self.wait(d).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".flash"), "Deletion approved"))
        assert not d.find_elements(By.ID, f"hidden-{self.alice}")
        self.shot(d, "review-approved")

    def revoke_token_and_see_401(self, d):
        d.find_element(By.LINK_TEXT, "Tenants & tokens").click()
        token_id = self.token_id
        row = self.wait(d).until(EC.presence_of_element_located((By.ID, f"token-{token_id}")))
        assert "active" in row.text, row.text
        self.shot(d, "tokens-before-revoke")
        row.find_element(By.XPATH, ".//button[normalize-space()='Revoke']").click()
        self.wait(d).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".flash"), "Token revoked"))
        row = d.find_element(By.ID, f"token-{token_id}")
        assert "active" not in row.text, row.text
        # Entra's next request with the revoked token.
        status, body = scim(self.base, self.token, "GET", "/Users?filter=userName%20eq%20%22bob%40contoso.com%22")
        assert status == 401, (status, body)
        self.open(d, "/admin/log?tenant=contoso&outcome=failure")
        table = self.wait(d).until(EC.presence_of_element_located((By.ID, "log")))
        statuses = [c.text for c in table.find_elements(By.CSS_SELECTOR, "td.status")]
        assert "401" in statuses, statuses
        assert "token revoked" in table.text, table.text
        self.shot(d, "log-401-after-revoke")

    def create_token_shown_once(self, d):
        self.open(d, "/admin/tokens")
        self.wait(d).until(EC.presence_of_element_located((By.ID, "create-token")))
        d.find_element(By.ID, "token-label").send_keys("Entra <staging>")
        d.find_element(By.ID, "create-token").click()
        secret = self.wait(d).until(EC.presence_of_element_located((By.ID, "token-secret"))).text
        assert secret.startswith("scimkit_"), secret
        status, _ = scim(self.base, secret, "GET", "/Users")
        assert status == 200, status
        self.shot(d, "token-created")
        self.open(d, "/admin/tokens")
        assert secret not in d.page_source, "shown only once"

    def policies_and_overview(self, d):
        self.open(d, "/admin/tenants/contoso")
        sel = self.wait(d).until(EC.presence_of_element_located((By.ID, "deletion")))
        assert sel.get_attribute("value") == "review", sel.get_attribute("value")
        self.shot(d, "tenant-policies")
        d.find_element(By.CSS_SELECTOR, "#deletion option[value=soft]").click()
        d.find_element(By.CSS_SELECTOR, "#policies button[type=submit]").click()
        self.wait(d).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".flash"), "Policies saved"))
        assert d.find_element(By.ID, "deletion").get_attribute("value") == "soft"
        self.open(d, "/admin")
        self.wait(d).until(EC.presence_of_element_located((By.CSS_SELECTOR, "svg")))
        assert "contoso" in d.page_source
        self.shot(d, "overview")

    def logout(self, d):
        d.find_element(By.XPATH, "//button[normalize-space()='Log out']").click()
        self.wait(d).until(EC.url_contains("/admin/login"))
        self.open(d, "/admin/review")
        self.wait(d).until(EC.url_contains("/admin/login"))


def main():
    base, token, password, shots = sys.argv[1:5]
    os.makedirs(shots, exist_ok=True)
    for f in os.listdir(shots):
        if f.endswith(".png"):
            os.remove(os.path.join(shots, f))
    run = Run(base.rstrip("/"), token, password, shots)
    # The token's public id: the first 8 hex digits of its SHA-256.
    run.token_id = hashlib.sha256(token.encode()).hexdigest()[:8]
    run.alice = None
    with tempfile.TemporaryDirectory(prefix="scimkit-chromium-") as profile:
        d = browser(profile)
        try:
            run.step("log in", run.login, d)
            run.step("a provisioned user appears in the log", run.provisioned_user_in_log, d)
            run.step("approve a queued deletion", run.approve_queued_deletion, d)
            run.step("revoke a token, the next SCIM request is 401 in the log", run.revoke_token_and_see_401, d)
            run.step("create a token, shown once", run.create_token_shown_once, d)
            run.step("edit policies, overview chart", run.policies_and_overview, d)
            run.step("log out", run.logout, d)
        finally:
            d.quit()
    print(f"admin: {run.passed} passed, {run.failed} failed")
    return 1 if run.failed else 0


if __name__ == "__main__":
    sys.exit(main())
