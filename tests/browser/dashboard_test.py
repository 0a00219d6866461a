#!/usr/bin/python3
"""The dashboard in a real browser (headless Chromium from Debian, driven by python3-selenium).

Starts a real steward-controller on loopback with a root, keys and a signed release made by the
real stewardctl, enrolls a fleet and checks it in through the real protocol (POST /v1/enroll,
POST /v1/checkin), then signs in through the page and checks what it renders against what the
fleet is: the counts in the fleet bars, pausing a rollout through the page's confirmation and
the API reporting it paused, a viewer refused by the API, sign-out, a wrong token, no token in
the address or in storage, the CSP header. Screenshots of each page go to the build directory.

With --bench N the store holds N nodes (written to the controller's SQLite store before it
starts) and the script prints how long a page of nodes takes from the API and how long the
fleet page takes to render in the browser, as BENCH lines (tools/bench.sh format).

    dashboard_test.py BIN_DIR OUT_DIR [--bench N]

Exit 77 (skipped) when Chromium, chromedriver or selenium are missing.
"""

import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    print("SKIP: python3-selenium is not installed (make deps)")
    sys.exit(77)

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
ADMIN = "admin-" + "a" * 58
VIEWER = "viewer-" + "b" * 57
ENROLL = "enroll-" + "c" * 57
WAIT_S = 15


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)
    print(f"ok: {what}")


def wait_until(fn, what, timeout=WAIT_S):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = fn()
            if last:
                print(f"ok: {what}")
                return last
        except Exception as e:  # the page may be between renders
            last = e
        time.sleep(0.05)
    raise Failure(f"timed out waiting for: {what} (last: {last!r})")


class Controller:
    """A steward-controller in a temp dir, stopped by stop() whatever happened."""

    def __init__(self, bin_dir, work):
        self.bin = bin_dir
        self.work = work
        self.proc = None
        self.url = ""
        self.log = os.path.join(work, "controller.log")
        w = lambda name, text: open(os.path.join(work, name), "w").write(text)
        for k in ("root1", "rel1"):
            self.ctl("key", "generate", "-p", f"{work}/{k}.pub", "-s", f"{work}/{k}.key",
                     "--no-password")
        self.ctl("root", "init", "--root-key", f"root1={work}/root1.pub", "--root-threshold", "1",
                 "--release-key", f"rel1={work}/rel1.pub", "--release-threshold", "1",
                 "--expires", "365d", "-o", f"{work}/root.json")
        self.ctl("sign", "-s", f"{work}/root1.key", "--label", "root1", f"{work}/root.json")
        w("admin-token", ADMIN + "\n")
        w("viewer-token", VIEWER + "\n")
        w("enroll-token", ENROLL + "\n")
        os.makedirs(f"{work}/blobs")
        w("controller.toml", f"""listen = "127.0.0.1:0"
store = "sqlite:{work}/controller.db"
root = "{work}/root.json"
admin_token_file = "{work}/admin-token"
viewer_token_file = "{work}/viewer-token"
enroll_token_file = "{work}/enroll-token"
blob_dir = "{work}/blobs"
checkin_interval = "60s"
[rollout]
halt_min_attempts = 1
""")

    def ctl(self, *args):
        env = dict(os.environ, STEWARD_CONTROLLER=self.url, STEWARD_TOKEN=ADMIN)
        r = subprocess.run([f"{self.bin}/stewardctl", *args], capture_output=True, text=True,
                           env=env, timeout=30)
        if r.returncode != 0:
            raise Failure(f"stewardctl {' '.join(args)}: {r.stderr}")
        return r.stdout

    def start(self):
        self.proc = subprocess.Popen(
            [f"{self.bin}/steward-controller", "serve", "--config", f"{self.work}/controller.toml"],
            stdout=subprocess.DEVNULL, stderr=open(self.log, "w"))
        line = wait_until(lambda: re.search(r"listening on .* public_url=(\S+)",
                                            open(self.log).read()), "the controller listens", 60)
        self.url = line.group(1)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def request(self, method, path, body=None, token=None, headers=None):
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def admin(self, method, path, body=None):
        status, _, raw = self.request(method, "/v1/admin/" + path, body, ADMIN)
        if status >= 300:
            raise Failure(f"{method} {path}: {status} {raw!r}")
        return json.loads(raw)

    def publish(self, version, sequence, expires="30d", channel="stable"):
        content = f"steward agent {version}\n".encode()
        sha = hashlib.sha256(content).hexdigest()
        open(f"{self.work}/blobs/{sha}", "wb").write(content)
        art = f"{self.work}/agent-{version}.bin"
        open(art, "wb").write(content)
        manifest = f"{self.work}/agent-{channel}-{version}.json"
        self.ctl("release", "create", "--component", "agent", "--channel", channel, "--version",
                 version, "--sequence", str(sequence), "--artifact", f"linux-x86_64={art}",
                 "--url", f"linux-x86_64={self.url}/v1/artifacts/{sha}", "--expires", expires,
                 "-o", manifest)
        self.ctl("sign", "-s", f"{self.work}/rel1.key", "--label", "rel1", manifest)
        self.ctl("release", "publish", manifest)


def enroll(c, hostname):
    status, _, raw = c.request("POST", "/v1/enroll", {
        "enroll_token": ENROLL, "hostname": hostname, "machine_id": "m-" + hostname,
        "platform": "linux-x86_64"})
    if status != 200:
        raise Failure(f"enroll {hostname}: {status} {raw!r}")
    return json.loads(raw)


def checkin(c, node, channel, version, state, update=None):
    component = {"name": "agent", "channel": channel, "running_version": version,
                 "installed_version": version, "state": state, "desired_state": "running",
                 "restarts": 1, "crash_loop": state == "crash_loop",
                 "last_exit": {"kind": "crash", "code": None, "signal": 11,
                               "at": "2026-01-02T03:04:05Z"}}
    if update:
        component["last_update"] = update
    report = {"node_id": node["node_id"], "updater": {"version": "0.9.1"},
              "components": [component],
              "host": {"os": "linux", "arch": "x86_64", "kernel": "6.1", "uptime_s": 100}}
    status, _, raw = c.request("POST", "/v1/checkin", report, node["node_token"])
    if status != 200:
        raise Failure(f"check-in: {status} {raw!r}")


# The fleet: hostname, channel, running version, state, last update. api-1 committed the stable
# rollout's 1.1.0; beta-1 rolled back from beta's 1.1.0, which halts that rollout (one attempt
# is enough here). One more node enrolls and never checks in.
COMMITTED = {"from": "1.0.0", "to": "1.1.0", "result": "committed"}
ROLLED_BACK = {"from": "1.0.0", "to": "1.1.0", "result": "rolled_back",
               "error_code": "health_gate_failed", "error": "crash loop inside the grace period"}
FLEET = [("web-1", "stable", "1.0.0", "running", None),
         ("web-2", "stable", "1.0.0", "running", None),
         ("web-3", "stable", "1.0.0", "stopped", None),
         ("api-1", "stable", "1.1.0", "running", COMMITTED),
         ("api-2", "stable", "1.1.0", "crash_loop", None),
         ("beta-1", "beta", "1.0.0", "running", ROLLED_BACK)]


def browser(profile):
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
              "--no-first-run", "--disable-extensions", "--window-size=1280,900",
              f"--user-data-dir={profile}"):
        opts.add_argument(a)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)


def sign_in(d, url, token):
    d.get(url + "/ui/")
    field = WebDriverWait(d, WAIT_S).until(EC.visibility_of_element_located((By.ID, "token")))
    field.send_keys(token)
    d.find_element(By.CSS_SELECTOR, "#sign-in button[type=submit]").click()


def counts(d, group, kind):
    out = {}
    for row in d.find_elements(By.CSS_SELECTOR, f'[data-group="{group}"] table.{kind} tbody tr'):
        key = row.get_attribute("data-version" if kind == "versions" else "data-state")
        out[key] = int(row.find_element(By.CSS_SELECTOR, "td[data-count]").text)
    return out


def rollout_row(d, channel="stable"):
    return d.find_element(By.CSS_SELECTOR, f'[data-rollout="agent/{channel}"]')





def confirm_click(d, button_class):
    rollout_row(d).find_element(By.CSS_SELECTOR, f"button.{button_class}").click()
    WebDriverWait(d, WAIT_S).until(EC.visibility_of_element_located((By.ID, "confirm-ok")))
    d.find_element(By.ID, "confirm-ok").click()


def session_cookie(d):
    for ck in d.get_cookies():
        if ck["name"] == "steward_session":
            return ck
    return None


def no_token_anywhere(d, token):
    storage = d.execute_script(
        "return JSON.stringify(Object.assign({}, localStorage)) + JSON.stringify("
        "Object.assign({}, sessionStorage))")
    check(token not in d.current_url and "token" not in d.current_url,
          "the address holds no token")
    check(token not in storage and storage == "{}{}", "localStorage and sessionStorage are empty")
    check("steward_session" not in d.execute_script("return document.cookie"),
          "the page's script cannot read the session cookie (HttpOnly)")


def stable(c):
    return [r for r in c.admin("GET", "rollouts")["rollouts"] if r["channel"] == "stable"][0]


def run_checks(c, d, shots, nodes):
    # Headers of the page itself.
    status, headers, _ = c.request("GET", "/ui/")
    csp = headers.get("Content-Security-Policy", "")
    check(status == 200 and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
          and "unsafe-inline" not in csp, "the page comes with a strict Content-Security-Policy")
    check(headers.get("X-Content-Type-Options") == "nosniff", "nosniff")
    check(headers.get("Referrer-Policy") == "no-referrer", "no-referrer")

    # A wrong token is refused and leaves no session.
    sign_in(d, c.url, "not-the-token-" + "x" * 40)
    wait_until(lambda: "not valid" in d.find_element(By.ID, "message").text,
               "a wrong token is refused on the page")
    check(session_cookie(d) is None and d.find_element(By.ID, "nav").get_attribute("hidden"),
          "no session after a wrong token")

    # The admin sees the fleet as it is.
    sign_in(d, c.url, ADMIN)
    wait_until(lambda: d.find_elements(By.CSS_SELECTOR, '[data-group="agent/stable"]'),
               "the fleet page shows agent on stable")
    check(counts(d, "agent/stable", "versions") == {"1.0.0": 3, "1.1.0": 2},
          "the stable bar counts 3 nodes on 1.0.0 and 2 on 1.1.0")
    check(counts(d, "agent/stable", "states") == {"running": 3, "stopped": 1, "crash_loop": 1},
          "the states: 3 running, 1 stopped, 1 crash loop")
    check(counts(d, "agent/beta", "versions") == {"1.0.0": 1}, "beta: 1 node on 1.0.0")
    segs = d.find_elements(By.CSS_SELECTOR, '[data-group="agent/stable"] .bar .seg')
    check([s.text for s in segs] == ["1.0.0 (3)", "1.1.0 (2)"], "the bar's segments are labelled")
    w = [s.size["width"] for s in segs]
    check(w[0] > w[1], f"the bar's 1.0.0 segment is the wider ({w})")
    beta = d.find_element(By.CSS_SELECTOR, '[data-group="agent/beta"] .rollout').text
    check(beta.startswith("Rollout to 1.1.0 at 100 %: Halted automatically"),
          f"the fleet page shows the beta rollout halted ({beta!r})")
    summary = d.find_element(By.ID, "fleet-summary").text
    check("7 nodes" in summary and "silent: 1" in summary,
          f"the summary shows 7 nodes, one silent ({summary!r})")
    no_token_anywhere(d, ADMIN)
    d.save_screenshot(f"{shots}/fleet.png")

    # Pause and resume through the page; the API reports each.
    d.get(c.url + "/ui/#/rollouts")
    wait_until(lambda: rollout_row(d), "the rollouts page lists agent/stable")
    check("50 %" in rollout_row(d).text, "the rollout shows its percent")
    check("1 rolled back of 1 attempts" in rollout_row(d, "beta").text
          and "Halted automatically: 1 of 1 nodes" in rollout_row(d, "beta").text,
          f"the beta rollout shows its halt and why ({rollout_row(d, 'beta').text!r})")
    confirm_click(d, "pause")
    wait_until(lambda: rollout_row(d).get_attribute("data-paused") == "true",
               "the page shows the rollout paused")
    check(stable(c)["paused"] is True,
          "the API reports the rollout paused")
    d.save_screenshot(f"{shots}/rollouts.png")
    confirm_click(d, "resume")
    wait_until(lambda: rollout_row(d).get_attribute("data-paused") == "false",
               "the page shows the rollout resumed")
    check(stable(c)["paused"] is False,
          "the API reports the rollout resumed")
    # Cancelling the confirmation changes nothing.
    rollout_row(d).find_element(By.CSS_SELECTOR, "button.pause").click()
    WebDriverWait(d, WAIT_S).until(EC.visibility_of_element_located((By.ID, "confirm-cancel")))
    d.find_element(By.ID, "confirm-cancel").click()
    time.sleep(0.3)  # a change, were one sent, would be in by now
    check(stable(c)["paused"] is False,
          "cancelling the confirmation sends nothing")

    # Set percent through the page.
    box = rollout_row(d).find_element(By.CSS_SELECTOR, "input.percent")
    box.clear()
    box.send_keys("60")
    confirm_click(d, "set-percent")
    wait_until(lambda: "60 %" in rollout_row(d).text, "the page shows the new percent")
    check(stable(c)["percent"] == 60, "the API reports the rollout at 60 %")

    # A halt shows up on the open page by itself: web-3 reports a rollback from 1.1.0, which
    # with api-1's commit is 1 of 2 attempts, over the 5 % limit.
    checkin(c, nodes["web-3"], "stable", "1.0.0", "stopped", ROLLED_BACK)
    check(stable(c)["halt_reason"] != "", "the check-in halted the stable rollout")
    wait_until(lambda: "Halted automatically: 1 of 2 nodes" in rollout_row(d).text,
               "the open rollouts page shows the halt without a reload", 10)

    # Releases, with the one about to expire flagged in words.
    d.get(c.url + "/ui/#/releases")
    row = lambda v: d.find_element(By.CSS_SELECTOR, f'[data-release="agent/stable/{v}"]')
    wait_until(lambda: row("1.1.0"), "the releases page lists agent/stable 1.1.0")
    check("expires in 29 days" in row("1.1.0").text and "publish" not in row("1.1.0").text,
          f"1.1.0 expires in 29 days ({row('1.1.0').text!r})")
    check("expires in 2 days: publish a newly signed release" in row("1.2.0").text,
          f"1.2.0, expiring in 3 days, is flagged ({row('1.2.0').text!r})")
    d.save_screenshot(f"{shots}/releases.png")

    # Without the CSRF token the session cannot change anything.
    cookie = f"steward_session={session_cookie(d)['value']}"
    status, _, _ = c.request("PUT", "/v1/admin/rollouts/agent/stable", {"paused": True},
                             headers={"Cookie": cookie})
    check(status == 403, "a change with the session cookie but no CSRF token is refused (403)")

    # Nodes: filtered on the server; a row opens its node.
    d.get(c.url + "/ui/#/nodes?version=1.1.0")
    wait_until(lambda: len(d.find_elements(By.CSS_SELECTOR, "#nodes tbody tr")) == 2,
               "filtering the nodes by version 1.1.0 lists 2")
    d.save_screenshot(f"{shots}/nodes.png")
    d.find_element(By.LINK_TEXT, "api-2").click()
    wait_until(lambda: d.find_element(By.ID, "node-hostname").text == "api-2",
               "a row opens its node")
    page = d.find_element(By.ID, "page").text
    check("0.9.1" in page and "crash, signal 11" in page and "(crash loop)" in page,
          "the node page shows its updater version, last exit and crash loop")
    d.get(c.url + "/ui/#/nodes?hostname=BETA")
    wait_until(lambda: len(d.find_elements(By.CSS_SELECTOR, "#nodes tbody tr")) == 1,
               "filtering by hostname ignores case")
    d.find_element(By.LINK_TEXT, "beta-1").click()
    wait_until(lambda: d.find_element(By.ID, "node-hostname").text == "beta-1", "beta-1 opens")
    history = wait_until(lambda: d.find_element(By.CSS_SELECTOR, "#updates tbody tr").text,
                         "beta-1 shows its update history")
    check("1.0.0 1.1.0 rolled back health_gate_failed" in history,
          f"the history shows the rollback and its code ({history!r})")
    d.save_screenshot(f"{shots}/node.png")

    # A phone-width screen: the fleet page fits without scrolling sideways.
    d.set_window_size(390, 844)
    d.get(c.url + "/ui/#/fleet")
    wait_until(lambda: counts(d, "agent/stable", "versions") == {"1.0.0": 3, "1.1.0": 2},
               "the fleet page renders at phone width")
    widths = d.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    check(widths[0] <= widths[1], f"nothing overflows sideways at phone width ({widths})")
    d.save_screenshot(f"{shots}/fleet-phone.png")
    d.set_window_size(1280, 900)

    # Sign out: the page and the API forget the session.
    d.find_element(By.ID, "sign-out").click()
    wait_until(lambda: d.find_element(By.ID, "token").is_displayed(), "sign-out shows sign-in")
    check(session_cookie(d) is None, "sign-out removes the cookie")
    status, _, _ = c.request("GET", "/v1/admin/fleet", headers={"Cookie": cookie})
    check(status == 401, "the signed-out session no longer opens the API")

    # A viewer sees the rollouts, but its change is refused by the API.
    sign_in(d, c.url, VIEWER)
    wait_until(lambda: d.find_elements(By.CSS_SELECTOR, '[data-group="agent/stable"]'),
               "a viewer sees the fleet")
    check("viewer" in d.find_element(By.ID, "role").text, "the page says the role is viewer")
    d.get(c.url + "/ui/#/rollouts")
    wait_until(lambda: rollout_row(d), "a viewer sees the rollouts")
    box = rollout_row(d).find_element(By.CSS_SELECTOR, "input.percent")
    box.clear()
    box.send_keys("70")
    confirm_click(d, "set-percent")
    wait_until(lambda: "refused" in d.find_element(By.ID, "message").text,
               "the viewer's change of percent is refused on the page")
    check(stable(c)["percent"] == 60, "the API did not change the rollout for the viewer")
    d.execute_script("document.getElementById('message').textContent = ''")
    confirm_click(d, "resume")
    wait_until(lambda: "a viewer session can only read" in d.find_element(By.ID, "message").text,
               "the viewer's resume is refused, and the page says why")
    check(stable(c)["paused"] is True, "the API did not resume the rollout for the viewer")
    no_token_anywhere(d, VIEWER)


def bench(c, d, n):
    """Fills the store with n nodes, restarts, and times the node pages and the fleet page."""
    c.stop()
    db = sqlite3.connect(f"{c.work}/controller.db")
    rows = []
    now = int(time.time())
    for i in range(n):
        version = ("1.0.0", "1.1.0", "1.2.0")[i % 3]
        report = json.dumps({"node_id": f"n-b{i:08d}", "components": [
            {"name": "agent", "channel": "stable" if i % 10 else "beta",
             "running_version": version, "state": "crash_loop" if i % 97 == 0 else "running"}]})
        rows.append((f"n-b{i:08d}", f"{i:064x}", f"host-{i}", f"m-{i}", "linux-x86_64", now,
                     now - (i % 7) * 60, report))
    with db:
        db.executemany("INSERT INTO nodes VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    db.close()
    t0 = time.monotonic()
    c.start()
    print(f"BENCH\tcontroller start with {n} nodes (s)\t{time.monotonic() - t0:.2f}\t\t\t")

    def timed(path, reps=20):
        best = []
        for _ in range(reps):
            t = time.perf_counter()
            status, _, raw = c.request("GET", path, token=ADMIN)
            best.append(time.perf_counter() - t)
            if status != 200:
                raise Failure(f"{path}: {status}")
        best.sort()
        return best[len(best) // 2] * 1000, json.loads(raw)

    for label, path in (
            ("first page of 50", "/v1/admin/nodes?limit=50"),
            ("page of 50 deep in the fleet", f"/v1/admin/nodes?limit=50&after=n-b{n // 2:08d}"),
            ("page of 50 filtered by version", "/v1/admin/nodes?limit=50&version=1.2.0"),
            ("page of 50 filtered by hostname", "/v1/admin/nodes?limit=50&hostname=host-9999"),
            ("rare state, whole fleet scanned", "/v1/admin/nodes?limit=50&state=none"),
            ("rollouts (reach computed over the fleet)", "/v1/admin/rollouts"),
            ("fleet overview", "/v1/admin/fleet")):
        ms, body = timed(path)
        print(f"BENCH\tadmin API at {n} nodes: {label} (ms, median)\t{ms:.1f}\t\t\t")
    check(body["nodes"] >= n, f"the fleet view counts {body['nodes']} nodes")

    sign_in(d, c.url, ADMIN)
    wait_until(lambda: d.find_elements(By.CSS_SELECTOR, '[data-group="agent/stable"]'),
               "the fleet page renders")
    times = []
    for _ in range(5):
        d.get(c.url + "/ui/#/nodes")  # leave the fleet page
        wait_until(lambda: d.find_elements(By.CSS_SELECTOR, "#nodes tbody tr"), "nodes page")
        t = time.perf_counter()
        d.get(c.url + "/ui/#/fleet")
        d.refresh()
        wait_until(lambda: d.find_elements(By.CSS_SELECTOR, '[data-group="agent/stable"]'),
                   "the fleet page renders")
        times.append(time.perf_counter() - t)
    times.sort()
    ms = times[len(times) // 2] * 1000
    print(f"BENCH\tfleet page load in the browser at {n} nodes (ms, median of 5)\t{ms:.0f}\t\t\t< 1000")
    stable = counts(d, "agent/stable", "versions")
    check(sum(stable.values()) == n - n // 10 + 5, f"the fleet page counts every node ({stable})")
    # A goal, not a test: the figure is reported (and "not met" said) but never fails the run.
    if ms >= 1000:
        print(f"goal not met: the fleet page took {ms:.0f} ms at {n} nodes (goal < 1000)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--bench", type=int, default=0)
    args = ap.parse_args()
    if not CHROMIUM or not CHROMEDRIVER:
        print("SKIP: chromium and chromium-driver are not installed (make deps)")
        return 77
    shots = os.path.join(args.out_dir, "dashboard-screenshots")
    os.makedirs(shots, exist_ok=True)
    work = tempfile.mkdtemp(prefix="steward-dashboard-")
    c = Controller(os.path.abspath(args.bin_dir), work)
    d = None
    started = time.monotonic()
    try:
        c.start()
        c.publish("1.1.0", 1)
        c.publish("1.2.0", 2, "3d")
        # Immediate rollouts (no waves): the fabricated reports below count as they are, so
        # the halts the page must show come from the simple rate rule (halt_min_attempts = 1).
        c.ctl("rollout", "set", "--component", "agent", "--channel", "stable", "--version",
              "1.1.0", "--percent", "50", "--immediate")
        c.publish("1.1.0", 1, channel="beta")
        c.ctl("rollout", "set", "--component", "agent", "--channel", "beta", "--version",
              "1.1.0", "--percent", "100", "--immediate")
        nodes = {}
        for host, channel, version, state, update in FLEET:
            nodes[host] = enroll(c, host)
            checkin(c, nodes[host], channel, version, state, update)
        enroll(c, "never-1")  # enrolled, never checked in: silent
        d = browser(os.path.join(work, "profile"))
        if args.bench:
            bench(c, d, args.bench)
        else:
            run_checks(c, d, shots, nodes)
        print(f"PASS in {time.monotonic() - started:.1f} s; screenshots in {shots}")
        return 0
    except Failure as e:
        print(f"FAIL: {e}")
        if d:
            d.save_screenshot(os.path.join(shots, "failure.png"))
            print("page text:", d.find_element(By.TAG_NAME, "body").text[:2000])
        print("controller log tail:\n" + open(c.log).read()[-3000:] if os.path.exists(c.log) else "")
        return 1
    finally:
        if d:
            d.quit()
        c.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
