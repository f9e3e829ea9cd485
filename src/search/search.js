// Enishi site search: reads the static index the build wrote beside this file.
//
//   import { search } from "/_search/search.js";
//   const results = await search("新幹線 予約", { limit: 10 });
//   // [{ url, title, excerpt, score, date }], best first
//
// `url` is the page's path from the host root, `title` plain text, `excerpt` HTML
// (escaped text with each match in <mark>), `date` YYYY-MM-DD or null. A page
// matches when its title or text contains every word of the query (words are
// separated by ASCII or full-width spaces) after the normalisation below, which is
// the same as the build's (src/search/normalize.rs, where the rule is stated).

const BASE = new URL("./", import.meta.url);
const K1 = 1.2;
const B = 0.75;
// Added per query word found in the title: more than any text-only score (K1 + 1).
const TITLE_BONUS = 3;
const BEFORE = 30;
const AFTER = 90;

const JOINS = /^[\p{M}\uFF9E\uFF9F\u1160-\u11FF\uD7B0-\uD7FF]$/u;
const SPACE = /^\p{White_Space}$/u;

/// The text as normalised code points, and per unit (a character with the marks
/// after it) its UTF-16 offset in `text` and the index of its first normalised
/// character.
export function normalize(text) {
  const chars = [];
  const units = [];
  let unit = "";
  let start = 0;
  let at = 0;
  const flush = () => {
    if (!unit) return;
    units.push([start, chars.length]);
    for (const c of unit.normalize("NFKC").toLowerCase()) chars.push(c === "ς" ? "σ" : c);
  };
  for (const c of text) {
    if (unit && !JOINS.test(c)) {
      flush();
      unit = "";
    }
    if (!unit) start = at;
    unit += c;
    at += c.length;
  }
  flush();
  return { chars, units };
}

/// The query's words, each an array of normalised code points.
export function queryWords(query) {
  const words = [];
  let word = [];
  for (const c of normalize(query).chars) {
    if (SPACE.test(c)) {
      if (word.length) words.push(word);
      word = [];
    } else {
      word.push(c);
    }
  }
  if (word.length) words.push(word);
  return words;
}

// Same hash as src/search/index.rs: FNV-1a over the code points, then MurmurHash3's
// finaliser.
function shardOf(key, shards) {
  let h = 0x811c9dc5;
  for (const c of key) {
    h ^= c.codePointAt(0);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) & (shards - 1);
}

const cache = new Map();

function load(path, parse) {
  let p = cache.get(path);
  if (!p) {
    p = fetch(new URL(path, BASE)).then(async (r) => {
      if (!r.ok) throw new Error(`search index: ${path}: HTTP ${r.status}`);
      return parse(r);
    });
    // A failed fetch is tried again by the next search.
    p.catch(() => cache.delete(path));
    cache.set(path, p);
  }
  return p;
}

const bytes = async (r) => new Uint8Array(await r.arrayBuffer());

class Reader {
  constructor(buf, at = 0, end = buf.length) {
    this.buf = buf;
    this.at = at;
    this.end = end;
  }
  more() {
    return this.at < this.end;
  }
  varint() {
    let v = 0;
    let shift = 0;
    for (;;) {
      if (this.at >= this.end) throw new Error("search index: truncated shard");
      const b = this.buf[this.at++];
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
      shift += 7;
    }
  }
}

/// A shard as key → [start, end) of its payload.
async function loadShard(i) {
  return load(`s/${i}.bin`, async (r) => {
    const buf = await bytes(r);
    const entries = new Map();
    const rd = new Reader(buf);
    while (rd.more()) {
      const n = rd.varint();
      let key = "";
      for (let j = 0; j < n; j++) key += String.fromCodePoint(rd.varint());
      const len = rd.varint();
      entries.set(key, [buf, rd.at, rd.at + len]);
      rd.at += len;
    }
    return entries;
  });
}

/// A payload as Map(post id → what `readPost` reads for it). Each post starts with
/// varint(id delta << 1 | in title).
function readPosts([buf, start, end], readPost) {
  const out = new Map();
  const rd = new Reader(buf, start, end);
  let id = 0;
  while (rd.more()) {
    const head = rd.varint();
    id += Math.floor(head / 2);
    out.set(id, readPost(rd, head % 2));
  }
  return out;
}

/// Pair payload → Map(post id → [title positions, text positions]).
function readPairs(payload) {
  return readPosts(payload, (rd, inTitle) => {
    const fields = inTitle ? [] : [[]];
    while (fields.length < 2) {
      const n = rd.varint();
      const list = new Array(n);
      let p = 0;
      for (let j = 0; j < n; j++) list[j] = p += rd.varint();
      fields.push(list);
    }
    return fields;
  });
}

/// Single-character payload → Map(post id → {title, text, first}).
function readSingles(payload) {
  return readPosts(payload, (rd, title) => {
    const text = rd.varint();
    const first = text ? rd.varint() : null;
    return { title, text, first };
  });
}

/// The pairs that cover a word: every other one, and the last, so each of its
/// characters is in one of them.
function cover(word) {
  const offsets = [];
  for (let o = 0; o + 2 <= word.length; o += 2) offsets.push(o);
  if (word.length % 2) offsets.push(word.length - 2);
  return offsets.map((o) => [o, word[o] + word[o + 1]]);
}

function keysOf(word) {
  return word.length === 1 ? [word[0]] : cover(word).map(([, k]) => k);
}

function has(sorted, v) {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo < sorted.length && sorted[lo] === v;
}

/// Where a word occurs: Map(post id → {title: count, text: count, first: text position}).
function occurrences(word, entry) {
  if (word.length === 1) {
    const e = entry(word[0]);
    return e ? readSingles(e) : new Map();
  }
  const parts = [];
  for (const [o, key] of cover(word)) {
    const e = entry(key);
    if (!e) return new Map();
    parts.push([o, e]);
  }
  // The rarest pair first: its posts are the only candidates.
  parts.sort((a, b) => a[1][2] - a[1][1] - (b[1][2] - b[1][1]));
  const lists = parts.map(([o, e]) => [o, readPairs(e)]);
  const [o0, first] = lists[0];
  const out = new Map();
  for (const [id, fields0] of first) {
    const others = [];
    let all = true;
    for (let j = 1; j < lists.length; j++) {
      const f = lists[j][1].get(id);
      if (!f) {
        all = false;
        break;
      }
      others.push([lists[j][0], f]);
    }
    if (!all) continue;
    const found = { title: 0, text: 0, first: null };
    for (let field = 0; field < 2; field++) {
      for (const p of fields0[field]) {
        const start = p - o0;
        if (start < 0) continue;
        if (others.every(([o, f]) => has(f[field], start + o))) {
          if (field === 0) found.title++;
          else {
            if (found.text === 0) found.first = start;
            found.text++;
          }
        }
      }
    }
    if (found.title || found.text) out.set(id, found);
  }
  return out;
}

const lengthOf = (byte) => Math.exp(byte * Math.log(1.07)) - 1;

function escapeHtml(s) {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/// The first unit whose normalised start is after `j`, minus one.
function unitAt(units, j) {
  let lo = 0;
  let hi = units.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (units[mid][1] <= j) lo = mid + 1;
    else hi = mid;
  }
  return Math.max(0, lo - 1);
}

function graphemeEdges(text) {
  if (typeof Intl === "undefined" || !Intl.Segmenter) return null;
  const edges = [];
  for (const s of new Intl.Segmenter(undefined, { granularity: "grapheme" }).segment(text)) {
    edges.push(s.index);
  }
  edges.push(text.length);
  return edges;
}

/// HTML: the block's text around the match at normalised position `pos` (or the
/// first match, or the start), every query word in it marked.
export function excerpt(block, words, pos) {
  const text = block.x;
  const { chars, units } = normalize(text);
  const matches = [];
  for (const w of words) {
    for (let i = 0; i + w.length <= chars.length; i++) {
      let j = 0;
      while (j < w.length && chars[i + j] === w[j]) j++;
      if (j === w.length) matches.push([i, i + w.length]);
    }
  }
  matches.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  let center = pos == null ? null : pos - block.o;
  if (center == null || center < 0 || center >= chars.length) {
    center = matches.length ? matches[0][0] : 0;
  }
  const origStart = (j) => (units.length ? units[unitAt(units, j)][0] : 0);
  const origEnd = (j) => {
    const u = unitAt(units, j);
    return u + 1 < units.length ? units[u + 1][0] : text.length;
  };
  let from = origStart(Math.max(0, center - BEFORE));
  let to = chars.length ? origEnd(Math.min(chars.length - 1, center + AFTER)) : 0;
  const edges = graphemeEdges(text);
  if (edges) {
    from = edges.filter((e) => e <= from).pop() ?? 0;
    to = edges.find((e) => e >= to) ?? text.length;
  }
  // Latin words are not cut in the middle.
  const alnum = (i) => i > 0 && i < text.length && /[A-Za-z0-9]/.test(text[i - 1]) && /[A-Za-z0-9]/.test(text[i]);
  const centerAt = origStart(center);
  while (from < centerAt && alnum(from)) from++;
  while (to > centerAt && alnum(to)) to--;
  let html = from > 0 ? "…" : "";
  let at = from;
  const plain = (s) => escapeHtml(s.replace(/\s+/g, " "));
  for (const [s, e] of matches) {
    const ms = origStart(s);
    const me = origEnd(e - 1);
    if (ms < at || me > to) continue;
    html += plain(text.slice(at, ms)) + "<mark>" + plain(text.slice(ms, me)) + "</mark>";
    at = me;
  }
  html += plain(text.slice(at, to));
  if (to < text.length) html += "…";
  return html.trim();
}

/// Searches the site: `options.limit` results at most (default 10), best first.
export async function search(query, options = {}) {
  const limit = Math.max(0, Math.floor(options.limit ?? 10));
  const words = queryWords(String(query ?? ""));
  if (!words.length || !limit) return [];
  const meta = await load("meta.json", (r) => r.json());
  if (!meta.n) return [];
  const shardIds = [...new Set(words.flatMap(keysOf).map((k) => shardOf(k, meta.s)))];
  const [lengths, ...shards] = await Promise.all([
    load("docs.bin", bytes),
    ...shardIds.map(loadShard),
  ]);
  const byShard = new Map(shardIds.map((id, i) => [id, shards[i]]));
  const entry = (key) => byShard.get(shardOf(key, meta.s)).get(key);

  const found = words.map((w) => occurrences(w, entry));
  if (found.some((m) => m.size === 0)) return [];
  const smallest = found.reduce((a, b) => (b.size < a.size ? b : a));
  const ranked = [];
  for (const id of smallest.keys()) {
    if (!found.every((m) => m.has(id))) continue;
    const norm = 1 - B + (B * lengthOf(lengths[id])) / (meta.a || 1);
    let score = 0;
    let first = null;
    for (const m of found) {
      const f = m.get(id);
      const idf = Math.log(1 + (meta.n - m.size + 0.5) / (m.size + 0.5));
      const tf = f.text ? (f.text * (K1 + 1)) / (f.text + K1 * norm) : 0;
      score += idf * (tf + (f.title ? TITLE_BONUS : 0));
      if (f.first != null && (first == null || f.first < first)) first = f.first;
    }
    ranked.push({ id, score, first });
  }
  // Equal scores: the newer post (ids go by date) first.
  ranked.sort((a, b) => (Math.abs(b.score - a.score) > 1e-9 ? b.score - a.score : b.id - a.id));
  const top = ranked.slice(0, limit);
  const blocks = await Promise.all(
    top.map((r) => {
      const k = r.first == null ? 0 : Math.floor(r.first / meta.b);
      return load(`d/${r.id}-${k}.json`, (res) => res.json());
    }),
  );
  return top.map((r, i) => ({
    url: blocks[i].u,
    title: blocks[i].t,
    excerpt: excerpt(blocks[i], words, r.first),
    score: Math.round(r.score * 1e4) / 1e4,
    date: blocks[i].d,
  }));
}
