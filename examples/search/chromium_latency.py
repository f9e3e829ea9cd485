#!/usr/bin/env python3
"""Search latency and bytes in headless Chromium, on a fresh page load per query.

    python3 examples/search/chromium_latency.py PUBLIC_DIR QUERY...

Serves PUBLIC_DIR on 127.0.0.1 (Python's static server), drives Debian's chromium
through chromedriver (W3C WebDriver over plain HTTP), and for each query loads the
site's home page anew (empty cache), imports /_search/search.js and times
`search(query)`. Bytes are the decoded (uncompressed) sizes the browser reports in
Resource Timing for search.js and every index file it fetched.
"""

import functools
import http.server
import json
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.load(r)


QUERY_JS = """
const [query, done] = arguments;
performance.clearResourceTimings();
performance.setResourceTimingBufferSize(10000);
const t0 = performance.now();
import('/_search/search.js')
  .then((m) => m.search(query))
  .then((results) => {
    const ms = performance.now() - t0;
    const files = performance.getEntriesByType('resource')
      .filter((e) => new URL(e.name).pathname.startsWith('/_search/'));
    done({ ms, results: results.length,
           bytes: files.reduce((n, e) => n + e.decodedBodySize, 0),
           files: files.length });
  }, (e) => done({ error: String(e) }));
"""


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    public, queries = sys.argv[1], sys.argv[2:]
    handler = functools.partial(QuietHandler, directory=public)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    site = f"http://127.0.0.1:{server.server_address[1]}"

    port = free_port()
    driver = subprocess.Popen([shutil.which("chromedriver"), f"--port={port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    profile = tempfile.mkdtemp()
    caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
        "binary": shutil.which("chromium"),
        "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", f"--user-data-dir={profile}"]}}}}
    for _ in range(100):
        try:
            session = call(base, "POST", "/session", caps)["value"]["sessionId"]
            break
        except OSError:
            time.sleep(0.1)
    else:
        sys.exit("chromedriver did not start")
    s = f"/session/{session}"
    call(base, "POST", s + "/timeouts", {"script": 60000})
    rows = []
    try:
        for q in queries:
            # A fresh page with an empty cache: nothing of the index is reused.
            call(base, "POST", s + "/url", {"url": "about:blank"})
            call(base, "POST", "/session/%s/goog/cdp/execute" % session,
                 {"cmd": "Network.clearBrowserCache", "params": {}})
            call(base, "POST", s + "/url", {"url": site + "/"})
            r = call(base, "POST", s + "/execute/async", {"script": QUERY_JS, "args": [q]})["value"]
            if "error" in r:
                sys.exit(f"{q}: {r['error']}")
            rows.append(r)
            print(f"{q}\t{r['results']} results\t{r['ms']:.0f} ms\t{r['bytes'] / 1024:.1f} KB\t{r['files']} files")
    finally:
        try:
            call(base, "DELETE", s)
        except OSError:
            pass
        driver.kill()
        server.shutdown()
    ms = [r["ms"] for r in rows]
    kb = [r["bytes"] / 1024 for r in rows]
    print(f"latency ms: median {statistics.median(ms):.0f}, max {max(ms):.0f}; "
          f"KB per query: mean {statistics.mean(kb):.1f}, median {statistics.median(kb):.1f}, max {max(kb):.1f}")


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


if __name__ == "__main__":
    main()
