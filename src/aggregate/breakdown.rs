//! Where a code's errors come from (`--top`): endpoints with ids
//! normalised, project ids, client addresses, and sample request ids with
//! the line they are on, so that the next step of an investigation is one
//! grep away.

use serde::{Deserialize, Serialize};

use super::heavy_hitters::HeavyHitters;
use super::{LinePosition, insert_bounded};
use crate::record::Record;

/// Request-id samples kept per code (the earliest in input order).
pub const MAX_REQUEST_SAMPLES: usize = 10;

/// A request id and where it was logged.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RequestSample {
    /// Where the line is.
    pub position: LinePosition,
    /// The request id.
    pub request_id: String,
}

/// Where one code's errors come from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breakdown {
    /// Normalised endpoints (`GET /v3/{id}/tracker`).
    pub endpoints: HeavyHitters,
    /// Project ids from `/v1.0|v3/{project_id}/…` paths.
    pub projects: HeavyHitters,
    /// Client addresses.
    pub clients: HeavyHitters,
    /// Where lines came from when their wrapper says (a syslog host, an
    /// LTS host or path).
    #[serde(default)]
    pub sources: HeavyHitters,
    /// The earliest request ids, with their lines.
    pub samples: Vec<RequestSample>,
}

impl Breakdown {
    /// Counts one error line: `record`'s method, path, client and source,
    /// and its request id with `position`. `request_id` is asked only when
    /// the id would be kept.
    pub fn add<'r>(
        &mut self,
        record: &Record<'_>,
        request_id: impl FnOnce() -> Option<&'r str>,
        position: LinePosition,
    ) {
        if let Some(uri) = record.uri {
            let uri = String::from_utf8_lossy(uri);
            // `GET /v3/{id}/tracker`, built in one buffer.
            let mut endpoint = String::with_capacity(uri.len() + 8);
            if let Some(method) = record.method {
                endpoint.push_str(&String::from_utf8_lossy(method));
                endpoint.push(' ');
            }
            push_normalized(&mut endpoint, &uri);
            self.endpoints.add(&endpoint, 1);
            if let Some(project) = project_id(&uri) {
                self.projects.add(project, 1);
            }
        }
        if let Some(client) = record.client {
            self.clients.add(&String::from_utf8_lossy(client), 1);
        }
        if let Some(source) = record.source {
            self.sources.add(&String::from_utf8_lossy(source), 1);
        }
        // Lines come in order: once the samples are full, a later line's
        // id would not be kept, and is not looked at.
        let wanted = self.samples.len() < MAX_REQUEST_SAMPLES
            || self.samples.last().is_some_and(|last| position <= last.position);
        if let Some(id) = wanted.then(request_id).flatten().filter(|id| !id.is_empty()) {
            insert_bounded(
                &mut self.samples,
                RequestSample { position, request_id: id.to_owned() },
                MAX_REQUEST_SAMPLES,
            );
        }
    }

    /// Brings every summary down to its capacity (after a scan, before the
    /// state is written).
    pub fn prune(&mut self) {
        self.endpoints.prune();
        self.projects.prune();
        self.clients.prune();
        self.sources.prune();
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &Breakdown) {
        self.endpoints.merge(&other.endpoints);
        self.projects.merge(&other.projects);
        self.clients.merge(&other.clients);
        self.sources.merge(&other.sources);
        for sample in &other.samples {
            insert_bounded(&mut self.samples, sample.clone(), MAX_REQUEST_SAMPLES);
        }
    }

    /// Takes `other` into `self` as adding its lines would: summaries are
    /// pruned only past twice their capacity (see
    /// [`HeavyHitters::absorb`]).
    pub fn absorb(&mut self, other: Breakdown) {
        self.endpoints.absorb(other.endpoints);
        self.projects.absorb(other.projects);
        self.clients.absorb(other.clients);
        self.sources.absorb(other.sources);
        for sample in other.samples {
            insert_bounded(&mut self.samples, sample, MAX_REQUEST_SAMPLES);
        }
    }
}

/// The path without its query string, with ids (UUIDs, 16+ hex digits,
/// numbers) replaced by `{id}`: `/v3/0a1b…e8f9/traces?limit=10` →
/// `/v3/{id}/traces`.
pub fn normalize_endpoint(uri: &str) -> String {
    let mut endpoint = String::with_capacity(uri.len());
    push_normalized(&mut endpoint, uri);
    endpoint
}

/// Appends [`normalize_endpoint`]`(uri)` to `out`.
fn push_normalized(out: &mut String, uri: &str) {
    let path = without_query(uri);
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        out.push_str(if is_id(segment) { "{id}" } else { segment });
    }
}

/// `uri` up to its query string or fragment.
fn without_query(uri: &str) -> &str {
    memchr::memchr2(b'?', b'#', uri.as_bytes()).map_or(uri, |end| &uri[..end])
}

fn is_id(segment: &str) -> bool {
    let hex = segment.bytes().filter(|b| b.is_ascii_hexdigit()).count();
    let uuid = segment.len() == 36 && segment.bytes().filter(|&b| b == b'-').count() == 4 && hex == 32;
    let long_hex = segment.len() >= 16 && hex == segment.len();
    let number = !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit());
    uuid || long_hex || number
}

/// The project id of `/v1.0/{project_id}/…` or `/v3/{project_id}/…`
/// (any `/v<digits>[.<digits>]/`): a 32-digit hex segment after the version.
pub fn project_id(uri: &str) -> Option<&str> {
    let mut segments = without_query(uri).split('/').skip_while(|s| s.is_empty());
    let version = segments.next()?;
    let is_version = version.strip_prefix('v').is_some_and(|v| {
        !v.is_empty() && v.split('.').all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
    });
    let project = segments.next()?;
    (is_version && project.len() == 32 && project.bytes().all(|b| b.is_ascii_hexdigit())).then_some(project)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_normalised() {
        assert_eq!(normalize_endpoint("/v3/0a1b2c3d4e5f60718293a4b5c6d7e8f9/traces?limit=10"), "/v3/{id}/traces");
        assert_eq!(
            normalize_endpoint("/v3/p/trackers/3f2504e0-4f89-11d3-9a0c-0305e82c3301/x"),
            "/v3/p/trackers/{id}/x"
        );
        assert_eq!(normalize_endpoint("/v1.0/abc/notifications/12345"), "/v1.0/abc/notifications/{id}");
        assert_eq!(normalize_endpoint("/"), "/");
    }

    #[test]
    fn project_ids() {
        assert_eq!(project_id("/v3/0a1b2c3d4e5f60718293a4b5c6d7e8f9/traces"), Some("0a1b2c3d4e5f60718293a4b5c6d7e8f9"));
        assert_eq!(
            project_id("/v1.0/9f8e7d6c5b4a39281706f5e4d3c2b1a0/user-resources"),
            Some("9f8e7d6c5b4a39281706f5e4d3c2b1a0")
        );
        assert_eq!(project_id("/v3/short/traces"), None);
        assert_eq!(project_id("/api/0a1b2c3d4e5f60718293a4b5c6d7e8f9/x"), None);
    }

    #[test]
    fn endpoints_and_samples() {
        let mut b = Breakdown::default();
        for (i, line) in [5u64, 3, 9].iter().enumerate() {
            let position = LinePosition { file: 0, block: 0, line: *line };
            let record = Record {
                method: Some(b"GET"),
                uri: Some(b"/v3/x/1"),
                client: Some(b"10.0.0.1"),
                source: Some(b"web1"),
                ..Record::default()
            };
            let id = format!("r{i}");
            b.add(&record, || Some(id.as_str()), position);
        }
        assert_eq!(b.endpoints.top(3), vec![("GET /v3/x/{id}".to_owned(), 3)]);
        assert_eq!(b.sources.top(3), vec![("web1".to_owned(), 3)]);
        assert_eq!(b.samples.iter().map(|s| s.request_id.as_str()).collect::<Vec<_>>(), ["r1", "r0", "r2"]);
    }
}
