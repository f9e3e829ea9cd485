#!/usr/bin/env bash
# Site search evaluation, end to end (no compiling: give it a built enishi).
#   examples/search/run.sh /path/to/enishi [WORKDIR]          generated corpus only
#   LDCC=1 examples/search/run.sh /path/to/enishi [WORKDIR]   also the livedoor corpus
# WORKDIR (default /tmp/search-eval) receives the sites, their builds and the reports.
set -eu
bin=$(readlink -f "$1"); work=${2:-/tmp/search-eval}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"
node "$here/corpus.mjs" "$work/site" --posts 240 --seed 1
"$bin" build --source "$work/site" --offline --clean >/dev/null
node "$here/eval.mjs" "$work/site/public" "$work/site/content" "$here/queries.json" \
  --json "$work/site-eval.json" | tee "$work/site-eval.txt"
if [ "${LDCC:-0}" = 1 ]; then
  corpus=/work/shared/corpus/ldcc
  [ -d "$work/ldcc-site/content" ] || python3 /work/shared/bench/make_site.py "$corpus" "$work/ldcc-site"
  "$bin" build --source "$work/ldcc-site" --output "$work/ldcc-public" --offline >/dev/null
  du -sh "$work/ldcc-public/_search"; find "$work/ldcc-public/_search" -type f | wc -l
  node "$here/eval.mjs" "$work/ldcc-public" "$work/ldcc-site/content" "$here/queries-ldcc.json" \
    --json "$work/ldcc-eval.json" | tee "$work/ldcc-eval.txt"
fi
