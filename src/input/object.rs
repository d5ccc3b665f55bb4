//! Objects in S3-compatible storage: `s3://bucket/prefix/` and
//! `obs://bucket/prefix/` (Huawei Cloud OBS, where CTS delivers traces).
//!
//! The `object_store` crate (Apache Arrow) does the HTTP, the request
//! signing, the credentials from the standard environment variables and the
//! retries with backoff; this module lists keys, matches globs and streams
//! each object into the same bounded chunk pipeline that decompression
//! uses, so an object is never held whole in memory.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use futures::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::list::{PaginatedListOptions, PaginatedListStore};
use object_store::path::Path as KeyPath;
use object_store::{BackoffConfig, ObjectStoreExt, RetryConfig};

use super::{aws_profile, producer};
use crate::lex::time::{DAY_MS, format_rfc3339};

/// Which service an object URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `s3://`: Amazon S3 or any S3-compatible store.
    S3,
    /// `obs://`: Huawei Cloud OBS, S3-compatible, its endpoint following
    /// from the region.
    Obs,
}

/// An object, a prefix or a key glob in a bucket, with where to reach it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectUrl {
    /// The service.
    pub scheme: Scheme,
    /// The bucket.
    pub bucket: String,
    /// The key of one object, a prefix (an S3 prefix, which need not end
    /// in `/`), or a glob (`*`, `?`, `[…]`).
    pub key: String,
    /// `--endpoint`, overriding the environment.
    pub endpoint: Option<String>,
    /// Absolute `--since`/`--until` (epoch ms): under a CTS
    /// `CloudTraces/<region>/` prefix only the days that can hold them are
    /// listed.
    pub window: (Option<i64>, Option<i64>),
    /// The object's size, once listed: the progress bar's total.
    pub size: Option<u64>,
    /// The object's ETag, once listed: with its key and size, what tells a
    /// checkpointed run that it was read already.
    pub etag: Option<String>,
}

impl ObjectUrl {
    /// `s3://bucket/key` or `obs://bucket/key`; `None` for anything else.
    pub fn parse(arg: &str, endpoint: Option<&str>) -> Option<ObjectUrl> {
        let (scheme, rest) = if let Some(rest) = arg.strip_prefix("s3://") {
            (Scheme::S3, rest)
        } else {
            (Scheme::Obs, arg.strip_prefix("obs://")?)
        };
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        Some(ObjectUrl {
            scheme,
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            endpoint: endpoint.map(str::to_owned),
            window: (None, None),
            size: None,
            etag: None,
        })
    }

    /// The object `key` of `size` bytes, with its `etag`, in the same store.
    fn object(&self, key: &str, size: u64, etag: Option<String>) -> ObjectUrl {
        ObjectUrl { key: key.to_owned(), size: Some(size), etag, ..self.clone() }
    }

    /// Whether the key is a glob rather than a key or prefix.
    fn is_glob(&self) -> bool {
        self.key.contains(['*', '?', '['])
    }

    /// The part of the key before its first glob character.
    fn literal_prefix(&self) -> &str {
        let end = self.key.find(['*', '?', '[']).unwrap_or(self.key.len());
        &self.key[..end]
    }
}

impl fmt::Display for ObjectUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.scheme {
            Scheme::S3 => "s3",
            Scheme::Obs => "obs",
        };
        write!(f, "{scheme}://{}/{}", self.bucket, self.key)
    }
}

/// The client for `url`'s bucket. The standard `AWS_*` variables
/// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
/// `AWS_ENDPOINT_URL`, `AWS_REGION`) come first, then the profile in
/// `~/.aws/credentials` and `~/.aws/config`; `--endpoint` overrides both.
/// An `obs://` URL without an endpoint goes to
/// `obs.<region>.myhuaweicloud.com`, virtual-hosted style.
///
/// One client per service, bucket and endpoint, built once and shared by
/// the lister and every fetch, so that objects reuse its connections.
fn store(url: &ObjectUrl) -> io::Result<Arc<AmazonS3>> {
    type Key = (Scheme, String, Option<String>);
    static STORES: OnceLock<Mutex<HashMap<Key, Arc<AmazonS3>>>> = OnceLock::new();
    let key = (url.scheme, url.bucket.clone(), url.endpoint.clone());
    let mut stores = STORES.get_or_init(Mutex::default).lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(store) = stores.get(&key) {
        return Ok(Arc::clone(store));
    }
    let store = Arc::new(build_store(url)?);
    stores.insert(key, Arc::clone(&store));
    Ok(store)
}

/// A new client for `url`'s bucket; see [`store`].
fn build_store(url: &ObjectUrl) -> io::Result<AmazonS3> {
    let env = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    let profile = aws_profile::load()?;
    let mut builder = AmazonS3Builder::from_env().with_bucket_name(&url.bucket).with_retry(retries());
    if env("AWS_ACCESS_KEY_ID").is_none()
        && let (Some(id), Some(secret)) = (profile.access_key_id, profile.secret_access_key)
    {
        builder = builder.with_access_key_id(id).with_secret_access_key(secret);
        if let Some(token) = profile.session_token {
            builder = builder.with_token(token);
        }
    }
    let region = env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION")).or(profile.region);
    if let Some(region) = &region {
        builder = builder.with_region(region);
    }
    let from_env = env("AWS_ENDPOINT_URL").or_else(|| env("AWS_ENDPOINT")).or(profile.endpoint_url);
    let endpoint = url.endpoint.clone().or(from_env).or_else(|| match url.scheme {
        Scheme::S3 => None,
        Scheme::Obs => Some(format!("https://{}.obs.{}.myhuaweicloud.com", url.bucket, region.as_ref()?)),
    });
    if let Some(endpoint) = endpoint {
        let virtual_hosted = url.scheme == Scheme::Obs && url.endpoint.is_none();
        builder = builder
            .with_allow_http(endpoint.starts_with("http://"))
            .with_virtual_hosted_style_request(virtual_hosted)
            .with_endpoint(endpoint);
    }
    builder.build().map_err(|e| io::Error::other(redact(&e.to_string())))
}

/// Failed requests (connection errors, 5xx, throttling) are retried with
/// exponential backoff from 100 ms to 2 s, at most 5 times and for 15 s,
/// then reported: a scan waits seconds, not the crate's default minutes,
/// for a store that is down.
fn retries() -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            base: 2.0,
        },
        max_retries: 5,
        retry_timeout: Duration::from_secs(15),
    }
}

/// The runtime of the store's futures, shared: the scan itself is not
/// asynchronous, so the lister and each fetcher's thread block on it, and
/// the connections it keeps serve every object.
fn runtime() -> io::Result<&'static tokio::runtime::Runtime> {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    if let Some(runtime) = RUNTIME.get() {
        return Ok(runtime);
    }
    let built = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("cts-logscan-io")
        .enable_all()
        .build()?;
    Ok(RUNTIME.get_or_init(|| built))
}

/// The objects `url` names, sorted by key: the object itself, every object
/// under a prefix, or the keys matching a glob. Keys with a segment
/// starting with `.` (unless `hidden`) and CTS `Digest` files are skipped.
///
/// # Errors
///
/// When the bucket cannot be listed (missing, forbidden, unreachable).
pub fn list(url: &ObjectUrl, hidden: bool) -> io::Result<Vec<ObjectUrl>> {
    let store = store(url)?;
    let matcher = if url.is_glob() {
        let glob = globset::GlobBuilder::new(&url.key).literal_separator(true).build();
        Some(glob.map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?.compile_matcher())
    } else {
        None
    };
    let runtime = runtime()?;
    // A key that names an object is that object.
    if !url.is_glob() && !url.key.is_empty() && !url.key.ends_with('/') {
        match runtime.block_on(store.head(&KeyPath::from(url.key.as_str()))) {
            Ok(meta) => return Ok(vec![url.object(&url.key, meta.size, meta.e_tag)]),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(object_error(e)),
        }
    }
    // Else the key is a prefix as S3 means it (`many/obj-01` lists
    // `many/obj-010.ndjson` and `many/obj-01/…`), and a glob lists its
    // literal prefix, then matches.
    let prefixes = match cts_days(url) {
        Some(days) => days.into_iter().map(|day| format!("{day}/")).collect(),
        None => vec![url.literal_prefix().to_owned()],
    };
    let mut keys = runtime.block_on(list_keys(&store, &prefixes))?;
    keys.retain(|(key, ..)| {
        let wanted = matcher.as_ref().is_none_or(|glob| glob.is_match(key));
        let skipped = key.split('/').any(|s| s == "Digest" || (!hidden && s.starts_with('.')));
        wanted && !skipped
    });
    keys.sort();
    Ok(keys.into_iter().map(|(key, size, etag)| url.object(&key, size, etag)).collect())
}

/// Every key, with its size and ETag, that starts with one of `prefixes`, page by
/// page: the store's own `prefix=` listing, so a prefix need not end at a
/// `/` (a folder listing would find nothing under `logs/access-2026-11-`).
async fn list_keys(store: &AmazonS3, prefixes: &[String]) -> io::Result<Vec<(String, u64, Option<String>)>> {
    let mut keys = Vec::new();
    for prefix in prefixes {
        let prefix = (!prefix.is_empty()).then_some(prefix.as_str());
        let mut page_token = None;
        loop {
            let options = PaginatedListOptions { page_token, ..PaginatedListOptions::default() };
            let page = store.list_paginated(prefix, options).await.map_err(object_error)?;
            keys.extend(page.result.objects.into_iter().map(|meta| (meta.location.to_string(), meta.size, meta.e_tag)));
            page_token = page.page_token;
            if page_token.is_none() {
                break;
            }
        }
    }
    Ok(keys)
}

/// The day prefixes (`CloudTraces/eu-de/2026/11/27`, month and day not
/// zero-padded) that can hold `url`'s window when its key is a CTS
/// `CloudTraces/<region>/` prefix: from the day before `since` to the day
/// after `until` (or today), because file names carry the upload time.
/// `None` lists the whole prefix.
fn cts_days(url: &ObjectUrl) -> Option<Vec<String>> {
    /// More days than this list the prefix instead.
    const MAX_DAYS: i64 = 400;
    let (since, until) = url.window;
    let since = since?;
    let region = url.key.trim_end_matches('/');
    let segments: Vec<&str> = region.split('/').collect();
    if url.is_glob() || segments.len() < 2 || segments[segments.len() - 2] != "CloudTraces" {
        return None;
    }
    let now = jiff::Timestamp::now().as_millisecond();
    let (first, last) = (since.div_euclid(DAY_MS) - 1, until.unwrap_or(now).div_euclid(DAY_MS) + 1);
    if last < first || last - first > MAX_DAYS {
        return None;
    }
    let days = (first..=last).filter_map(|day| {
        // `2026-11-29T00:00:00.000Z`
        let date = format_rfc3339(day * DAY_MS);
        let (month, day) = (date.get(5..7)?.parse::<u8>().ok()?, date.get(8..10)?.parse::<u8>().ok()?);
        Some(format!("{region}/{}/{month}/{day}", date.get(..4)?))
    });
    Some(days.collect())
}

/// Objects fetched ahead of the one being scanned: their requests overlap,
/// which is what matters for many small objects (CTS writes one per few
/// minutes and service). Each holds at most a few chunks in memory.
pub const FETCH_AHEAD: usize = 4;

/// A reader of the object's bytes, fetched on a thread of its own. A
/// connection that fails mid-object is resumed from where it stopped, with
/// bounded backoff; the bytes before a final failure are still scanned.
pub fn open(url: &ObjectUrl) -> io::Result<Box<dyn Read + Send>> {
    let store = store(url)?;
    let key = KeyPath::from(url.key.as_str());
    Ok(producer::spawn("object", move |sink| {
        runtime()?.block_on(async {
            let got = store.get(&key).await.map_err(object_error)?;
            let mut stream = got.into_stream();
            while let Some(bytes) = stream.next().await {
                // The store resumes a cut stream with ranged requests, as
                // often as `retries` allows; the reader says at which byte
                // it gave up.
                let bytes = bytes.map_err(|e| {
                    let e = object_error(e);
                    let retries = retries().max_retries;
                    io::Error::new(e.kind(), format!("{e} (the connection kept failing; resumed {retries} times)"))
                })?;
                sink.write_all(&bytes)?;
            }
            Ok(())
        })
    }))
}

/// The store's error as an I/O error: its kind kept, what it means for the
/// user first, the server's XML error body cut to its code and message.
fn object_error(e: object_store::Error) -> io::Error {
    let (kind, meaning) = match &e {
        object_store::Error::NotFound { .. } => (io::ErrorKind::NotFound, "not found"),
        object_store::Error::PermissionDenied { .. } => (
            io::ErrorKind::PermissionDenied,
            "access denied: these credentials may not read it; check the bucket policy or use another profile",
        ),
        object_store::Error::Unauthenticated { .. } => (
            io::ErrorKind::PermissionDenied,
            "not authenticated: check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or the profile in ~/.aws/credentials",
        ),
        _ => (io::ErrorKind::Other, ""),
    };
    let detail = redact(&without_xml_body(&e.to_string()));
    let message = if meaning.is_empty() { detail } else { format!("{meaning} ({detail})") };
    io::Error::new(kind, message)
}

/// `message` with an S3 XML error body (`<?xml …><Error><Code>…`) replaced
/// by its code and message.
fn without_xml_body(message: &str) -> String {
    let Some(at) = message.find("<?xml").or_else(|| message.find("<Error>")) else {
        return message.to_owned();
    };
    let body = &message[at..];
    let tag = |name: &str| {
        let start = body.find(&format!("<{name}>"))? + name.len() + 2;
        Some(&body[start..start + body[start..].find('<')?])
    };
    let head = message[..at].trim_end().trim_end_matches(':');
    match (tag("Code"), tag("Message")) {
        (Some(code), Some(text)) => format!("{head}: {code}: {text}"),
        (Some(code), None) => format!("{head}: {code}"),
        _ => head.to_owned(),
    }
}

/// `message` without the query strings of the URLs in it (a presigned
/// URL's signature and credential) and without the secret key or session
/// token of the environment or the AWS profile.
pub fn redact(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find("://") {
        let url_end = rest[at..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>'))
            .map_or(rest.len(), |e| at + e);
        let url = &rest[..url_end];
        match url[at..].find('?') {
            Some(query) => {
                out.push_str(&url[..at + query]);
                out.push_str("?…");
            }
            None => out.push_str(url),
        }
        rest = &rest[url_end..];
    }
    out.push_str(rest);
    let profile = aws_profile::load().unwrap_or_default();
    let env = ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"].map(|var| std::env::var(var).ok());
    for secret in env.into_iter().chain([profile.secret_access_key, profile.session_token]).flatten() {
        if secret.len() >= 4 {
            out = out.replace(&secret, "…");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_bucket_and_key() {
        let url = ObjectUrl::parse("obs://traces/CloudTraces/eu-de/2026/11/*/system/*/*.json.gz", None).unwrap();
        assert_eq!((url.scheme, url.bucket.as_str()), (Scheme::Obs, "traces"));
        assert!(url.is_glob());
        assert_eq!(url.literal_prefix(), "CloudTraces/eu-de/2026/11/");
        assert_eq!(url.to_string(), "obs://traces/CloudTraces/eu-de/2026/11/*/system/*/*.json.gz");
        let bucket = ObjectUrl::parse("s3://logs", Some("http://127.0.0.1:8333")).unwrap();
        assert_eq!((bucket.key.as_str(), bucket.endpoint.as_deref()), ("", Some("http://127.0.0.1:8333")));
        assert_eq!(ObjectUrl::parse("/var/log/s3://x", None), None);
    }

    #[test]
    fn a_cts_window_lists_its_days_with_a_day_of_slack() {
        let mut url = ObjectUrl::parse("obs://t/CloudTraces/eu-de/", None).unwrap();
        assert_eq!(cts_days(&url), None, "no window");
        // 2026-11-30T12:00Z to 2026-12-01T01:00Z.
        url.window = (Some(1_796_040_000_000), Some(1_796_086_800_000));
        let days = cts_days(&url).unwrap();
        assert_eq!(
            days,
            [
                "CloudTraces/eu-de/2026/11/29",
                "CloudTraces/eu-de/2026/11/30",
                "CloudTraces/eu-de/2026/12/1",
                "CloudTraces/eu-de/2026/12/2"
            ]
        );
        url.key = "CloudTraces/eu-de/2026/".into();
        assert_eq!(cts_days(&url), None, "deeper prefixes are listed as they are");
    }

    #[test]
    fn query_strings_are_cut_from_messages() {
        let message = "GET https://b.s3.amazonaws.com/k?X-Amz-Signature=abc&X-Amz-Credential=AKIA: 403 Forbidden";
        assert_eq!(redact(message), "GET https://b.s3.amazonaws.com/k?… 403 Forbidden");
        assert_eq!(redact("<?xml version=\"1.0\"?> at http://h/b"), "<?xml version=\"1.0\"?> at http://h/b");
    }
}
