#!/usr/bin/env node
// Evaluates the built site search against relevance computed independently of it:
//
//   node examples/search/eval.mjs PUBLIC_DIR CONTENT_DIR QUERIES.json [--json OUT] [--verbose]
//
// QUERIES.json: [{"q": "新幹線", "kind": "compound"}, …] (or plain strings).
//
// Relevance (the definition search.js promises): a post is relevant when every query
// word is a substring of its title or of its text, where the text is the Markdown body
// without front matter and Markdown syntax (heading marks, list markers, fence lines;
// code block content kept; URLs dropped, as the site drops them), each side normalised
// with s.normalize("NFKC").toLowerCase() over the whole string, and the query split at
// white space after the same normalisation.
//
// A second, independent text is read from each built post page (its <h1> and
// post body as HTML → text). When search and the Markdown-based relevance disagree on
// a post, the HTML-based relevance says which side the difference is on: if it agrees
// with search, the difference is in the evaluator's Markdown stripping ("extraction");
// otherwise it is counted as a search failure.
//
// Per query: P@10 (share of returned results that are relevant; 1 when nothing is
// relevant and nothing is returned, 0 when nothing is returned but something is
// relevant) and R@10 (relevant returned ÷ min(10, relevant); 1 when nothing is
// relevant), the bytes and files a fresh page load fetches (search.js + every file),
// and, with the same module, the complete result set (limit ∞) against the complete
// relevant set.
import { readFileSync, readdirSync, statSync, existsSync, writeFileSync } from "node:fs";
import { join, resolve, dirname, basename } from "node:path";
import { served, freshModule } from "./node_fetch.mjs";

const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  if (i < 0) return null;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const jsonOut = flag("--json");
const verbose = args.includes("--verbose");
const positional = args.filter((a) => !a.startsWith("--"));
if (positional.length < 3) {
  console.error("usage: eval.mjs PUBLIC_DIR CONTENT_DIR QUERIES.json [--json OUT] [--verbose]");
  process.exit(2);
}
const [PUBLIC, CONTENT, QUERIES] = positional.map((p) => resolve(p));

// Bytes by kind of file (shards, text blocks, the rest), beside node_fetch's totals.
const parts = { shards: 0, blocks: 0, other: 0 };
const countedFetch = globalThis.fetch;
globalThis.fetch = async (url) => {
  const r = await countedFetch(url);
  if (r.ok) {
    const body = new Uint8Array(await r.arrayBuffer());
    const path = String(url);
    const kind = /\/_search\/s\//.test(path) ? "shards" : /\/_search\/d\//.test(path) ? "blocks" : "other";
    parts[kind] += body.length;
    return new Response(body, { status: 200 });
  }
  return r;
};

// ------------------------------------------------------------------ normalisation
const norm = (s) => s.normalize("NFKC").toLowerCase();
const wordsOf = (q) => norm(q).split(/\s+/u).filter(Boolean);

// ------------------------------------------------------------------ files
function walk(dir, pred, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) walk(p, pred, out);
    else if (pred(p)) out.push(p);
  }
  return out;
}

// ------------------------------------------------------------------ front matter
function yamlScalar(v) {
  v = v.trim();
  if (v.startsWith('"')) {
    const m = /^"((?:[^"\\]|\\.)*)"/.exec(v);
    const inner = m ? m[1] : v.slice(1);
    return inner.replace(/\\(u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|.)/g, (_, e) => {
      if (e[0] === "u" || e[0] === "x") return String.fromCharCode(parseInt(e.slice(1), 16));
      return { n: "\n", t: "\t", r: "\r", 0: "\0", "\\": "\\", '"': '"', "/": "/", " ": " " }[e] ?? e;
    });
  }
  if (v.startsWith("'")) {
    const m = /^'((?:[^']|'')*)'/.exec(v);
    return (m ? m[1] : v.slice(1)).replace(/''/g, "'");
  }
  return v.replace(/\s+#.*$/, "");
}

function splitFrontMatter(src) {
  src = src.replace(/^\uFEFF/, "");
  const m = /^---\r?\n([\s\S]*?)\r?\n---[ \t]*(?:\r?\n|$)/.exec(src);
  if (!m) return { fm: {}, body: src };
  const fm = {};
  for (const line of m[1].split(/\r?\n/)) {
    const kv = /^([A-Za-z_][\w-]*):(.*)$/.exec(line);
    if (kv) fm[kv[1]] = yamlScalar(kv[2]);
  }
  return { fm, body: src.slice(m[0].length) };
}

// ------------------------------------------------------------------ Markdown → text
// Kana, kanji, full-width forms: a soft line break between them is joined with
// nothing when the character on either side is one of these (as the site renders it).
const EAST_ASIAN =
  /[\u3000-\u303F\u3040-\u30FF\u31F0-\u31FF\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF\uFE30-\uFE4F\uFF00-\uFFEF\u{20000}-\u{3FFFF}]/u;

const ENTITIES = {
  amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: "\u00a0", copy: "©", reg: "®", trade: "™",
  times: "×", divide: "÷", mdash: "—", ndash: "–", hellip: "…", middot: "·", yen: "¥", laquo: "«",
  raquo: "»", lsquo: "‘", rsquo: "’", ldquo: "“", rdquo: "”", bull: "•", deg: "°", hearts: "♥",
  larr: "←", rarr: "→", uarr: "↑", darr: "↓", sup2: "²", frac12: "½", plusmn: "±", sect: "§",
  para: "¶", euro: "€", pound: "£", cent: "¢", star: "☆", thinsp: "\u2009", ensp: "\u2002", emsp: "\u2003",
};
function decodeEntities(s) {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (all, e) => {
    if (e[0] === "#") {
      const cp = e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      try {
        return String.fromCodePoint(cp);
      } catch {
        return all;
      }
    }
    return ENTITIES[e] ?? all;
  });
}

/// Words (split at ASCII spaces) that start with a URL scheme are dropped, as the
/// site's text extraction does (per text run: a line of a paragraph, a heading, a cell).
const dropUrls = (s) =>
  s
    .split(" ")
    .filter((w) => !(w.startsWith("http://") || w.startsWith("https://")))
    .join(" ");

function inline(s) {
  s = s.replace(/!\[[^\]]*\]\([^)]*\)/g, ""); // images: no text
  s = s.replace(/\[([^\]]*)\]\([^)]*\)/g, "$1"); // links: their text
  s = s.replace(/<(https?:\/\/[^>\s]+)>/g, "$1"); // autolinks (dropped below as URLs)
  s = s.replace(/(`+)([\s\S]*?[^`])\1(?!`)/g, (_, __, c) => c.replace(/^ (.*) $/, "$1")); // code spans
  s = s.replace(/<\/?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?\/?>/g, ""); // inline HTML (valid tags only)
  // Emphasis and strikethrough: delimiter runs of exactly that length.
  s = s.replace(/(?<![*\\])(\*\*|__)(?![*\s])([\s\S]*?[^*\s])\1(?!\*)/g, "$2");
  s = s.replace(/(?<![*\\])\*(?![*\s])([^*]*?[^*\s])\*(?!\*)/g, "$1");
  s = s.replace(/(?<![~\\])(~~?)(?![~\s])([^~]*?[^~\s])\1(?!~)/g, "$2");
  s = s.replace(/\\([!-/:-@[-`{-~])/g, "$1");
  return decodeEntities(s);
}

/// Markdown strips spaces and tabs only (a full-width space is text).
const trimMd = (s) => s.replace(/^[ \t]+|[ \t]+$/g, "");

function joinParagraph(lines) {
  let out = "";
  for (let i = 0; i < lines.length; i++) {
    // URLs are dropped per line (the site drops them per text run, before joining).
    const line = dropUrls(inline(trimMd(lines[i].replace(/\\$/, ""))));
    if (i > 0) {
      // A hard break (two spaces or a backslash at the end) is a space; a soft one is
      // nothing next to an East Asian character.
      const hard = / {2,}$|\\$/.test(lines[i - 1]);
      const before = [...out].pop();
      const after = [...line][0];
      const joined = (before && EAST_ASIAN.test(before)) || (after && EAST_ASIAN.test(after));
      out += joined && !hard ? "" : " ";
    }
    out += line;
  }
  return out;
}

/// The post's text as the site should index it: { text, code }.
export function markdownText(body) {
  const text = [];
  const code = [];
  let para = [];
  let fence = null;
  let table = false;
  let inItem = false;
  const flush = () => {
    if (para.length) text.push(joinParagraph(para));
    para = [];
  };
  const lines = body.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i];
    if (fence) {
      const close = new RegExp(`^ {0,3}${fence[0] === "`" ? "`" : "~"}{${fence.length},}[ \\t]*$`);
      if (close.test(line)) fence = null;
      else code.push(line);
      continue;
    }
    const open = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (open) {
      flush();
      fence = open[1];
      continue;
    }
    if (/^[ \t]*$/.test(line)) {
      flush();
      table = false;
      inItem = false;
      continue;
    }
    // Indented code: only where a paragraph cannot continue.
    if (!para.length && /^( {4}|\t)/.test(line)) {
      code.push(line.replace(/^( {4}|\t)/, ""));
      continue;
    }
    // Block quotes: their content, as any other line.
    line = line.replace(/^ {0,3}(> ?)+/, "");
    const heading = /^ {0,3}#{1,6}(?:[ \t]+(.*?))?[ \t]*$/.exec(line);
    if (heading) {
      flush();
      let h = (heading[1] ?? "").replace(/[ \t]+#+[ \t]*$/, "").replace(/^#+$/, "");
      h = h.replace(/[ \t]*\{[^}]*\}[ \t]*$/, "");
      text.push(dropUrls(inline(h).replace(/[ \t]+/g, " ").trim()));
      continue;
    }
    if (para.length && /^ {0,3}(=+|-+)[ \t]*$/.test(line)) {
      // Setext heading underline: the paragraph so far is a heading.
      flush();
      continue;
    }
    if (/^ {0,3}([-*_])([ \t]*\1){2,}[ \t]*$/.test(line)) {
      flush(); // thematic break
      continue;
    }
    // Tables: a header row followed by a delimiter row; each cell is its own line.
    if (/^[ \t]*\|?[ \t]*:?-+:?[ \t]*(\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$/.test(line) && line.includes("-") &&
        para.length === 1 && para[0].includes("|")) {
      const header = para[0];
      para = [];
      for (const c of header.replace(/^[ \t]*\|/, "").replace(/\|[ \t]*$/, "").split("|")) text.push(dropUrls(inline(trimMd(c))));
      table = true;
      continue;
    }
    if (table) {
      for (const c of line.replace(/^[ \t]*\|/, "").replace(/\|[ \t]*$/, "").split("|")) text.push(dropUrls(inline(trimMd(c))));
      continue;
    }
    // List items: a new item ends the paragraph before it (a numbered one interrupts
    // ordinary paragraph text only when it starts at 1).
    const item = /^[ \t]*(?:[-*+]|(\d{1,9})[.)])(?:[ \t]+(?:\[[ xX]\][ \t]+)?(.*)|$)/.exec(line);
    if (item && (!para.length || inItem || (item[2] && (item[1] === undefined || Number(item[1]) === 1)))) {
      flush();
      para = [item[2] ?? ""];
      inItem = true;
      continue;
    }
    if (!para.length) inItem = false;
    para.push(line);
  }
  flush();
  return { text: text.join("\n"), code: code.join("\n") };
}

// ------------------------------------------------------------------ built pages → text
function htmlToText(html) {
  const pres = [];
  html = html.replace(/<pre[\s\S]*?<\/pre>/g, (m) => {
    pres.push(decodeEntities(m.replace(/<[^>]*>/g, "")));
    return "\n";
  });
  html = html.replace(/<img[^>]*>/g, "");
  html = html.replace(/<br\s*\/?>/g, " ");
  html = html.replace(/<\/(p|li|h[1-6]|td|th|tr|blockquote|div|ul|ol|table|section|dd|dt)>/g, "\n");
  html = html.replace(/<(ul|ol|table|blockquote|section)[^>]*>/g, "\n");
  html = html.replace(/<[^>]*>/g, "");
  // The HTML no longer shows where one text run ended: drop only the URL itself
  // (its ASCII characters), keeping text joined to it.
  const text = decodeEntities(html).replace(/https?:\/\/[\x21-\x7e]*/g, " ");
  return { text, code: pres.join("\n") };
}

function readPage(file) {
  const html = readFileSync(file, "utf8");
  const start = html.indexOf('<div class="post-body">');
  const h1 = /<h1 class="post-title">([\s\S]*?)<\/h1>/.exec(html);
  if (start < 0 || !h1) return null;
  const canonical = /<link rel="canonical" href="([^"]*)"/.exec(html);
  let end = html.length;
  for (const marker of ['<footer class="post-tags">', "<section", "</article>"]) {
    const at = html.indexOf(marker, start);
    if (at >= 0 && at < end) end = at;
  }
  const bodyHtml = html.slice(start + '<div class="post-body">'.length, html.lastIndexOf("</div>", end));
  const time = /<time datetime="([^"]*)"/.exec(html);
  return {
    url: canonical ? new URL(canonical[1]).pathname : null,
    title: decodeEntities(h1[1].replace(/<[^>]*>/g, "")),
    datetime: time ? time[1] : null,
    ...htmlToText(bodyHtml),
  };
}

// ------------------------------------------------------------------ the corpus
function siteTimezone() {
  const toml = join(dirname(CONTENT), "site.toml");
  if (!existsSync(toml)) return "Asia/Tokyo";
  const m = /^timezone\s*=\s*"([^"]+)"/m.exec(readFileSync(toml, "utf8"));
  return m ? m[1] : "Asia/Tokyo";
}
const TZ = siteTimezone();
function dayOf(date) {
  if (!date) return null;
  if (/^\d{4}-\d{2}-\d{2}$/.test(date)) return date;
  const d = new Date(date.replace(/^(\d{4}-\d{2}-\d{2}) /, "$1T"));
  if (Number.isNaN(+d)) return date.slice(0, 10);
  if (!/[zZ]|[+-]\d{2}:?\d{2}$/.test(date)) return date.slice(0, 10);
  return new Intl.DateTimeFormat("en-CA", { timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit" }).format(d);
}

const posts = [];
for (const file of walk(CONTENT, (p) => p.endsWith(".md")).sort()) {
  const { fm, body } = splitFrontMatter(readFileSync(file, "utf8"));
  if (fm.draft === "true" || fm.search === "false") continue;
  const stem = basename(file, ".md").replace(/^\d{4}-\d{2}-\d{2}-/, "");
  const title = fm.title ?? stem;
  const md = markdownText(body);
  posts.push({
    file: file.slice(CONTENT.length + 1),
    slug: (fm.slug || stem).toLowerCase(),
    title,
    day: dayOf(fm.date),
    mdNorm: { title: norm(title), body: norm(md.text + "\n" + md.code) },
  });
}

// Built post pages, by the last segment of their URL and by title + day.
const pages = walk(PUBLIC, (p) => p.endsWith("index.html") && !p.includes("/_search/"))
  .map(readPage)
  .filter(Boolean);
const bySlug = new Map();
const byTitleDay = new Map();
const push = (m, k, v) => m.set(k, [...(m.get(k) ?? []), v]);
for (const pg of pages) {
  push(bySlug, decodeURIComponent(pg.url).split("/").filter(Boolean).pop()?.toLowerCase(), pg);
  push(byTitleDay, pg.title + "\u0000" + (pg.datetime ?? "").slice(0, 10), pg);
}
let unmapped = 0;
for (const p of posts) {
  let pg = bySlug.get(p.slug);
  if (!pg || pg.length !== 1) pg = byTitleDay.get(p.title + "\u0000" + p.day);
  if (!pg || pg.length !== 1) {
    unmapped++;
    if (unmapped <= 5) console.error(`warning: no unique built page for ${p.file}`);
    continue;
  }
  p.url = pg[0].url;
  p.htmlNorm = { title: norm(pg[0].title), body: norm(pg[0].text + "\n" + pg[0].code) };
}
const byUrl = new Map(posts.filter((p) => p.url).map((p) => [p.url, p]));

// How often the two extractions differ (white space aside).
const squash = (s) => s.replace(/https?:\/\/[\x21-\x7e]*/g, "").replace(/\s+/gu, "");
let extractionDiffs = 0;
for (const p of posts) {
  if (p.htmlNorm && squash(p.htmlNorm.body) !== squash(p.mdNorm.body)) {
    extractionDiffs++;
    if (verbose) {
      const a = squash(p.mdNorm.body);
      const b = squash(p.htmlNorm.body);
      let i = 0;
      while (i < a.length && a[i] === b[i]) i++;
      console.error(`extraction differs: ${p.file} at ${i}: md …${a.slice(i, i + 40)}… html …${b.slice(i, i + 40)}…`);
    }
  }
}

const matches = (n, words) => words.length > 0 && words.every((w) => n.title.includes(w) || n.body.includes(w));

// ------------------------------------------------------------------ queries
let queries = JSON.parse(readFileSync(QUERIES, "utf8")).map((x) => (typeof x === "string" ? { q: x } : x));
const K = 10;
const rows = [];
const report = { searchFailures: [], extractionOnly: [], checks: [] };
const show = (s) => JSON.stringify(s);

for (const { q, kind = "" } of queries) {
  const words = wordsOf(q);
  const relMd = new Set(posts.filter((p) => p.url && matches(p.mdNorm, words)).map((p) => p.url));
  const relHtml = new Set(posts.filter((p) => p.url && p.htmlNorm && matches(p.htmlNorm, words)).map((p) => p.url));

  served.bytes = 0;
  served.files = 0;
  parts.shards = parts.blocks = parts.other = 0;
  const mod = await freshModule(PUBLIC);
  let results;
  let error = null;
  try {
    results = await mod.search(q);
  } catch (e) {
    error = e;
    results = [];
  }
  const bytes = served.bytes;
  const files = served.files;
  const split = { ...parts };
  let all = [];
  try {
    all = await mod.search(q, { limit: 1e9 });
  } catch (e) {
    error ??= e;
  }

  const got = results.map((r) => r.url);
  const hit = got.filter((u) => relMd.has(u)).length;
  const P = got.length === 0 ? (relMd.size === 0 ? 1 : 0) : hit / got.length;
  const R = relMd.size === 0 ? 1 : hit / Math.min(K, relMd.size);

  // The complete sets, and which side each difference is on.
  const allUrls = new Set(all.map((r) => r.url));
  const missing = [...relMd].filter((u) => !allUrls.has(u));
  const extra = [...allUrls].filter((u) => !relMd.has(u));
  const searchMissing = missing.filter((u) => relHtml.has(u));
  const searchExtra = extra.filter((u) => !relHtml.has(u));
  const extrMissing = missing.filter((u) => !relHtml.has(u));
  const extrExtra = extra.filter((u) => relHtml.has(u));

  // Checks on the results themselves.
  const checks = [];
  if (error) checks.push(`threw ${error}`);
  if (results.length > K) checks.push(`${results.length} results for the default limit`);
  if (results.length !== Math.min(K, all.length)) checks.push(`top ${results.length} but ${all.length} in all`);
  for (let i = 1; i < all.length; i++) {
    if (all[i].score > all[i - 1].score + 1e-9) {
      checks.push(`scores not descending at ${i}`);
      break;
    }
  }
  if (new Set(all.map((r) => r.url)).size !== all.length) checks.push("duplicate URLs");
  // One word: every post with it in the title ranks above every post without.
  if (words.length === 1) {
    const inTitle = all.map((r) => byUrl.get(r.url)?.mdNorm.title.includes(words[0]) ?? false);
    const firstWithout = inTitle.indexOf(false);
    if (firstWithout >= 0 && inTitle.lastIndexOf(true) > firstWithout)
      checks.push(`a title match ranked below a text-only match (at ${inTitle.lastIndexOf(true)} vs ${firstWithout})`);
  }
  for (const r of results) {
    const p = byUrl.get(r.url);
    if (!p) {
      checks.push(`unknown URL ${r.url}`);
      continue;
    }
    if (r.title !== p.title) checks.push(`title ${show(r.title)} ≠ ${show(p.title)}`);
    if (p.day && r.date !== p.day) checks.push(`date ${r.date} ≠ ${p.day} for ${r.url}`);
    const inText = words.some((w) => p.mdNorm.body.includes(w));
    if (inText && !/<mark>/.test(r.excerpt)) checks.push(`no <mark> in the excerpt of ${r.url}`);
    if (/<(?!\/?mark>)/.test(r.excerpt)) checks.push(`unescaped HTML in the excerpt of ${r.url}`);
  }
  if (checks.length) report.checks.push({ q, checks });

  const row = {
    q, kind, words, relevant: relMd.size, relevantHtml: relHtml.size, returned: got.length, total: all.length,
    P, R, bytes, files, split, searchMissing, searchExtra, extrMissing, extrExtra,
  };
  rows.push(row);
  if (searchMissing.length || searchExtra.length || P < 1 || R < 1)
    report.searchFailures.push(row);
  else if (extrMissing.length || extrExtra.length) report.extractionOnly.push(row);
}

// ------------------------------------------------------------------ report
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / (xs.length || 1);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : 0;
};
const kb = (b) => `${(b / 1024).toFixed(1)} KiB`;
const fileOf = (u) => (byUrl.get(u)?.file ?? u);

console.log(`posts: ${posts.length} (unmapped to a built page: ${unmapped}); Markdown and HTML texts differ (white space aside) in ${extractionDiffs}`);
console.log(`queries: ${rows.length}\n`);
console.log("query".padEnd(28) + "kind".padEnd(12) + "rel".padStart(6) + "ret".padStart(5) + "all".padStart(6) + "   P@10  R@10" + "bytes".padStart(11) + "files".padStart(7));
for (const r of rows) {
  const q = show(r.q);
  console.log(
    q.padEnd(28) + r.kind.padEnd(12) + String(r.relevant).padStart(6) + String(r.returned).padStart(5) + String(r.total).padStart(6) +
      `   ${r.P.toFixed(2)}  ${r.R.toFixed(2)}` + kb(r.bytes).padStart(11) + String(r.files).padStart(7),
  );
}
const list = (us) => us.slice(0, 8).map(fileOf).join(", ") + (us.length > 8 ? `, … (${us.length})` : "");
console.log(`\nsearch failures (${report.searchFailures.length}):`);
for (const r of report.searchFailures) {
  console.log(`  ${show(r.q)} P=${r.P.toFixed(2)} R=${r.R.toFixed(2)} relevant=${r.relevant} returned=${r.returned} all=${r.total}`);
  if (r.searchMissing.length) console.log(`    missing: ${list(r.searchMissing)}`);
  if (r.searchExtra.length) console.log(`    extra:   ${list(r.searchExtra)}`);
  if (r.extrMissing.length || r.extrExtra.length)
    console.log(`    (extraction differences: missing ${list(r.extrMissing)} extra ${list(r.extrExtra)})`);
}
console.log(`\ndifferences explained by text extraction only (Markdown vs built HTML) (${report.extractionOnly.length}):`);
for (const r of report.extractionOnly) {
  console.log(`  ${show(r.q)} not found by search but Markdown has it: ${list(r.extrMissing)}; found by search, in HTML but not Markdown: ${list(r.extrExtra)}`);
}
console.log(`\nresult checks (${report.checks.length} queries):`);
for (const c of report.checks) console.log(`  ${show(c.q)}: ${c.checks.slice(0, 5).join("; ")}${c.checks.length > 5 ? ` (+${c.checks.length - 5})` : ""}`);

const B = rows.map((r) => r.bytes);
const F = rows.map((r) => r.files);
const nonEmpty = rows.filter((r) => r.words.length);
console.log(`\nmean P@10 ${mean(rows.map((r) => r.P)).toFixed(4)}  mean R@10 ${mean(rows.map((r) => r.R)).toFixed(4)}  over ${rows.length} queries`);
console.log(`bytes per query (fresh load, search.js included): mean ${kb(mean(B))}, median ${kb(median(B))}, max ${kb(Math.max(...B))} (${show(rows[B.indexOf(Math.max(...B))].q)})`);
console.log(`files per query: mean ${mean(F).toFixed(1)}, median ${median(F)}, max ${Math.max(...F)}`);
for (const k of ["shards", "blocks"]) {
  const xs = rows.map((r) => r.split[k]);
  console.log(`  of which ${k}: mean ${kb(mean(xs))}, median ${kb(median(xs))}, max ${kb(Math.max(...xs))}`);
}
{
  const q = rows.filter((r) => r.words.length);
  const js = median(q.map((r) => r.bytes - r.split.shards - r.split.blocks - r.split.other));
  console.log(`  of which search.js ${kb(js)}, meta.json + docs.bin ${kb(median(q.map((r) => r.split.other)))}`);
}
const Bn = nonEmpty.map((r) => r.bytes);
console.log(`bytes per non-empty query: mean ${kb(mean(Bn))}, median ${kb(median(Bn))}`);
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ rows, checks: report.checks }, null, 1));
