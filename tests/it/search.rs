//! Site search: the index files a build writes, and the module `search.js` run in
//! headless Chromium against a site served by `enishi serve`.

use serde_json::{Value, json};

use crate::browser::Browser;
use crate::common::{TestSite, warnings_text};
use crate::serve::Server;

/// Posts built around the cases a Japanese search gets wrong.
fn blog() -> TestSite {
    let site = TestSite::new();
    site.post(
        "shinkansen",
        "title: 新幹線で大阪へ\ndate: 2024-03-01",
        "朝の東海道新幹線に乗った。車内販売のコーヒーを飲みながら走った距離を数えた。",
    );
    site.post(
        "shin-osaka",
        "title: 駅の話\ndate: 2024-03-02",
        "新大阪駅で降りて、新しい靴で歩いた。",
    );
    site.post(
        "kansen",
        "title: 道路の話\ndate: 2024-03-03",
        "幹線道路が混んでいたので、新千歳空港行きのバスは遅れた。",
    );
    site.post(
        "aws",
        "title: クラウドの記録\ndate: 2024-03-04",
        "ＡＷＳ の ＥＣ２ で小さなサーバーを立てた。ｶﾒﾗの写真もここに置く。",
    );
    site.post(
        "lambda",
        "title: Lambda\ndate: 2024-03-05",
        "AWS Lambda だけで作った。GitHub Actions から配備する。",
    );
    site.post(
        "markup",
        "title: 記号の話\ndate: 2024-03-06",
        "本文に &lt;img src=x onerror=alert(1)&gt; と書いても、新幹線の話はただの文字。",
    );
    site.post(
        "tokyo",
        "title: 東京から京都へ\ndate: 2024-03-07",
        "東京を出て京都に着いた。",
    );
    site.post(
        "hidden",
        "title: 検索に出ない新幹線\ndate: 2024-03-08\nsearch: false",
        "新幹線の話だが、検索からは外す。",
    );
    site.write(
        "content/about.md",
        "---\ntitle: このサイトについて\n---\n\n東京都に住んでいる。\n",
    );
    site
}

#[test]
fn the_build_writes_the_index_and_leaves_out_search_false() {
    let site = blog();
    let report = site.build();
    let public = site.public();
    for file in [
        "_search/search.js",
        "_search/meta.json",
        "_search/docs.bin",
        "search/index.html",
    ] {
        assert!(public.join(file).is_file(), "{file} is missing");
    }
    let meta: Value = serde_json::from_str(&site.read("_search/meta.json")).unwrap();
    assert_eq!(meta["n"], 8, "seven posts and the about page: {meta}");
    let blocks: String = std::fs::read_dir(public.join("_search/d"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(blocks.contains("東海道新幹線"));
    assert!(
        !blocks.contains("検索からは外す"),
        "search: false is indexed"
    );
    // Every page has the search box, pointing at /search/.
    let doc = site.html("index.html");
    assert_eq!(
        crate::common::attr(&doc, "form.site-search", "action"),
        "/search/"
    );
    assert!(report.pages > 0 && report.files > report.pages);

    // Nothing changed: nothing is written. One post changed: its blocks and some
    // shards change, the other posts' blocks keep their bytes.
    let before = site.snapshot();
    assert_eq!(site.build().written.written, 0);
    site.post(
        "kansen",
        "title: 道路の話\ndate: 2024-03-03",
        "幹線道路が空いていた。",
    );
    site.build();
    let after = site.snapshot();
    let changed: Vec<&String> = after
        .iter()
        .filter(|(path, bytes)| before.get(*path) != Some(*bytes))
        .map(|(path, _)| path)
        .collect();
    assert!(
        changed.iter().any(|p| p.starts_with("_search/s/")),
        "{changed:?}"
    );
    let changed_blocks: Vec<&&String> = changed
        .iter()
        .filter(|p| p.starts_with("_search/d/"))
        .collect();
    assert_eq!(changed_blocks.len(), 1, "{changed_blocks:?}");
}

#[test]
fn search_can_be_turned_off_and_a_page_of_the_site_wins_at_search() {
    let off = TestSite::with_config(&format!(
        "{}[search]\nenabled = false\n",
        crate::common::SITE_TOML
    ));
    off.post("a", "title: A\ndate: 2024-01-01", "本文。");
    off.build();
    assert!(!off.public().join("_search").exists());
    assert!(!off.public().join("search/index.html").exists());
    assert!(!off.read("index.html").contains("site-search"));

    let own = TestSite::new();
    own.post("a", "title: A\ndate: 2024-01-01", "本文。");
    own.write(
        "content/search.md",
        "---\ntitle: 自作の検索ページ\n---\n\nここで探せます。\n",
    );
    let report = own.build();
    assert!(own.read("search/index.html").contains("自作の検索ページ"));
    let warnings = warnings_text(&report);
    assert!(
        warnings.contains("content/search.md") && warnings.contains("built-in search page"),
        "{warnings}"
    );
    assert!(own.public().join("_search/search.js").is_file());
}

/// Titles of each query's results, by calling the module in the page.
fn search_titles(browser: &Browser, module: &str, queries: &[&str]) -> Vec<Vec<String>> {
    let results = run_queries(browser, module, queries);
    results
        .as_array()
        .unwrap_or_else(|| panic!("no results: {results}"))
        .iter()
        .map(|list| {
            list.as_array()
                .unwrap()
                .iter()
                .map(|r| r["title"].as_str().unwrap().to_string())
                .collect()
        })
        .collect()
}

fn run_queries(browser: &Browser, module: &str, queries: &[&str]) -> Value {
    browser.script_async(
        "const [url, queries, done] = arguments;
         import(url)
           .then((m) => Promise.all(queries.map((q) => m.search(q))))
           .then(done, (e) => done('error: ' + e));",
        json!([module, queries]),
    )
}

#[test]
fn chromium_finds_what_the_reader_typed() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let site = blog();
    // Three with the same text and title length, so the same score: the newer
    // dated post, the older one, then the undated page.
    for (slug, meta) in [
        ("tie-old", "title: 同点その一\ndate: 2024-01-01"),
        ("tie-new", "title: 同点その二\ndate: 2024-02-01"),
    ] {
        site.post(slug, meta, "ぴったり同じ文章。");
    }
    site.write(
        "content/tie.md",
        "---\ntitle: 同点その三\n---\n\nぴったり同じ文章。\n",
    );
    let server = Server::start(&site, &[]);
    browser.navigate(&format!("{}/", server.base));
    let module = format!("{}/_search/search.js", server.base);

    let queries = [
        "新幹線",
        "新",
        "ＡＷＳ",
        "aws",
        "ｶﾒﾗ",
        "カメラ",
        "AWS　EC2",
        "aws lambda",
        "github actions",
        "東京都",
        "京都",
        "走った",
        "量子コンピュータ",
        "新幹線 量子",
        "ぴったり",
    ];
    let got = search_titles(&browser, &module, &queries);
    let of = |q: &str| &got[queries.iter().position(|x| *x == q).unwrap()];
    // The compound, title match first; never the posts with only 新 or 幹線.
    assert_eq!(of("新幹線"), &["新幹線で大阪へ", "記号の話"]);
    assert!(of("新").contains(&"駅の話".to_string()), "{:?}", of("新"));
    assert!(of("新").contains(&"道路の話".to_string()));
    // Widths and case are one.
    assert_eq!(of("ＡＷＳ"), of("aws"));
    let mut aws = of("aws").clone();
    aws.sort();
    assert_eq!(aws, ["Lambda", "クラウドの記録"]);
    assert_eq!(of("ｶﾒﾗ"), &["クラウドの記録"]);
    assert_eq!(of("カメラ"), of("ｶﾒﾗ"));
    // Every word must match, whichever space separates them.
    assert_eq!(of("AWS　EC2"), &["クラウドの記録"]);
    assert_eq!(of("aws lambda"), &["Lambda"]);
    assert_eq!(of("github actions"), &["Lambda"]);
    // 東京都 only where it is written; 京都 wherever its characters are.
    assert_eq!(of("東京都"), &["このサイトについて"]);
    assert_eq!(of("京都"), &["東京から京都へ", "このサイトについて"]);
    assert_eq!(of("走った"), &["新幹線で大阪へ"]);
    assert!(of("量子コンピュータ").is_empty());
    assert!(of("新幹線 量子").is_empty());
    assert_eq!(of("ぴったり"), &["同点その二", "同点その一", "同点その三"]);

    // Excerpts: escaped text, the match marked, URLs from the host root.
    let results = run_queries(&browser, &module, &["onerror 新幹線"]);
    let hit = &results[0][0];
    assert_eq!(hit["url"], "/2024/03/06/markup/");
    let excerpt = hit["excerpt"].as_str().unwrap();
    assert!(!excerpt.contains("<img"), "{excerpt}");
    assert!(
        excerpt.contains("&#60;img src=x <mark>onerror</mark>=alert(1)&#62;"),
        "{excerpt}"
    );
    assert!(excerpt.contains("<mark>新幹線</mark>"), "{excerpt}");
    assert_eq!(hit["date"], "2024-03-06");
    let limited = run_queries(&browser, &module, &["新"]);
    assert!(limited[0].as_array().unwrap().len() >= 3);

    // One normalisation on both sides: the browser's matches the build's vectors.
    let vectors: Value =
        serde_json::from_str(include_str!("../fixtures/search/normalize.json")).unwrap();
    let js = browser.script_async(
        "const [url, vectors, done] = arguments;
         import(url).then((m) => done(vectors.map(([input]) => m.normalize(input).chars.join(''))),
                          (e) => done('error: ' + e));",
        json!([module, vectors]),
    );
    for (i, pair) in vectors.as_array().unwrap().iter().enumerate() {
        assert_eq!(js[i], pair[1], "{}", pair[0]);
    }

    // The search page: ?q= runs the search, results link to the posts.
    browser.navigate(&format!(
        "{}/search/?q=%E6%96%B0%E5%B9%B9%E7%B7%9A",
        server.base
    ));
    browser.wait_text("記号の話");
    let shown = browser.script(
        "return [...document.querySelectorAll('.search-results li h2 a')]
           .map((a) => a.textContent + ' ' + a.getAttribute('href')).join('|');",
    );
    assert_eq!(
        shown,
        "新幹線で大阪へ /2024/03/01/shinkansen/|記号の話 /2024/03/06/markup/"
    );
    let marks = browser.script("return document.querySelectorAll('.search-results mark').length;");
    assert!(marks.parse::<usize>().unwrap() >= 2, "{marks}");
}

#[test]
fn urls_carry_the_base_path() {
    let site = TestSite::with_config(
        "title = \"テストブログ\"\nbase_url = \"https://example.jp/blog/\"\n",
    );
    site.post("a", "title: 最初\ndate: 2024-05-26", "本文です。");
    site.build();
    let block: Value = serde_json::from_str(&site.read("_search/d/0-0.json")).unwrap();
    assert_eq!(block["u"], "/blog/2024/05/26/a/");
    assert_eq!(block["t"], "最初");
    assert_eq!(block["d"], "2024-05-26");
    let doc = site.html("index.html");
    assert_eq!(
        crate::common::attr(&doc, "form.site-search", "action"),
        "/blog/search/"
    );
    assert!(
        site.read("search/index.html")
            .contains("import { search } from \"/blog/_search/search.js\";")
    );
}
