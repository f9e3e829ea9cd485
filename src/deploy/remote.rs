//! The bucket and the CDN, through the official AWS SDK: the standard credential
//! chain (environment, `AWS_PROFILE` with the shared files, SSO, web identity as
//! GitHub Actions OIDC gives it, container and instance roles), the standard
//! endpoint variables (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_S3`,
//! `AWS_ENDPOINT_URL_CLOUDFRONT`), and the SDK's retries with backoff on throttling
//! and 5xx. Every failure becomes one line saying what is wrong and what to do.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Result, anyhow};
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::{RequestChecksumCalculation, ResponseChecksumValidation};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, Delete, ObjectIdentifier};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

use super::headers::Headers;
use super::plan::{LocalFile, RemoteObject};
use crate::config::DeployConfig;

/// The metadata key holding a file's MD5, for objects whose ETag is not one
/// (multipart uploads, SSE-KMS).
pub const MD5_METADATA: &str = "enishi-md5";

/// Under the target, deploy's own bookkeeping: never part of the site, never
/// deleted. It holds the paths a deploy that died before invalidating still owes
/// the CDN, so the next deploy invalidates them too.
pub const PENDING_KEY: &str = ".enishi-deploy/pending-invalidation.json";

/// S3 allows at most 10,000 parts to an upload.
const MAX_PARTS: u64 = 10_000;

/// What the listing found under the target.
pub struct Listing {
    /// Objects of the site, by path inside it.
    pub objects: BTreeMap<String, RemoteObject>,
    /// Whether an earlier deploy left paths to invalidate.
    pub pending: bool,
}

/// `s3://bucket/prefix` taken apart; `prefix` is "" or ends with `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub bucket: String,
    pub prefix: String,
}

impl Target {
    pub fn parse(target: &str) -> Result<Target> {
        let bad = || {
            anyhow!(
                "site.toml: [deploy] target {target:?} must look like \"s3://bucket\" or \"s3://bucket/prefix\""
            )
        };
        let rest = target.strip_prefix("s3://").ok_or_else(bad)?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let prefix = prefix.trim_matches('/');
        if bucket.is_empty() || bucket.contains(|c: char| c.is_whitespace()) {
            return Err(bad());
        }
        Ok(Target {
            bucket: bucket.to_string(),
            prefix: if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            },
        })
    }

    pub fn key(&self, rel: &str) -> String {
        format!("{}{rel}", self.prefix)
    }

    pub fn display(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }
}

/// Clients for the bucket and the CDN, cheap to clone into concurrent tasks.
#[derive(Clone)]
pub struct Remote {
    s3: aws_sdk_s3::Client,
    cloudfront: aws_sdk_cloudfront::Client,
    pub target: Target,
    /// Where requests go, for error messages.
    endpoint: String,
    multipart_bytes: u64,
    requests: Arc<AtomicUsize>,
}

fn env_set(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Remote {
    pub async fn connect(config: &DeployConfig) -> Result<Remote> {
        let target = Target::parse(&config.target)?;
        // rustls with ring, the TLS reqwest already brings, instead of aws-lc.
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http)
            .retry_config(RetryConfig::standard().with_max_attempts(5))
            // No read timeout: it would cover sending a whole upload on a slow
            // line; stalled-stream protection (on by default) catches a dead one.
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(10))
                    .build(),
            );
        if let Some(region) = &config.region {
            loader = loader.region(Region::new(region.clone()));
        }
        let sdk = loader.load().await;
        if sdk.region().is_none() {
            return Err(anyhow!(
                "no AWS region: set region in [deploy] of site.toml, or AWS_REGION"
            ));
        }
        check_credentials(&sdk).await?;
        // Also an endpoint from the profile (`endpoint_url`), which the SDK uses too.
        let env_endpoint = env_set("AWS_ENDPOINT_URL_S3")
            .or_else(|| env_set("AWS_ENDPOINT_URL"))
            .or_else(|| sdk.endpoint_url().map(str::to_string));
        let endpoint = config.endpoint.clone().or(env_endpoint);
        let mut s3 = aws_sdk_s3::config::Builder::from(&sdk)
            // Send only the checksums S3 requires (we send Content-MD5 ourselves):
            // S3-compatible services do not all know the newer ones.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        if let Some(url) = &config.endpoint {
            s3 = s3.endpoint_url(url);
        }
        if endpoint.is_some() {
            s3 = s3.force_path_style(true);
        }
        Ok(Remote {
            s3: aws_sdk_s3::Client::from_conf(s3.build()),
            cloudfront: aws_sdk_cloudfront::Client::new(&sdk),
            endpoint: endpoint.unwrap_or_else(|| "S3".into()),
            target,
            multipart_bytes: config.multipart_threshold_mb * 1024 * 1024,
            requests: Arc::default(),
        })
    }

    /// Requests sent so far (retries inside the SDK not counted).
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }

    fn count(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// Every object under the target, by path inside the site (every page of the
    /// listing). Folder markers (`x/`) and deploy's own keys are left out.
    pub async fn list(&self) -> Result<Listing> {
        let mut pages = self
            .s3
            .list_objects_v2()
            .bucket(&self.target.bucket)
            .prefix(&self.target.prefix)
            .into_paginator()
            .send();
        let mut objects = BTreeMap::new();
        let mut pending = false;
        while let Some(page) = pages.next().await {
            self.count();
            let page = page.map_err(|e| self.explain(e, "list the bucket"))?;
            for object in page.contents() {
                let Some(rel) = object
                    .key()
                    .and_then(|k| k.strip_prefix(&self.target.prefix))
                else {
                    continue;
                };
                if rel == PENDING_KEY {
                    pending = true;
                }
                if rel.is_empty() || rel.ends_with('/') || rel.starts_with(".enishi-deploy/") {
                    continue;
                }
                objects.insert(
                    rel.to_string(),
                    RemoteObject {
                        etag: object.e_tag().unwrap_or("").trim_matches('"').to_string(),
                        size: object.size().unwrap_or(0).max(0) as u64,
                    },
                );
            }
        }
        Ok(Listing { objects, pending })
    }

    /// The paths an earlier deploy could not invalidate.
    pub async fn read_pending(&self) -> Result<Vec<String>> {
        self.count();
        let out = self
            .s3
            .get_object()
            .bucket(&self.target.bucket)
            .key(self.target.key(PENDING_KEY))
            .send()
            .await
            .map_err(|e| self.explain(e, "read the pending invalidation of"))?;
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| anyhow!("{}: cannot read {PENDING_KEY}: {e}", self.target.display()))?
            .into_bytes();
        // A damaged file is not worth failing a deploy: it only costs a refresh.
        Ok(serde_json::from_slice(&bytes).unwrap_or_default())
    }

    /// Records the paths this deploy will owe the CDN, before it changes anything.
    pub async fn write_pending(&self, paths: &[String]) -> Result<()> {
        self.count();
        let body = serde_json::to_vec(paths)?;
        self.s3
            .put_object()
            .bucket(&self.target.bucket)
            .key(self.target.key(PENDING_KEY))
            .content_type("application/json")
            .cache_control("no-store")
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| self.explain(e, "record the pending invalidation in"))?;
        Ok(())
    }

    pub async fn clear_pending(&self) -> Result<()> {
        self.count();
        self.s3
            .delete_object()
            .bucket(&self.target.bucket)
            .key(self.target.key(PENDING_KEY))
            .send()
            .await
            .map_err(|e| self.explain(e, "clear the pending invalidation of"))?;
        Ok(())
    }

    /// The MD5 an earlier deploy recorded in the object's metadata, if any. HEAD
    /// errors carry no body, so the status tells.
    pub async fn recorded_md5(&self, rel: &str) -> Result<Option<String>> {
        self.count();
        let head = self
            .s3
            .head_object()
            .bucket(&self.target.bucket)
            .key(self.target.key(rel))
            .send()
            .await;
        match head {
            Ok(head) => Ok(head.metadata().and_then(|m| m.get(MD5_METADATA)).cloned()),
            // Deleted since the listing: nothing recorded, so it is uploaded.
            Err(SdkError::ServiceError(e)) if e.raw().status().as_u16() == 404 => Ok(None),
            Err(SdkError::ServiceError(e)) if e.raw().status().as_u16() == 403 => Err(anyhow!(
                "{}: access denied reading the metadata of {rel}: the credentials need s3:GetObject on the objects",
                self.target.display()
            )),
            Err(e) => Err(self.explain(e, &format!("read the metadata of {rel}"))),
        }
    }

    /// Uploads one file: in one request up to the multipart threshold, in parts of
    /// that size above it (read one part at a time, so memory stays bounded).
    pub async fn upload(&self, output: &Path, file: &LocalFile, headers: &Headers) -> Result<()> {
        let path = output.join(&file.rel);
        let key = self.target.key(&file.rel);
        let metadata = HashMap::from([(MD5_METADATA.to_string(), file.md5_hex())]);
        if file.size <= self.multipart_bytes {
            let bytes = read_part(&path, 0, file.size).await?;
            self.count();
            self.s3
                .put_object()
                .bucket(&self.target.bucket)
                .key(&key)
                .body(ByteStream::from(bytes))
                .content_md5(base64(&file.md5))
                .content_type(&headers.content_type)
                .cache_control(&headers.cache_control)
                .set_metadata(Some(metadata))
                .send()
                .await
                .map_err(|e| self.explain(e, &format!("upload {}", file.rel)))?;
            return Ok(());
        }
        self.count();
        let created = self
            .s3
            .create_multipart_upload()
            .bucket(&self.target.bucket)
            .key(&key)
            .content_type(&headers.content_type)
            .cache_control(&headers.cache_control)
            .set_metadata(Some(metadata))
            .send()
            .await
            .map_err(|e| self.explain(e, &format!("start the upload of {}", file.rel)))?;
        let upload_id = created.upload_id().unwrap_or_default().to_string();
        let result = self.upload_parts(&path, file, &key, &upload_id).await;
        if result.is_err() {
            // Best effort: an abandoned upload's parts are billed until aborted.
            self.count();
            let _ = self
                .s3
                .abort_multipart_upload()
                .bucket(&self.target.bucket)
                .key(&key)
                .upload_id(&upload_id)
                .send()
                .await;
        }
        result
    }

    async fn upload_parts(
        &self,
        path: &Path,
        file: &LocalFile,
        key: &str,
        upload_id: &str,
    ) -> Result<()> {
        use md5::Digest;
        // Parts of the threshold's size, larger when that would need over 10,000.
        let part_bytes = self.multipart_bytes.max(file.size.div_ceil(MAX_PARTS));
        let mut whole = md5::Md5::new();
        let mut parts = Vec::new();
        let mut offset = 0;
        while offset < file.size {
            let len = part_bytes.min(file.size - offset);
            let bytes = read_part(path, offset, len).await?;
            whole.update(&bytes);
            let md5: [u8; 16] = md5::Md5::digest(&bytes).into();
            let number = parts.len() as i32 + 1;
            self.count();
            let part = self
                .s3
                .upload_part()
                .bucket(&self.target.bucket)
                .key(key)
                .upload_id(upload_id)
                .part_number(number)
                .content_md5(base64(&md5))
                .body(ByteStream::from(bytes))
                .send()
                .await
                .map_err(|e| self.explain(e, &format!("upload part {number} of {}", file.rel)))?;
            parts.push(
                CompletedPart::builder()
                    .part_number(number)
                    .set_e_tag(part.e_tag().map(str::to_string))
                    .build(),
            );
            offset += len;
        }
        // The metadata promises this MD5: a file edited while its parts went up
        // must not be completed under it.
        if <[u8; 16]>::from(whole.finalize()) != file.md5 {
            return Err(anyhow!(
                "{}: changed while it was being deployed; run deploy again",
                path.display()
            ));
        }
        self.count();
        self.s3
            .complete_multipart_upload()
            .bucket(&self.target.bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| self.explain(e, &format!("finish the upload of {}", file.rel)))?;
        Ok(())
    }

    /// Deletes objects, 1,000 a request (S3's most).
    pub async fn delete(&self, rels: &[String]) -> Result<()> {
        for chunk in rels.chunks(1000) {
            let objects = chunk
                .iter()
                .map(|rel| {
                    ObjectIdentifier::builder()
                        .key(self.target.key(rel))
                        .build()
                })
                .collect::<Result<Vec<_>, _>>()?;
            self.count();
            let out = self
                .s3
                .delete_objects()
                .bucket(&self.target.bucket)
                .delete(
                    Delete::builder()
                        .set_objects(Some(objects))
                        .quiet(true)
                        .build()?,
                )
                .send()
                .await
                .map_err(|e| self.explain(e, "delete objects"))?;
            if let Some(failed) = out.errors().first() {
                return Err(anyhow!(
                    "{}: cannot delete {} ({}: {}); the rest of the site is deployed, run deploy again",
                    self.target.display(),
                    failed.key().unwrap_or("?"),
                    failed.code().unwrap_or("error"),
                    failed.message().unwrap_or("")
                ));
            }
        }
        Ok(())
    }

    /// Asks CloudFront to forget `paths`; returns the invalidation's id.
    pub async fn invalidate(&self, distribution: &str, paths: &[String]) -> Result<String> {
        use aws_sdk_cloudfront::types::{InvalidationBatch, Paths};
        // Unique per request; the SDK's own retries reuse it, so a retried request
        // cannot create a second invalidation.
        let reference = format!(
            "enishi-{}-{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis())
                .unwrap_or(0),
            &blake3::hash(paths.join("\n").as_bytes()).to_hex()[..12]
        );
        let batch = InvalidationBatch::builder()
            .paths(
                Paths::builder()
                    .quantity(paths.len() as i32)
                    .set_items(Some(paths.to_vec()))
                    .build()?,
            )
            .caller_reference(reference)
            .build()?;
        self.count();
        let out = self
            .cloudfront
            .create_invalidation()
            .distribution_id(distribution)
            .invalidation_batch(batch)
            .send()
            .await
            .map_err(|e| self.explain_cdn(e, distribution))?;
        Ok(out
            .invalidation()
            .map(|i| i.id().to_string())
            .unwrap_or_default())
    }

    /// Waits until CloudFront reports the invalidation Completed (at most 30 minutes).
    pub async fn wait_invalidated(&self, distribution: &str, id: &str) -> Result<()> {
        let deadline = std::time::Instant::now() + Duration::from_secs(30 * 60);
        let mut pause = Duration::from_secs(1);
        loop {
            self.count();
            let out = self
                .cloudfront
                .get_invalidation()
                .distribution_id(distribution)
                .id(id)
                .send()
                .await
                .map_err(|e| self.explain_cdn(e, distribution))?;
            let status = out
                .invalidation()
                .map(|i| i.status().to_string())
                .unwrap_or_default();
            if status.eq_ignore_ascii_case("completed") {
                return Ok(());
            }
            if std::time::Instant::now() > deadline {
                return Err(anyhow!(
                    "invalidation {id} of {distribution} is still {status} after 30 minutes; the files are deployed, check it in the CloudFront console"
                ));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(20));
        }
    }

    /// One line for a failed S3 call; `doing` is what was tried ("list the bucket").
    fn explain<E>(&self, err: SdkError<E, HttpResponse>, doing: &str) -> anyhow::Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let target = self.target.display();
        let bucket = &self.target.bucket;
        match service_code(&err) {
            Some(("NoSuchBucket", _)) => anyhow!(
                "{target}: the bucket {bucket} does not exist (create it, or correct target in [deploy] of site.toml)"
            ),
            Some(("AccessDenied" | "AllAccessDisabled", _)) => anyhow!(
                "{target}: access denied (trying to {doing}): the credentials need s3:ListBucket on the bucket and s3:GetObject, s3:PutObject, s3:DeleteObject and s3:AbortMultipartUpload on its objects (and kms:GenerateDataKey with SSE-KMS)"
            ),
            Some((
                code @ ("InvalidAccessKeyId"
                | "SignatureDoesNotMatch"
                | "ExpiredToken"
                | "InvalidToken"
                | "TokenRefreshRequired"),
                message,
            )) => anyhow!(
                "{target}: AWS rejected the credentials ({code}: {message}); check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE or the role"
            ),
            Some((
                code @ ("PermanentRedirect"
                | "AuthorizationHeaderMalformed"
                | "IllegalLocationConstraintException"),
                _,
            )) => {
                let region = err
                    .raw_response()
                    .and_then(|r| r.headers().get("x-amz-bucket-region"))
                    .map(|r| format!(" (it is in {r})"))
                    .unwrap_or_default();
                anyhow!(
                    "{target}: the bucket is in another region{region} ({code}); set region in [deploy] of site.toml"
                )
            }
            Some((code, message)) => anyhow!("{target}: cannot {doing}: {code}: {message}"),
            None => self.transport(err, &target, doing),
        }
    }

    fn explain_cdn<E>(&self, err: SdkError<E, HttpResponse>, distribution: &str) -> anyhow::Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let what = format!("CloudFront distribution {distribution}");
        let hint = "the files are deployed and the paths are kept in the bucket: the next deploy invalidates them";
        match service_code(&err) {
            Some(("NoSuchDistribution", _)) => anyhow!(
                "{what} does not exist (correct cloudfront_distribution_id in [deploy]); {hint}"
            ),
            Some(("AccessDenied", _)) => anyhow!(
                "{what}: access denied: the credentials need cloudfront:CreateInvalidation and cloudfront:GetInvalidation; {hint}"
            ),
            Some(("TooManyInvalidationsInProgress", _)) => {
                anyhow!("{what}: too many invalidations in progress; {hint}")
            }
            Some((code, message)) => anyhow!("{what}: {code}: {message}; {hint}"),
            None => self.transport(err, &what, "invalidate"),
        }
    }

    fn transport<E>(&self, err: SdkError<E, HttpResponse>, what: &str, doing: &str) -> anyhow::Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        match err {
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => anyhow!(
                "{what}: cannot reach {} to {doing} ({}); check the network and the endpoint, then run deploy again",
                self.endpoint,
                root_cause(&err)
            ),
            SdkError::ServiceError(e) => anyhow!(
                "{what}: cannot {doing}: the service answered HTTP {}",
                e.raw().status().as_u16()
            ),
            other => anyhow!("{what}: cannot {doing}: {}", root_cause(&other)),
        }
    }
}

/// The innermost cause of an error, which says what happened (connection refused …).
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// The error code and message of a service error with a body.
fn service_code<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> Option<(&str, &str)> {
    let service = err.as_service_error()?;
    Some((service.code()?, service.message().unwrap_or("")))
}

async fn check_credentials(sdk: &aws_config::SdkConfig) -> Result<()> {
    use aws_credential_types::provider::error::CredentialsError;
    use aws_sdk_s3::config::ProvideCredentials;
    let missing = "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or (in GitHub Actions) AWS_ROLE_ARN with an OIDC token";
    let provider = sdk.credentials_provider().ok_or_else(|| anyhow!(missing))?;
    match provider.provide_credentials().await {
        Ok(_) => Ok(()),
        Err(CredentialsError::CredentialsNotLoaded(_)) => Err(anyhow!(missing)),
        // Found, but the provider failed: a role that may not be assumed, STS out of reach.
        Err(e) => Err(anyhow!(
            "cannot get AWS credentials: {} (check the profile or the role's trust policy)",
            root_cause(&e)
        )),
    }
}

/// Reads `len` bytes at `offset`, off the async workers.
async fn read_part(path: &Path, offset: u64, len: u64) -> Result<Vec<u8>> {
    let owned = path.to_path_buf();
    let read = move || -> std::io::Result<Vec<u8>> {
        let mut file = std::fs::File::open(&owned)?;
        file.seek(SeekFrom::Start(offset))?;
        let mut bytes = Vec::with_capacity(len as usize);
        file.take(len).read_to_end(&mut bytes)?;
        if bytes.len() as u64 != len {
            return Err(std::io::Error::other("the file changed while deploying"));
        }
        Ok(bytes)
    };
    tokio::task::spawn_blocking(read)
        .await
        .map_err(|e| anyhow!("{}: cannot read: {e}", path.display()))?
        .map_err(|e| anyhow!("{}: cannot read: {e}", path.display()))
}

fn base64(bytes: &[u8]) -> String {
    aws_smithy_types::base64::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_with_and_without_prefix() {
        let t = Target::parse("s3://my-blog").unwrap();
        assert_eq!((t.bucket.as_str(), t.prefix.as_str()), ("my-blog", ""));
        let t = Target::parse("s3://my-blog/site/ja/").unwrap();
        assert_eq!(t.key("index.html"), "site/ja/index.html");
        assert!(Target::parse("my-blog").is_err());
        assert!(Target::parse("s3:///x").is_err());
    }
}
