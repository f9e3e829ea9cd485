//! The search index as files: positional postings of every character pair (and
//! every single character) of each post's normalised title and text, spread over
//! shards by a hash of the key, so a query fetches only the shards of its own keys.
//!
//! Why pairs with positions: a post matches when it contains each query word as
//! written (a substring after normalisation). Any word of two or more characters
//! is found exactly by checking that the pairs covering it sit at consecutive
//! positions, with no dictionary to agree with the query's segmentation (新幹線 is
//! never split into 新 + 幹線, and 東京都 is not found in a post that only has 東京
//! and 京都 apart). A one-character word uses the single-character lists.
//!
//! Files (all under `_search/`; the format is read by `search.js`, keep both in step):
//! - `meta.json`: `{"v", "n": posts, "s": shards, "b": block size, "a": average
//!   text length}`.
//! - `docs.bin`: one byte per post, its text length on a log scale (for BM25).
//! - `s/<shard>.bin`: entries sorted by key, each `varint(characters in the key)`,
//!   the key's code points as varints, `varint(payload length)`, the payload: per
//!   post containing the key, `varint((post id − previous id) × 2 + in title)`
//!   then, for a pair, when in the title `varint(n)` and n title positions, and
//!   always `varint(n)` and n text positions (each a delta from the one before);
//!   for a single character, `varint(text count)` and, when not 0, the first text
//!   position.
//! - `d/<post>-<block>.json`: `{"u": url, "t": title, "d": date or null, "o": the
//!   normalised offset the text starts at, "x": the original text}`: block k holds
//!   the text from normalised offset k × b to (k + 1) × b plus [`BLOCK_TAIL`] more, so
//!   an excerpt around any match needs one block.
//!
//! Post ids go by date, oldest first and undated pages before them, so a new post
//! takes the next id and older posts' blocks keep their bytes (and ties in the
//! ranking go to the higher id, the newer post).

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::Serialize;

use super::normalize::{Normalized, normalize};

/// Normalised characters per text block.
pub const BLOCK_CHARS: u32 = 1500;
/// Characters a block carries past its end, so an excerpt is never cut short by it.
pub const BLOCK_TAIL: u32 = 120;
/// The shard size aimed at: a query's cost is a few of these.
const SHARD_TARGET_BYTES: usize = 8 * 1024;
const MAX_SHARDS: usize = 4096;
/// A single character's key has this as its second half.
const SINGLE: u32 = u32::MAX;

/// One post or page as search sees it.
pub struct SearchDoc {
    /// From the host root, with the base URL's path.
    pub url: String,
    pub title: String,
    /// `YYYY-MM-DD`, None for an undated page.
    pub date: Option<String>,
    pub text: String,
}

/// Posts indexed at once: their postings are merged and dropped before the next
/// chunk, so memory holds the merged lists and one chunk, whatever the site's size.
const CHUNK: usize = 256;

/// The index's files, path (under the output folder) and bytes.
pub fn write_index(docs: &[SearchDoc]) -> Vec<(String, Vec<u8>)> {
    // Lists are appended in post order, so each is sorted by id. Keys are split
    // into groups by their hash, each group merged by its own thread.
    let mut groups: Vec<FxHashMap<u64, (u32, Vec<u8>)>> = vec![FxHashMap::default(); GROUPS];
    let mut files = Vec::new();
    let mut lengths = Vec::with_capacity(docs.len());
    let mut total_len = 0u64;
    for (c, chunk) in docs.chunks(CHUNK).enumerate() {
        let indexed: Vec<DocIndex> = chunk
            .par_iter()
            .enumerate()
            .map(|(i, doc)| index_doc((c * CHUNK + i) as u32, doc))
            .collect();
        groups.par_iter_mut().enumerate().for_each(|(g, lists)| {
            for (i, d) in indexed.iter().enumerate() {
                let id = (c * CHUNK + i) as u32;
                let range = d.groups[g] as usize..d.groups[g + 1] as usize;
                for &Posting {
                    key,
                    start,
                    end,
                    in_title,
                } in &d.keys[range]
                {
                    let (last, bytes) = lists.entry(key).or_insert((0, Vec::new()));
                    // The first post of a list is written as its id (a delta from 0).
                    push_varint(bytes, ((id - *last) << 1) | u32::from(in_title));
                    bytes.extend_from_slice(&d.payloads[start as usize..end as usize]);
                    *last = id;
                }
            }
        });
        for d in indexed {
            files.extend(d.blocks);
            lengths.push(length_byte(d.text_len));
            total_len += u64::from(d.text_len);
        }
    }

    let total_bytes: usize = groups
        .iter()
        .flat_map(|g| g.values())
        .map(|(_, b)| b.len() + 8)
        .sum();
    let shards = total_bytes
        .div_ceil(SHARD_TARGET_BYTES)
        .next_power_of_two()
        .clamp(1, MAX_SHARDS);
    let mut by_shard: Vec<Vec<(u64, Vec<u8>)>> = vec![Vec::new(); shards];
    for (key, (_, bytes)) in groups.into_iter().flatten() {
        by_shard[key_hash(key) as usize & (shards - 1)].push((key, bytes));
    }
    let shard_files: Vec<(String, Vec<u8>)> = by_shard
        .into_par_iter()
        .enumerate()
        .map(|(i, mut entries)| {
            entries.sort_unstable_by_key(|(key, _)| *key);
            let mut out = Vec::new();
            for (key, payload) in entries {
                let (a, b) = split_key(key);
                if b == SINGLE {
                    push_varint(&mut out, 1);
                    push_varint(&mut out, a);
                } else {
                    push_varint(&mut out, 2);
                    push_varint(&mut out, a);
                    push_varint(&mut out, b);
                }
                push_varint(&mut out, payload.len() as u32);
                out.extend_from_slice(&payload);
            }
            (format!("_search/s/{i}.bin"), out)
        })
        .collect();
    files.extend(shard_files);

    let average = if docs.is_empty() {
        0.0
    } else {
        total_len as f64 / docs.len() as f64
    };
    let meta = serde_json::json!({
        "v": 1,
        "n": docs.len(),
        "s": shards,
        "b": BLOCK_CHARS,
        "a": (average * 10.0).round() / 10.0,
    });
    files.push(("_search/meta.json".into(), meta.to_string().into_bytes()));
    files.push(("_search/docs.bin".into(), lengths));
    files
}

/// The shard of a key: the low bits of its hash.
pub fn shard_of(a: u32, b: u32, shards: usize) -> usize {
    key_hash((u64::from(a) << 32) | u64::from(b)) as usize & (shards - 1)
}

/// Which merge group a key is in: the high bits of its hash.
fn group_of(key: u64) -> usize {
    (key_hash(key) >> (32 - GROUP_BITS)) as usize
}

/// FNV-1a over the key's code points, then MurmurHash3's finaliser (FNV's low bits
/// depend only on the inputs' low bits, and the shard is the low bits). `search.js`
/// computes the same.
fn key_hash(key: u64) -> u32 {
    let (a, b) = split_key(key);
    let mut h: u32 = 0x811c_9dc5;
    for cp in [a, b] {
        if cp == SINGLE {
            break;
        }
        h ^= cp;
        h = h.wrapping_mul(0x0100_0193);
    }
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    h
}

/// A text length in one byte: round(ln(1 + len) / ln(1.07)), good to 3.5 %.
fn length_byte(len: u32) -> u8 {
    ((f64::from(len) + 1.0).ln() / 1.07f64.ln())
        .round()
        .min(255.0) as u8
}

fn split_key(key: u64) -> (u32, u32) {
    ((key >> 32) as u32, key as u32)
}

fn pair_key(a: char, b: char) -> u64 {
    (u64::from(a as u32) << 32) | u64::from(b as u32)
}

fn single_key(a: char) -> u64 {
    (u64::from(a as u32) << 32) | u64::from(SINGLE)
}

/// Merge groups (a power of two): enough to keep both cores busy and each map small.
const GROUP_BITS: u32 = 4;
const GROUPS: usize = 1 << GROUP_BITS;

/// One key of a post: its payload (without the post id) is `payloads[start..end]`.
struct Posting {
    key: u64,
    start: u32,
    end: u32,
    in_title: bool,
}

struct DocIndex {
    /// Ordered by merge group, then key; group g is `keys[groups[g]..groups[g + 1]]`.
    /// One payload buffer per post rather than one per key.
    keys: Vec<Posting>,
    groups: [u32; GROUPS + 1],
    payloads: Vec<u8>,
    blocks: Vec<(String, Vec<u8>)>,
    text_len: u32,
}

/// A position with the field in its top bit, so title positions sort first.
const TEXT_FIELD: u32 = 1 << 31;

fn index_doc(id: u32, doc: &SearchDoc) -> DocIndex {
    let title = normalize(&doc.title);
    let text = normalize(&doc.text);
    // Every pair's (key, field and position), sorted: grouped by key, title before
    // text, positions ascending. One sort instead of a map of small vectors. Single
    // characters only need a count and a first position.
    let mut seen: Vec<(u64, u32)> = Vec::with_capacity(title.chars.len() + text.chars.len());
    // Per character: in the title, count in the text, first text position.
    let mut singles: FxHashMap<char, (bool, u32, u32)> = FxHashMap::default();
    for (field, chars) in [(0, &title.chars), (TEXT_FIELD, &text.chars)] {
        for (i, &c) in chars.iter().enumerate() {
            if c.is_whitespace() {
                continue;
            }
            let pos = i as u32 | field;
            let single = singles.entry(c).or_insert((false, 0, 0));
            if field == 0 {
                single.0 = true;
            } else {
                if single.1 == 0 {
                    single.2 = i as u32;
                }
                single.1 += 1;
            }
            if let Some(&next) = chars.get(i + 1)
                && !next.is_whitespace()
            {
                seen.push((pair_key(c, next), pos));
            }
        }
    }
    seen.sort_unstable();
    let mut keys: Vec<Posting> = Vec::new();
    let mut payloads = Vec::with_capacity(seen.len() * 2);
    for group in seen.chunk_by(|a, b| a.0 == b.0) {
        let key = group[0].0;
        let start = payloads.len();
        let split = group.partition_point(|&(_, p)| p & TEXT_FIELD == 0);
        let (in_title, in_text) = group.split_at(split);
        let lists = if in_title.is_empty() {
            &[in_text][..]
        } else {
            &[in_title, in_text][..]
        };
        for list in lists {
            push_varint(&mut payloads, list.len() as u32);
            let mut prev = 0;
            for &(_, p) in *list {
                let p = p & !TEXT_FIELD;
                push_varint(&mut payloads, p - prev);
                prev = p;
            }
        }
        keys.push(Posting {
            key,
            start: start as u32,
            end: payloads.len() as u32,
            in_title: !in_title.is_empty(),
        });
    }
    // The map's order does not reach the output: each key's payload goes to its
    // own list.
    for (c, (in_title, in_text, first)) in singles {
        let start = payloads.len();
        push_varint(&mut payloads, in_text);
        if in_text > 0 {
            push_varint(&mut payloads, first);
        }
        keys.push(Posting {
            key: single_key(c),
            start: start as u32,
            end: payloads.len() as u32,
            in_title,
        });
    }
    let mut by_group: Vec<(usize, Posting)> =
        keys.into_iter().map(|p| (group_of(p.key), p)).collect();
    by_group.sort_unstable_by_key(|(g, _)| *g);
    let mut groups = [0u32; GROUPS + 1];
    for (g, _) in &by_group {
        groups[g + 1] += 1;
    }
    for g in 0..GROUPS {
        groups[g + 1] += groups[g];
    }
    let keys = by_group.into_iter().map(|(_, p)| p).collect();
    DocIndex {
        keys,
        groups,
        payloads,
        blocks: blocks(id, doc, &text),
        text_len: text.chars.len() as u32,
    }
}

#[derive(Serialize)]
struct Block<'a> {
    u: &'a str,
    t: &'a str,
    d: Option<&'a str>,
    o: u32,
    x: &'a str,
}

/// The post's text in blocks of [`BLOCK_CHARS`] normalised characters, each cut
/// at a unit boundary (so it normalises on its own exactly as in the post).
fn blocks(id: u32, doc: &SearchDoc, text: &Normalized) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let units = &text.units;
    let mut k = 0u32;
    let mut first = 0usize;
    loop {
        let start_pos = units.get(first).map_or(0, |u| u.1);
        let end_pos = (k + 1) * BLOCK_CHARS + BLOCK_TAIL;
        let end_unit = first + units[first..].partition_point(|u| u.1 < end_pos);
        let start_byte = units.get(first).map_or(doc.text.len(), |u| u.0);
        let end_byte = units.get(end_unit).map_or(doc.text.len(), |u| u.0);
        let block = Block {
            u: &doc.url,
            t: &doc.title,
            d: doc.date.as_deref(),
            o: start_pos,
            x: &doc.text[start_byte..end_byte],
        };
        let bytes = serde_json::to_vec(&block).expect("a block serialises");
        out.push((format!("_search/d/{id}-{k}.json"), bytes));
        k += 1;
        first += units[first..].partition_point(|u| u.1 < k * BLOCK_CHARS);
        if first >= units.len() {
            break;
        }
    }
    out
}

fn push_varint(out: &mut Vec<u8>, mut v: u32) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(title: &str, text: &str) -> SearchDoc {
        SearchDoc {
            url: "/x/".into(),
            title: title.into(),
            date: None,
            text: text.into(),
        }
    }

    #[test]
    fn blocks_cover_the_text_with_a_tail() {
        let text = "あ".repeat((BLOCK_CHARS * 5 / 2) as usize);
        let d = doc("t", &text);
        let n = normalize(&d.text);
        let b = blocks(3, &d, &n);
        let names: Vec<&str> = b.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            names,
            [
                "_search/d/3-0.json",
                "_search/d/3-1.json",
                "_search/d/3-2.json"
            ]
        );
        let v: serde_json::Value = serde_json::from_slice(&b[1].1).unwrap();
        assert_eq!(v["o"], BLOCK_CHARS);
        assert_eq!(
            v["x"].as_str().unwrap().chars().count() as u32,
            BLOCK_CHARS + BLOCK_TAIL
        );
        let last: serde_json::Value = serde_json::from_slice(&b[2].1).unwrap();
        assert_eq!(
            last["x"].as_str().unwrap().chars().count() as u32,
            BLOCK_CHARS / 2
        );
    }

    #[test]
    fn an_empty_text_still_has_its_first_block() {
        let d = doc("題名だけ", "");
        let b = blocks(0, &d, &normalize(""));
        assert_eq!(b.len(), 1);
        assert!(String::from_utf8_lossy(&b[0].1).contains("\"x\":\"\""));
    }

    #[test]
    fn pairs_skip_spaces_and_lists_are_by_post() {
        let files = write_index(&[doc("", "ab cd"), doc("", "xab")]);
        let meta = files
            .iter()
            .find(|(p, _)| p == "_search/meta.json")
            .unwrap();
        let meta: serde_json::Value = serde_json::from_slice(&meta.1).unwrap();
        assert_eq!(meta["n"], 2);
        let shards = meta["s"].as_u64().unwrap() as usize;
        let shard = shard_of('a' as u32, 'b' as u32, shards);
        let bytes = &files
            .iter()
            .find(|(p, _)| *p == format!("_search/s/{shard}.bin"))
            .unwrap()
            .1;
        // "ab": post 0 at text position 0, post 1 (delta 1 × 2, not in the title)
        // at text position 1.
        let entry = [2, b'a', b'b', 6, 0, 1, 0, 2, 1, 1];
        assert!(bytes.windows(entry.len()).any(|w| w == entry), "{bytes:?}");
        // No pair across the space.
        let shard = shard_of('b' as u32, ' ' as u32, shards);
        let bytes = &files
            .iter()
            .find(|(p, _)| *p == format!("_search/s/{shard}.bin"))
            .unwrap()
            .1;
        assert!(!bytes.windows(3).any(|w| w == [2, b'b', b' ']));
    }

    #[test]
    fn varints() {
        let mut out = Vec::new();
        for v in [0, 127, 128, 300, u32::MAX] {
            push_varint(&mut out, v);
        }
        assert_eq!(
            out,
            [0, 127, 0x80, 1, 0xac, 2, 0xff, 0xff, 0xff, 0xff, 0x0f]
        );
    }
}
