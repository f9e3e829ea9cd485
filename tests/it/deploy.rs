//! `enishi deploy` against a real S3 and CloudFront API: moto's server, started
//! here on 127.0.0.1 with a free port, driven by the real `enishi` binary with the
//! standard AWS environment variables. `.ci/run` installs moto into a virtualenv
//! and sets ENISHI_REQUIRE_MOTO=1, so in CI these tests cannot be skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_s3::config::{Credentials, Region};
use serde_json::Value;

use crate::common::*;

const BUCKET: &str = "enishi-test-site";
const REGION: &str = "ap-northeast-1";

/// A moto server of our own, and SDK clients to look at what it holds.
struct Moto {
    child: Child,
    endpoint: String,
    runtime: tokio::runtime::Runtime,
    s3: aws_sdk_s3::Client,
    cloudfront: aws_sdk_cloudfront::Client,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto_server() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("ENISHI_MOTO_SERVER") {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("moto_server"))
            .find(|p| p.is_file())
    })
}

impl Moto {
    /// None (with a note) when moto is not installed and CI does not require it.
    fn start() -> Option<Moto> {
        Self::start_with(&[])
    }

    fn start_with(env: &[(&str, &str)]) -> Option<Moto> {
        let Some(server) = moto_server() else {
            assert!(
                std::env::var("ENISHI_REQUIRE_MOTO").is_err(),
                "moto_server is required (see .ci/run)"
            );
            eprintln!("skipped: moto_server not installed (.ci/run installs it into a virtualenv)");
            return None;
        };
        let port = crate::common::free_port();
        let child = Command::new(server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let endpoint = format!("http://127.0.0.1:{port}");
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let credentials = Credentials::new("testing", "testing", None, None, "test");
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::Config::builder()
                .behavior_version_latest()
                .http_client(http.clone())
                .region(Region::new(REGION))
                .endpoint_url(&endpoint)
                .force_path_style(true)
                .credentials_provider(credentials.clone())
                .build(),
        );
        let cloudfront = aws_sdk_cloudfront::Client::from_conf(
            aws_sdk_cloudfront::Config::builder()
                .behavior_version_latest()
                .http_client(http)
                .region(aws_sdk_cloudfront::config::Region::new("us-east-1"))
                .endpoint_url(&endpoint)
                .credentials_provider(credentials)
                .build(),
        );
        let moto = Moto {
            child,
            endpoint,
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            s3,
            cloudfront,
        };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "moto_server did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(moto)
    }

    fn create_bucket(&self, name: &str) {
        use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
        self.runtime
            .block_on(
                self.s3
                    .create_bucket()
                    .bucket(name)
                    .create_bucket_configuration(
                        CreateBucketConfiguration::builder()
                            .location_constraint(BucketLocationConstraint::from(REGION))
                            .build(),
                    )
                    .send(),
            )
            .unwrap();
    }

    fn create_distribution(&self) -> String {
        use aws_sdk_cloudfront::types::*;
        let origin = Origin::builder()
            .id("site")
            .domain_name(format!("{BUCKET}.s3.amazonaws.com"))
            .s3_origin_config(S3OriginConfig::builder().origin_access_identity("").build())
            .build()
            .unwrap();
        let behavior = DefaultCacheBehavior::builder()
            .target_origin_id("site")
            .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
            .cache_policy_id("658327ea-f89d-4fab-a63d-7e88639e58f6")
            .build()
            .unwrap();
        let config = DistributionConfig::builder()
            .caller_reference("enishi-test")
            .origins(
                Origins::builder()
                    .quantity(1)
                    .items(origin)
                    .build()
                    .unwrap(),
            )
            .default_cache_behavior(behavior)
            .comment("")
            .enabled(true)
            .build()
            .unwrap();
        let out = self
            .runtime
            .block_on(
                self.cloudfront
                    .create_distribution()
                    .distribution_config(config)
                    .send(),
            )
            .unwrap();
        out.distribution().unwrap().id().to_string()
    }

    fn put(&self, key: &str, body: &[u8]) {
        self.runtime
            .block_on(
                self.s3
                    .put_object()
                    .bucket(BUCKET)
                    .key(key)
                    .body(body.to_vec().into())
                    .send(),
            )
            .unwrap();
    }

    /// Every key in the bucket with its ETag (all pages).
    fn objects(&self) -> BTreeMap<String, String> {
        self.runtime.block_on(async {
            let mut pages = self
                .s3
                .list_objects_v2()
                .bucket(BUCKET)
                .into_paginator()
                .send();
            let mut out = BTreeMap::new();
            while let Some(page) = pages.next().await {
                for o in page.unwrap().contents() {
                    out.insert(o.key().unwrap().to_string(), o.e_tag().unwrap().to_string());
                }
            }
            out
        })
    }

    /// Content-Type and Cache-Control of an object.
    fn headers(&self, key: &str) -> (String, String) {
        let head = self
            .runtime
            .block_on(self.s3.head_object().bucket(BUCKET).key(key).send())
            .unwrap_or_else(|e| panic!("{key}: {e:?}"));
        (
            head.content_type().unwrap_or("").to_string(),
            head.cache_control().unwrap_or("").to_string(),
        )
    }

    /// The paths of every invalidation of the distribution.
    fn invalidations(&self, distribution: &str) -> Vec<Vec<String>> {
        self.runtime.block_on(async {
            let list = self
                .cloudfront
                .list_invalidations()
                .distribution_id(distribution)
                .send()
                .await
                .unwrap();
            let mut out = Vec::new();
            for summary in list
                .invalidation_list()
                .map(|l| l.items())
                .unwrap_or_default()
            {
                let inv = self
                    .cloudfront
                    .get_invalidation()
                    .distribution_id(distribution)
                    .id(summary.id())
                    .send()
                    .await
                    .unwrap();
                let batch = inv.invalidation().unwrap().invalidation_batch().unwrap();
                let mut paths = batch.paths().unwrap().items().to_vec();
                paths.sort();
                out.push(paths);
            }
            out
        })
    }

    /// The environment a CI job would give `enishi deploy`, isolated from this
    /// machine's own AWS files.
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", REGION.into()),
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_CONFIG_FILE", "/nonexistent/enishi-test".into()),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent/enishi-test".into(),
            ),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }
}

/// Runs `enishi deploy` with moto's environment and nothing of this machine's own
/// AWS settings (a developer's AWS_PROFILE or AWS_ENDPOINT_URL_S3 must not leak in).
fn deploy_with(site: &TestSite, moto: &Moto, args: &[&str], extra: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_enishi"));
    command.arg("deploy").args(args).current_dir(site.root());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("AWS_") {
            command.env_remove(name);
        }
    }
    command.envs(moto.env()).envs(extra.iter().copied());
    command.output().unwrap()
}

/// Deploys with `--json` and returns the report; panics with stderr on failure.
fn deploy_json(site: &TestSite, moto: &Moto, args: &[&str]) -> Value {
    let mut argv = vec!["--json"];
    argv.extend_from_slice(args);
    let out = deploy_with(site, moto, &argv, &[]);
    assert!(
        out.status.success(),
        "deploy failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_string())
        .collect()
}

fn blog(deploy: &str) -> TestSite {
    let site = TestSite::with_config(&format!("{SITE_TOML}\n[deploy]\n{deploy}\n"));
    for (i, tag) in ["旅", "料理", "旅"].iter().enumerate() {
        site.post(
            &format!("p{i}"),
            &format!(
                "title: 記事{i}\ndate: 2024-01-0{}\nslug: p{i}\ntags: [{tag}]",
                i + 1
            ),
            &format!("{tag}の話を書きました。本文{i}。"),
        );
    }
    site.write("static/css/app.3f9a0c1b.css", "p { color: teal; }\n");
    site
}

fn target() -> String {
    format!("target = \"s3://{BUCKET}\"")
}

/// The blog built, with a fresh bucket and a distribution to deploy to.
fn built_behind_cloudfront(moto: &Moto) -> (TestSite, String) {
    moto.create_bucket(BUCKET);
    let dist = moto.create_distribution();
    let site = blog(&format!(
        "{}\ncloudfront_distribution_id = \"{dist}\"",
        target()
    ));
    site.build();
    (site, dist)
}

/// The blog built and deployed once to a fresh bucket behind a distribution.
fn deployed_behind_cloudfront(moto: &Moto) -> (TestSite, String) {
    let (site, dist) = built_behind_cloudfront(moto);
    deploy_json(&site, moto, &[]);
    (site, dist)
}

/// A deploy stopped by the test hook right after its first upload.
fn deploy_killed_after_one_upload(site: &TestSite, moto: &Moto) {
    let out = deploy_with(site, moto, &[], &[("ENISHI_TEST_STOP_AFTER_UPLOADS", "1")]);
    assert_eq!(
        out.status.code(),
        Some(86),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn one_line_error(out: &Output) -> String {
    assert!(!out.status.success(), "deploy should have failed");
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    assert_eq!(stderr.lines().count(), 1, "one line expected: {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

#[test]
fn first_deploy_uploads_every_file_with_its_headers_and_the_next_uploads_nothing() {
    let Some(moto) = Moto::start() else { return };
    let (site, dist) = built_behind_cloudfront(&moto);
    let files: BTreeSet<String> = site.snapshot().into_keys().collect();

    let first = deploy_json(&site, &moto, &[]);
    assert_eq!(keys(&first["uploaded"]), files);
    assert_eq!(first["deleted"], serde_json::json!([]));
    assert_eq!(first["unchanged"], 0);
    assert_eq!(first["dry_run"], false);
    // Nothing was live before: nothing for the CDN to forget.
    assert_eq!(first["invalidation"], Value::Null);
    let on_s3: BTreeSet<String> = moto.objects().into_keys().collect();
    assert_eq!(on_s3, files);

    let revalidate = "public, max-age=0, s-maxage=31536000, must-revalidate";
    assert_eq!(
        moto.headers("index.html"),
        ("text/html; charset=utf-8".into(), revalidate.into())
    );
    assert_eq!(
        moto.headers("2024/01/01/p0/index.html").0,
        "text/html; charset=utf-8"
    );
    assert_eq!(
        moto.headers("sitemap.xml"),
        ("text/xml; charset=utf-8".into(), revalidate.into())
    );
    assert_eq!(
        moto.headers("css/app.3f9a0c1b.css"),
        (
            "text/css; charset=utf-8".into(),
            "public, max-age=31536000, immutable".into()
        )
    );

    let second = deploy_json(&site, &moto, &[]);
    assert_eq!(second["uploaded"], serde_json::json!([]));
    assert_eq!(second["deleted"], serde_json::json!([]));
    assert_eq!(second["unchanged"], files.len());
    assert_eq!(second["bytes_uploaded"], 0);
    assert_eq!(second["invalidation"], Value::Null);
    assert!(moto.invalidations(&dist).is_empty());
}

#[test]
fn an_edited_post_uploads_only_its_changed_files_and_invalidates_exactly_their_paths() {
    let Some(moto) = Moto::start() else { return };
    let (site, dist) = deployed_behind_cloudfront(&moto);
    let before = site.snapshot();

    site.post(
        "p1",
        "title: 記事1\ndate: 2024-01-02\nslug: p1\ntags: [料理]",
        "書き直した本文です。",
    );
    site.build();
    let after = site.snapshot();
    let changed: BTreeSet<String> = after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(v))
        .map(|(k, _)| k.clone())
        .collect();
    assert!(changed.contains("2024/01/02/p1/index.html"), "{changed:?}");

    let report = deploy_json(&site, &moto, &[]);
    assert_eq!(keys(&report["uploaded"]), changed);
    assert_eq!(report["unchanged"], after.len() - changed.len());
    let mut expected: Vec<String> = Vec::new();
    let encode = |p: &str| {
        p.split('/')
            .map(|s| {
                percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC)
                    .to_string()
            })
            .collect::<Vec<_>>()
            .join("/")
            .replace("%2E", ".")
            .replace("%2D", "-")
            .replace("%5F", "_")
    };
    for rel in changed.iter().map(|r| encode(r)) {
        if let Some(folder) = rel.strip_suffix("index.html") {
            expected.push(format!("/{folder}"));
        }
        expected.push(format!("/{rel}"));
    }
    expected.sort();
    let invalidation = &report["invalidation"];
    let paths: Vec<String> = keys(&invalidation["paths"]).into_iter().collect();
    assert!(
        expected.iter().any(|p| p.contains("%E6%96%99")),
        "{expected:?}"
    );
    assert_eq!(paths, expected);
    assert!(!invalidation["id"].as_str().unwrap().is_empty());
    assert_eq!(moto.invalidations(&dist), vec![expected]);
}

#[test]
fn a_removed_post_is_deleted_and_invalidated() {
    let Some(moto) = Moto::start() else { return };
    let (site, dist) = deployed_behind_cloudfront(&moto);

    std::fs::remove_file(site.root().join("content/posts/p2.md")).unwrap();
    site.build();
    let live_before = moto.objects();
    let report = deploy_json(&site, &moto, &["--wait"]);
    assert!(
        keys(&report["deleted"]).contains("2024/01/03/p2/index.html"),
        "{report}"
    );
    let on_s3: BTreeSet<String> = moto.objects().into_keys().collect();
    let local: BTreeSet<String> = site.snapshot().into_keys().collect();
    assert_eq!(on_s3, local);
    let paths = keys(&report["invalidation"]["paths"]);
    assert!(paths.contains("/2024/01/03/p2/") && paths.contains("/2024/01/03/p2/index.html"));
    // Only what was live before is invalidated.
    for path in &paths {
        let path = percent_encoding::percent_decode_str(path)
            .decode_utf8()
            .unwrap();
        let key = path.trim_start_matches('/');
        let key = if key.is_empty() || key.ends_with('/') {
            format!("{key}index.html")
        } else {
            key.to_string()
        };
        assert!(live_before.contains_key(&key), "{path} was not live");
    }
    assert_eq!(moto.invalidations(&dist).len(), 1);
}

#[test]
fn dry_run_and_a_refused_max_deletes_change_nothing() {
    let Some(moto) = Moto::start() else { return };
    let (site, dist) = deployed_behind_cloudfront(&moto);
    let deployed = moto.objects();

    std::fs::remove_file(site.root().join("content/posts/p0.md")).unwrap();
    site.post(
        "p1",
        "title: 記事1\ndate: 2024-01-02\nslug: p1",
        "変えました。",
    );
    site.build();

    let plan = deploy_json(&site, &moto, &["--dry-run"]);
    assert_eq!(plan["dry_run"], true);
    assert!(!keys(&plan["uploaded"]).is_empty());
    assert!(keys(&plan["deleted"]).contains("2024/01/01/p0/index.html"));
    assert!(!keys(&plan["invalidation"]["paths"]).is_empty());
    assert_eq!(moto.objects(), deployed);
    assert!(moto.invalidations(&dist).is_empty());

    let out = deploy_with(&site, &moto, &["--max-deletes", "0"], &[]);
    let err = one_line_error(&out);
    assert!(
        err.contains("refusing to delete") && err.contains("--max-deletes"),
        "{err}"
    );
    assert_eq!(moto.objects(), deployed);
    assert!(moto.invalidations(&dist).is_empty());
}

#[test]
fn wrong_credentials_and_a_missing_bucket_are_one_line_errors() {
    // With IAM authentication on, moto knows no key until one is created.
    let Some(moto) = Moto::start_with(&[("INITIAL_NO_AUTH_ACTION_COUNT", "0")]) else {
        return;
    };
    let site = blog(&target());
    site.build();
    let out = deploy_with(
        &site,
        &moto,
        &[],
        &[("AWS_ACCESS_KEY_ID", "AKIAENISHIWRONGKEY00")],
    );
    let err = one_line_error(&out);
    assert!(
        err.contains("rejected the credentials") && err.contains("InvalidAccessKeyId"),
        "{err}"
    );

    let Some(open) = Moto::start() else { return };
    let out = deploy_with(&site, &open, &[], &[]);
    let err = one_line_error(&out);
    assert!(
        err.contains(&format!("the bucket {BUCKET} does not exist")),
        "{err}"
    );

    let out = deploy_with(
        &site,
        &open,
        &[],
        &[("AWS_ACCESS_KEY_ID", ""), ("AWS_SECRET_ACCESS_KEY", "")],
    );
    let err = one_line_error(&out);
    assert!(err.contains("no AWS credentials"), "{err}");
}

#[test]
fn a_file_over_the_multipart_threshold_is_not_uploaded_again() {
    let Some(moto) = Moto::start() else { return };
    moto.create_bucket(BUCKET);
    let site = blog(&format!("{}\nmultipart_threshold_mb = 5", target()));
    // 6 MiB that do not compress: two parts.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let big: Vec<u8> = (0..6 * 1024 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    site.write("static/files/talk.mp4", &big);
    site.build();
    let first = deploy_json(&site, &moto, &[]);
    assert!(keys(&first["uploaded"]).contains("files/talk.mp4"));
    let etag = moto.objects()["files/talk.mp4"].clone();
    assert!(etag.ends_with("-2\""), "a multipart ETag: {etag}");
    assert_eq!(moto.headers("files/talk.mp4").0, "video/mp4");

    let second = deploy_json(&site, &moto, &[]);
    assert_eq!(second["uploaded"], serde_json::json!([]));

    // Same size, other bytes: the recorded MD5 tells them apart.
    let mut edited = big.clone();
    edited[100] ^= 0xff;
    site.write("static/files/talk.mp4", &edited);
    site.build();
    let third = deploy_json(&site, &moto, &[]);
    assert_eq!(
        keys(&third["uploaded"]),
        BTreeSet::from(["files/talk.mp4".to_string()])
    );
}

#[test]
fn a_prefix_keeps_the_rest_of_the_bucket_and_listing_pages_past_1000() {
    let Some(moto) = Moto::start() else { return };
    moto.create_bucket(BUCKET);
    moto.put("other/keep.txt", b"not ours");
    moto.put("site/ja/stale.html", b"left by an old deploy");
    let site = blog(&format!("target = \"s3://{BUCKET}/site/ja/\""));
    for i in 0..1100 {
        site.write(
            &format!("static/icons/{i:04}.svg"),
            format!("<svg id=\"{i}\"/>"),
        );
    }
    site.build();
    let files: BTreeSet<String> = site.snapshot().into_keys().collect();
    assert!(files.len() > 1100);
    let first = deploy_json(&site, &moto, &[]);
    assert_eq!(keys(&first["uploaded"]), files);
    assert_eq!(
        keys(&first["deleted"]),
        BTreeSet::from(["stale.html".to_string()])
    );
    let on_s3: BTreeSet<String> = moto.objects().into_keys().collect();
    let mut expected: BTreeSet<String> = files.iter().map(|f| format!("site/ja/{f}")).collect();
    expected.insert("other/keep.txt".into());
    assert_eq!(on_s3, expected);
    // Every page of the listing is read: nothing is uploaded again.
    let second = deploy_json(&site, &moto, &[]);
    assert_eq!(second["uploaded"], serde_json::json!([]));
    assert_eq!(second["unchanged"], files.len());
}

#[test]
fn a_deploy_killed_halfway_deleted_nothing_and_the_next_one_converges() {
    let Some(moto) = Moto::start() else { return };
    moto.create_bucket(BUCKET);
    let site = blog(&target());
    site.build();
    deploy_json(&site, &moto, &[]);
    std::fs::remove_file(site.root().join("content/posts/p0.md")).unwrap();
    site.post(
        "p1",
        "title: 記事1\ndate: 2024-01-02\nslug: p1",
        "変えました。",
    );
    site.build();

    deploy_killed_after_one_upload(&site, &moto);
    assert!(
        moto.objects().contains_key("2024/01/01/p0/index.html"),
        "nothing deleted yet"
    );

    deploy_json(&site, &moto, &[]);
    let local: BTreeSet<String> = site.snapshot().into_keys().collect();
    assert_eq!(moto.objects().into_keys().collect::<BTreeSet<_>>(), local);
    let last = deploy_json(&site, &moto, &[]);
    assert_eq!(last["uploaded"], serde_json::json!([]));
}

#[test]
fn paths_a_killed_deploy_owed_the_cdn_are_invalidated_by_the_next() {
    let Some(moto) = Moto::start() else { return };
    let (site, dist) = deployed_behind_cloudfront(&moto);
    site.write("static/css/app.3f9a0c1b.css", "p { color: navy; }\n");
    site.post(
        "p1",
        "title: 記事1\ndate: 2024-01-02\nslug: p1\ntags: [料理]",
        "変えました。",
    );
    site.build();

    // Dies after the first upload (the stylesheet): replaced, never invalidated.
    deploy_killed_after_one_upload(&site, &moto);
    assert!(moto.invalidations(&dist).is_empty());

    let report = deploy_json(&site, &moto, &[]);
    let paths = keys(&report["invalidation"]["paths"]);
    assert!(paths.contains("/css/app.3f9a0c1b.css"), "{paths:?}");
    assert!(paths.contains("/2024/01/02/p1/"), "{paths:?}");
    assert!(!keys(&report["uploaded"]).contains("css/app.3f9a0c1b.css"));
    // Owed paths are paid once; the bookkeeping is not part of the site.
    let again = deploy_json(&site, &moto, &[]);
    assert_eq!(again["invalidation"], Value::Null);
    assert_eq!(again["deleted"], serde_json::json!([]));
    assert!(
        !moto
            .objects()
            .keys()
            .any(|k| k.starts_with(".enishi-deploy/"))
    );
}

#[test]
fn an_unreachable_endpoint_is_a_one_line_error() {
    let Some(moto) = Moto::start() else { return };
    let site = blog(&target());
    site.build();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let endpoint = format!("http://127.0.0.1:{port}");
    let out = deploy_with(&site, &moto, &[], &[("AWS_ENDPOINT_URL", &endpoint)]);
    let err = one_line_error(&out);
    assert!(
        err.contains(&format!("cannot reach {endpoint}")) && err.contains("network"),
        "{err}"
    );
}

#[test]
fn an_output_whose_last_write_did_not_finish_is_refused() {
    let Some(moto) = Moto::start() else { return };
    moto.create_bucket(BUCKET);
    let site = blog(&target());
    let out = site.run_with_env(&["build"], &[("ENISHI_TEST_STOP_AFTER_WRITES", "3")]);
    assert_eq!(out.status.code(), Some(86));
    let err = one_line_error(&deploy_with(&site, &moto, &[], &[]));
    assert!(
        err.contains("did not finish writing") && err.contains("enishi build"),
        "{err}"
    );
    assert!(moto.objects().is_empty());
}

/// The CloudFront Function shipped for a REST-endpoint origin, run under Node.js
/// with CloudFront's event shape: folders get their index.html, old URLs without
/// the trailing slash are redirected to the folder, files pass through.
#[test]
fn the_cloudfront_function_serves_folders_and_redirects_old_urls() {
    let Some(node) = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("node"))
            .find(|p| p.is_file())
    }) else {
        assert!(
            std::env::var("ENISHI_REQUIRE_NODE").is_err(),
            "node is required (see .ci/run)"
        );
        eprintln!("skipped: node not installed (.ci/run installs it)");
        return;
    };
    let function = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/cloudfront-directory-index.js"
    );
    let harness = format!(
        r#"const src = require('fs').readFileSync({function:?}, 'utf8');
const handler = new Function(src + '\nreturn handler;')();
const cases = [
  ['/', {{}}], ['/2024/05/26/hello/', {{}}], ['/entry/2020/01/01/123456', {{}}],
  ['/entry/2020/01/01/123456', {{ a: {{ value: '1' }}, b: {{ value: '', multiValue: [{{ value: 'x' }}, {{ value: 'y' }}] }} }}],
  ['/feed.xml', {{}}], ['/_img/ab/cd-600.webp', {{}}],
];
for (const [uri, querystring] of cases) {{
  const r = handler({{ request: {{ uri, querystring, headers: {{}} }} }});
  console.log(r.statusCode ? r.statusCode + ' ' + r.headers.location.value : 'origin ' + r.uri);
}}"#
    );
    let out = Command::new(node).arg("-e").arg(harness).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .collect::<Vec<_>>(),
        [
            "origin /index.html",
            "origin /2024/05/26/hello/index.html",
            "301 /entry/2020/01/01/123456/",
            "301 /entry/2020/01/01/123456/?a=1&b=x&b=y",
            "origin /feed.xml",
            "origin /_img/ab/cd-600.webp",
        ]
    );
}
