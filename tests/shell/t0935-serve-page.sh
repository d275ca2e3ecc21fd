#!/bin/bash
# Headless Chromium (Debian's) loads memprof serve's page while it records
# hold: the DOM it rendered has the process table with hold and its live
# heap, the caller tree (sites first, hold_touch's 8 MiB of pages) and the
# flame graph, an SVG with hold_touch in it.  A screenshot of the page is
# kept as the test's artifact, in $MEMPROF_BUILD/test-artifacts/.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/shell/live.sh"
need_bpf
need_cmd curl python3
need_test_pkgs chromium

serve_hold
for i in $(seq 50); do
	get /v1/pid | grep -q '"heap":1524288' && break
	sleep 0.2
done
# chromium PAGE ARGS...: headless, its own profile, the page's scripts given 10 s.
chromium_run()
{
	timeout 120 chromium --headless=new --no-sandbox --disable-gpu --no-first-run \
		--user-data-dir="$T/chromium" --disable-dev-shm-usage --virtual-time-budget=10000 \
		"$@" "http://127.0.0.1:$PORT/" 2>>"$T/chromium.log"
}
chromium_run --dump-dom >"$T/dom.html" || fail "chromium failed: $(tail -n 5 "$T/chromium.log")"
art=$BUILD/test-artifacts
mkdir -p "$art"
chromium_run --window-size=1280,2400 --screenshot="$art/t0935-serve-page.png" >/dev/null ||
	fail "chromium's screenshot failed: $(tail -n 5 "$T/chromium.log")"
python3 - "$T/dom.html" "$HOLD" <<'EOF2' || fail "the page did not render what serve serves"
import html.parser, re, sys

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}

class Page(html.parser.HTMLParser):
    """The text under the elements of ids procs, tree and flame; whether flame holds an svg."""
    def __init__(self):
        super().__init__()
        self.stack, self.text = [], {}
        self.svg_in_flame = False
    def ids(self):
        return [i for t, i in self.stack]
    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            return
        self.stack.append((tag, dict(attrs).get("id")))
        if tag == "svg" and "flame" in self.ids():
            self.svg_in_flame = True
    def handle_endtag(self, tag):
        for k in range(len(self.stack) - 1, -1, -1):
            if self.stack[k][0] == tag:
                del self.stack[k:]
                return
    def handle_data(self, d):
        for k in ("procs", "tree", "flame"):
            if k in self.ids():
                self.text[k] = self.text.get(k, "") + d

p = Page()
p.feed(open(sys.argv[1]).read())
procs, tree, flame = p.text.get("procs", ""), p.text.get("tree", ""), p.text.get("flame", "")
def need(ok, what):
    if not ok:
        sys.exit("%s\nprocs: %r\ntree: %r\nflame: %r" % (what, procs[:300], tree[:500], flame[:300]))
need(sys.argv[2] in procs and "hold" in procs, "no hold in the process table")
need("1.45 MiB" in procs, "hold's live heap (1.45 MiB) is not in the table")
need(re.search(r"\d+\.\d\d MiB\s+hold_touch", tree), "hold_touch is not in the caller tree")
need(p.svg_in_flame and "hold_touch" in flame, "no flame graph with hold_touch")
EOF2
grep -q 'recording: refreshed every 2 s' "$T/dom.html" || fail "the page does not say it is recording"
head -c 8 "$art/t0935-serve-page.png" | od -An -tx1 | grep -q '89 50 4e 47' || fail "no PNG screenshot"
[ "$(stat -c %s "$art/t0935-serve-page.png")" -gt 20000 ] || fail "the screenshot is blank"
hold_release
exit 0
