#!/usr/bin/env bash
# Import benchmark: a Hatena-Blog-style export made from the livedoor news corpus
# (7,367 articles; read its licence, never commit it), imported into a fresh site,
# imported again (nothing may change), then built offline. Prints wall times.
# usage: examples/bench_import.sh PATH/TO/enishi PATH/TO/corpus/ldcc [WORK_DIR]
set -eu
bin=$(readlink -f "$1"); corpus=$(readlink -f "$2")
work=${3:-$(mktemp -d)}
mkdir -p "$work"; work=$(readlink -f "$work")
python3 - "$corpus" "$work/export.txt" <<'PY'
import os, sys, html, datetime
corpus, out = sys.argv[1], sys.argv[2]
n = 0
seen = set()
with open(out, "w", encoding="utf-8") as f:
    for cat in sorted(os.listdir(corpus)):
        d = os.path.join(corpus, cat)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            if name == "LICENSE.txt":
                continue
            lines = open(os.path.join(d, name), encoding="utf-8").read().split("\n")
            date = datetime.datetime.strptime(lines[1][:19], "%Y-%m-%dT%H:%M:%S")
            while date in seen:  # Hatena's basenames are unique: one entry per second
                date += datetime.timedelta(seconds=1)
            seen.add(date)
            paras = [p for p in "\n".join(lines[3:]).split("\n\n") if p.strip()]
            body = "".join("<p>%s</p>\n" % html.escape(p.strip()).replace("\n", "<br />\n") for p in paras)
            if n % 10 == 0:
                body += '<pre class="code lang-ruby" data-lang="ruby" data-unlink><span class="synPreProc">puts</span> <span class="synConstant">&quot;%d&quot;</span></pre>\n' % n
            if n % 7 == 0:
                body = body.replace("</p>", '<a href="#f-%x" name="fn-%x" title="注">*1</a></p>' % (n, n), 1)
                body += '<div class="footnote"><p class="footnote"><a href="#fn-%x" name="f-%x" class="footnote-number">*1</a><span class="footnote-delimiter">:</span><span class="footnote-text">注</span></p></div>\n' % (n, n)
            f.write("AUTHOR: bench\nTITLE: %s\nBASENAME: %s\nSTATUS: Publish\nALLOW COMMENTS: 1\nCONVERT BREAKS: 0\nDATE: %s\nCATEGORY: %s\n-----\nBODY:\n%s-----\n"
                    % (lines[2], date.strftime("%Y/%m/%d/%H%M%S"), date.strftime("%m/%d/%Y %H:%M:%S"), cat, body))
            if n % 5 == 0:
                f.write("COMMENT:\nAUTHOR: reader\nEMAIL: r@example.com\nIP: 192.0.2.1\nURL: \nDATE: %s\nいい記事<br />でした\n-----\n" % date.strftime("%m/%d/%Y %H:%M:%S"))
            f.write("--------\n")
            n += 1
print("export: %d entries, %.1f MB" % (n, os.path.getsize(out) / 1e6))
PY
rm -rf "$work/site"
"$bin" init "$work/site" >/dev/null
rm -f "$work/site"/content/posts/*.md
sed -i 's|https://example.com/|https://bench.example.jp/|' "$work/site/site.toml"
cd "$work/site"
t() { local s=$(date +%s.%N); "$@" >"$work/last.out" 2>&1; local e=$(date +%s.%N); echo "$(echo "$e - $s" | bc)"; }
echo "import (first):   $(t "$bin" import "$work/export.txt") s"; head -3 "$work/last.out"
echo "import (again):   $(t "$bin" import "$work/export.txt") s"; sed -n 3p "$work/last.out"
echo "build (offline):  $(t "$bin" build --offline) s"; tail -1 "$work/last.out"
echo "peak memory of a first import (KiB): $(rm -rf content/posts; /usr/bin/time -f %M "$bin" import "$work/export.txt" 2>&1 >/dev/null | tail -1)"
