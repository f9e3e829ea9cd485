//! Related posts: segmentation, cache reuse and invalidation, concurrency, JSON shape,
//! rendering into the post page.

use enishi::related::tokenize::Tokenizer;
use enishi::report::WarningKind;
use serde_json::Value;

use crate::common::*;

const POSTS: &[(&str, &str, &str)] = &[
    (
        "rust-own",
        "Rust の所有権入門",
        "Rust の所有権と借用を解説します。所有権の移動と参照、借用チェッカーのエラーについて。",
    ),
    (
        "rust-err",
        "Rust のエラー処理",
        "Rust では Result 型でエラー処理を書きます。借用と所有権に続いて覚えたい機能です。",
    ),
    (
        "rust-par",
        "Rust の並列処理",
        "Rust の rayon で並列処理を書きます。所有権のおかげでデータ競争が起きません。",
    ),
    (
        "dashi",
        "出汁のとり方",
        "昆布とかつお節で出汁をとります。味噌汁や煮物に使える合わせ出汁の作り方。",
    ),
    (
        "miso",
        "味噌汁の作り方",
        "合わせ出汁に味噌を溶いて味噌汁を作ります。具は豆腐と長ねぎ。出汁が大事です。",
    ),
    (
        "train",
        "鈍行列車の旅",
        "青春18きっぷで鈍行列車に乗り、京都まで旅をしました。車窓の富士山がきれいでした。",
    ),
];

fn related_site() -> TestSite {
    let site = TestSite::new();
    for (i, (name, title, body)) in POSTS.iter().enumerate() {
        site.post(
            name,
            &format!("title: {title}\ndate: 2024-01-{:02}", i + 1),
            body,
        );
    }
    site
}

fn related_json(site: &TestSite) -> Value {
    let out = site.run(&["related", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn segments_known_sentences_with_the_user_dictionary() {
    let t = Tokenizer::new(None).unwrap();
    let words: Vec<String> = t
        .segment("東京都に住んでいる")
        .unwrap()
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert_eq!(words, ["東京", "都", "に", "住ん", "で", "いる"]);
    let tokens = t.segment("サーバーレスでオートスケールする").unwrap();
    assert_eq!(tokens[0].0, "サーバーレス");
    assert_eq!(tokens[0].1[0], "名詞");
    assert_eq!(tokens[2].0, "オートスケール");

    let mut counts = std::collections::BTreeMap::new();
    t.count_terms(
        "機械学習のことを、ＧｉｔＨｕｂで学ぶ。これは猫です。",
        &mut counts,
    )
    .unwrap();
    let terms: Vec<&str> = counts.keys().map(|s| s.as_str()).collect();
    // Full-width letters are folded, pronouns and 非自立 nouns are dropped.
    assert!(terms.contains(&"github"), "{terms:?}");
    assert!(terms.contains(&"機械学習"), "{terms:?}");
    assert!(terms.contains(&"猫"), "{terms:?}");
    assert!(
        !terms.contains(&"こと") && !terms.contains(&"これ"),
        "{terms:?}"
    );
}

#[test]
fn counts_predicates_compounds_and_their_pairs() {
    let t = Tokenizer::new(None).unwrap();
    let mut counts = std::collections::BTreeMap::new();
    t.count_terms(
        "東京都知事選挙の結果を走りながら調べた。美味しいラーメンを食べて満足した。",
        &mut counts,
    )
    .unwrap();
    let count = |term: &str| counts.get(term).copied().unwrap_or(0);
    // 東京|都知事|選挙: the compound counts twice, its parts once each, and as it
    // has three parts, each adjacent pair once.
    assert_eq!(count("東京都知事選挙"), 2, "{counts:?}");
    assert_eq!(count("東京都知事"), 1, "{counts:?}");
    assert_eq!(count("都知事選挙"), 1, "{counts:?}");
    assert_eq!(count("都知事"), 1, "{counts:?}");
    assert_eq!(count("選挙"), 1, "{counts:?}");
    // Verbs and adjectives by their base form; grammatical ones are stopwords.
    assert_eq!(count("走る"), 1, "{counts:?}");
    assert_eq!(count("調べる"), 1, "{counts:?}");
    assert_eq!(count("美味しい"), 1, "{counts:?}");
    assert_eq!(count("食べる"), 1, "{counts:?}");
    assert_eq!(count("する"), 0, "{counts:?}");
}

#[test]
fn site_user_dictionary_adds_words_and_changes_the_fingerprint() {
    let plain = Tokenizer::new(None).unwrap();
    let words: Vec<String> = plain
        .segment("縁側ノートを読む")
        .unwrap()
        .into_iter()
        .map(|t| t.0)
        .collect();
    assert_ne!(words[0], "縁側ノート");
    let custom = Tokenizer::new(Some(("user.csv", "縁側ノート,名詞,エンガワノート\n"))).unwrap();
    let words: Vec<String> = custom
        .segment("縁側ノートを読む")
        .unwrap()
        .into_iter()
        .map(|t| t.0)
        .collect();
    assert_eq!(words[0], "縁側ノート");
    assert_ne!(plain.fingerprint(), custom.fingerprint());
    let err = Tokenizer::new(Some(("my.csv", "壊れた行\n")))
        .err()
        .unwrap()
        .to_string();
    assert!(err.starts_with("my.csv: invalid user dictionary"), "{err}");
}

#[test]
fn related_posts_follow_the_topic_and_render_under_the_post() {
    let site = related_site();
    site.build();
    let doc = site.html("2024/01/01/rust-own/index.html");
    let links: Vec<String> = select(&doc, ".related li a")
        .iter()
        .map(|a| a.value().attr("href").unwrap().to_string())
        .collect();
    assert!(links.len() >= 2, "{links:?}");
    assert_eq!(
        links[..2]
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .iter()
            .filter(|l| l.contains("rust-"))
            .count(),
        2,
        "{links:?}"
    );
    let miso = site.html("2024/01/05/miso/index.html");
    assert_eq!(attr(&miso, ".related li a", "href"), "/2024/01/04/dashi/");
}

#[test]
fn json_has_the_exact_shape() {
    let site = related_site();
    let v = related_json(&site);
    let posts = v.as_array().unwrap();
    assert_eq!(posts.len(), POSTS.len());
    let paths: Vec<&str> = posts.iter().map(|p| p["path"].as_str().unwrap()).collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted, "posts in path order");
    let first = posts
        .iter()
        .find(|p| p["path"] == "content/posts/miso.md")
        .unwrap();
    let keys: Vec<&String> = first.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 4);
    assert_eq!(first["url"], "/2024/01/05/miso/");
    assert_eq!(first["title"], "味噌汁の作り方");
    let r = &first["related"][0];
    assert_eq!(r.as_object().unwrap().len(), 4);
    assert_eq!(r["path"], "content/posts/dashi.md");
    assert_eq!(r["url"], "/2024/01/04/dashi/");
    assert_eq!(r["title"], "出汁のとり方");
    let score = r["score"].as_f64().unwrap();
    assert!(score > 0.0 && score <= 1.0);
    assert_eq!(
        (score * 10000.0).round() / 10000.0,
        score,
        "rounded to 4 decimals"
    );
    let scores: Vec<f64> = first["related"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["score"].as_f64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
}

#[test]
fn results_are_deterministic() {
    let site = related_site();
    let a = related_json(&site);
    std::fs::remove_dir_all(site.root().join(".enishi")).unwrap();
    let b = related_json(&site);
    assert_eq!(a, b);
}

#[test]
fn cache_skips_unchanged_posts_and_redoes_changed_ones() {
    let site = related_site();
    assert_eq!(site.build().tokenized, POSTS.len());
    assert!(site.root().join(".enishi/cache.sqlite").is_file());
    assert_eq!(site.build().tokenized, 0);
    let out = site.run(&["related"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("tokenized 0 of {} posts", POSTS.len())),
        "{stdout}"
    );

    site.post(
        "miso",
        "title: 味噌汁の作り方\ndate: 2024-01-05",
        "具を変えました。",
    );
    assert_eq!(site.build().tokenized, 1);

    // A new site user dictionary changes how text splits: everything is redone.
    site.write(
        "site.toml",
        format!("{SITE_TOML}[related]\nuser_dictionary = \"words.csv\"\n"),
    );
    site.write("words.csv", "合わせ出汁,名詞,アワセダシ\n");
    assert_eq!(site.build().tokenized, POSTS.len());
    assert_eq!(site.build().tokenized, 0);
}

#[test]
fn a_corrupt_cache_is_reported_moved_aside_and_rebuilt() {
    let site = related_site();
    site.build();
    let cache = site.root().join(".enishi/cache.sqlite");
    for side in ["cache.sqlite-wal", "cache.sqlite-shm"] {
        let _ = std::fs::remove_file(site.root().join(".enishi").join(side));
    }
    std::fs::write(
        &cache,
        b"this is not a database, just some bytes that someone wrote here",
    )
    .unwrap();
    let report = site.build();
    assert_eq!(report.tokenized, POSTS.len());
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert_eq!(report.warnings[0].kind, WarningKind::Cache);
    assert!(
        report.warnings[0]
            .to_string()
            .contains(".enishi/cache.sqlite"),
        "{:?}",
        report.warnings
    );
    assert!(
        report.warnings[0].to_string().contains("moved it to"),
        "{:?}",
        report.warnings
    );
    let aside = site.root().join(".enishi/cache.sqlite.corrupt");
    assert!(
        std::fs::read(&aside)
            .unwrap()
            .starts_with(b"this is not a database")
    );
    assert_eq!(site.build().tokenized, 0);

    // A SQLite file of some other program is not trusted either.
    std::fs::remove_file(&cache).unwrap();
    let conn = rusqlite::Connection::open(&cache).unwrap();
    conn.execute_batch("CREATE TABLE other (x); INSERT INTO other VALUES (1);")
        .unwrap();
    drop(conn);
    let report = site.build();
    assert!(
        report.warnings[0]
            .to_string()
            .contains("not an Enishi cache"),
        "{:?}",
        report.warnings
    );
    assert!(site.root().join(".enishi/cache.sqlite.corrupt-1").is_file());
}

#[test]
fn concurrent_build_and_related_share_one_cache() {
    let site = related_site();
    let opts = site.opts();
    std::thread::scope(|s| {
        let builds = s.spawn(|| {
            for _ in 0..4 {
                enishi::pipeline::build(&opts, &enishi::report::Reporter::quiet()).unwrap();
            }
        });
        let related = s.spawn(|| {
            for _ in 0..4 {
                let out = site.run(&["related", "--json"]);
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        });
        builds.join().unwrap();
        related.join().unwrap();
    });
    let conn = rusqlite::Connection::open(site.root().join(".enishi/cache.sqlite")).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM analysis", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows as usize, POSTS.len());
    assert_eq!(site.build().tokenized, 0);
}

#[test]
fn explain_shows_shared_terms() {
    let site = related_site();
    let out = site.run(&["related", "content/posts/miso.md", "--explain"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].starts_with("content/posts/miso.md — 味噌汁の作り方"),
        "{stdout}"
    );
    assert!(lines[1].contains("content/posts/dashi.md"), "{stdout}");
    assert!(lines[2].contains("出汁"), "{stdout}");
    let out = site.run(&["related", "content/posts/nothere.md"]);
    assert!(!out.status.success());
}

/// The tokenizing progress bar draws on a terminal only: run once under a
/// pseudo-terminal (`script`, from util-linux) and once with pipes.
#[test]
fn progress_bar_only_on_a_terminal() {
    let site = TestSite::new();
    for i in 0..60 {
        site.post(
            &format!("p{i:02}"),
            &format!("title: 記事{i}\ndate: 2024-02-01"),
            "出汁と味噌汁の話です。",
        );
    }
    let piped = site.run(&["related"]);
    assert!(piped.status.success());
    let all = [piped.stdout, piped.stderr].concat();
    let all = String::from_utf8_lossy(&all);
    assert!(!all.contains("形態素解析"), "{all}");
    assert!(all.contains("tokenized 60 of 60 posts"), "{all}");

    // Second run on a terminal: the cache must not hold the posts, or there is
    // nothing to tokenize and no bar.
    std::fs::remove_dir_all(site.root().join(".enishi")).unwrap();
    let command = format!(
        "cd '{}' && '{}' related",
        site.root().display(),
        env!("CARGO_BIN_EXE_enishi")
    );
    let on_tty = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .output()
        .expect("`script` (util-linux) runs the command on a pseudo-terminal");
    let shown = String::from_utf8_lossy(&on_tty.stdout);
    assert!(on_tty.status.success(), "{shown}");
    assert!(shown.contains("形態素解析"), "{shown}");
    assert!(shown.contains("tokenized 60 of 60 posts"), "{shown}");
}

/// The same posts give byte-identical related lists whatever the number of
/// threads: term ids, ranking and tie-breaks do not depend on how work is split.
#[test]
fn results_do_not_depend_on_the_thread_count() {
    const TOPICS: [&[&str]; 3] = [
        &["出汁", "昆布", "味噌汁", "豆腐", "鰹節", "煮物"],
        &["列車", "車窓", "京都", "旅館", "温泉", "切符"],
        &[
            "所有権",
            "借用",
            "並列処理",
            "型推論",
            "コンパイラ",
            "構造体",
        ],
    ];
    let site = TestSite::new();
    for i in 0..45usize {
        let words = TOPICS[i % 3];
        let body: String = (0..8)
            .map(|j| {
                format!(
                    "{}と{}の話。",
                    words[(i + j) % 6],
                    words[(i * 7 + j * 3) % 6]
                )
            })
            .collect();
        site.post(
            &format!("p{i:02}"),
            &format!("title: {}の記事{i}\ndate: 2024-03-01", words[i % 6]),
            &body,
        );
    }
    let run = |threads: &str| {
        let _ = std::fs::remove_dir_all(site.root().join(".enishi"));
        let out = site.run_with_env(&["related", "--json"], &[("RAYON_NUM_THREADS", threads)]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let one = run("1");
    let posts: Value = serde_json::from_slice(&one).unwrap();
    assert!(
        posts
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["related"].as_array().unwrap().len() == 5)
    );
    assert_eq!(one, run("2"));
    assert_eq!(one, run("3"));
}
