//! Property tests of what hadir parses from clients and operators, fed arbitrary bytes: the
//! body of `POST /graphql` (JSON and the multipart upload path, in arbitrary chunkings) and
//! camera files. None may panic, and none may allocate beyond its caps: a counting global
//! allocator (`vision::alloc_count`) records, on the test's own thread, the largest single
//! allocation and the peak of live bytes while a parser runs.

use std::{convert::Infallible, time::Duration};

use api::{
    auth::Role,
    server::graphql_body::{self, BodyLimits},
};
use axum::{
    body::Body,
    http::{HeaderMap, header},
};
use proptest::{collection::vec, prelude::*};
use vision::alloc_count::{Counting, measure};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const CASES: u32 = 10_000;

fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(CASES)
    }
}

/// Small limits, so that inputs pass them often.
const LIMITS: BodyLimits = BodyLimits {
    max_json_bytes: 4 * 1024,
    max_multipart_bytes: 32 * 1024,
    max_files: 1,
    max_import_files: 3,
    max_file_bytes: 8 * 1024,
    max_batch: 3,
    timeout: Duration::from_secs(5),
};

/// What reading one body may hold at most at once: the body within its cap, the parsed
/// request (a few times its JSON) and the reader's own buffers.
const BODY_PEAK: usize = 8 * LIMITS.max_multipart_bytes + 256 * 1024;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A body of `bytes` delivered in chunks of the sizes in `sizes` (cycled).
fn chunked(bytes: Vec<u8>, sizes: Vec<usize>) -> Body {
    let mut chunks = Vec::new();
    let mut at = 0;
    let mut k = 0;
    while at < bytes.len() {
        let end = (at + sizes[k % sizes.len()].max(1)).min(bytes.len());
        chunks.push(Ok::<_, Infallible>(bytes::Bytes::copy_from_slice(
            &bytes[at..end],
        )));
        at = end;
        k += 1;
    }
    Body::from_stream(futures_util::stream::iter(chunks))
}

fn headers(content_type: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Ok(value) = content_type.parse() {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers
}

/// One part of a multipart body: a name from the few that matter, maybe a file name, and
/// content that is sometimes JSON the reader expects.
fn part() -> impl Strategy<Value = (String, Option<String>, Vec<u8>)> {
    (
        prop_oneof![
            Just("operations".to_owned()),
            Just("map".to_owned()),
            Just("0".to_owned()),
            Just("1".to_owned()),
            "[a-z0-9]{0,8}",
        ],
        proptest::option::of("[a-z.]{0,12}"),
        prop_oneof![
            Just(br#"{"query":"mutation($p: Upload!) { enrollFace(employeeId: \"E1\", photo: $p) { employeeId } }","variables":{"p":null}}"#.to_vec()),
            Just(br#"{"0":["variables.p"]}"#.to_vec()),
            Just(br#"{"0":["variables.p","variables.p","a","b","c"]}"#.to_vec()),
            Just(br#"[{"query":"{a}"},{"query":"{b}"}]"#.to_vec()),
            vec(any::<u8>(), 0..2_000),
            (1usize..40_000).prop_map(|n| vec![b'x'; n]),
            // Past every cap, and past what the check allows: a reader without caps fails.
            (BODY_PEAK..2 * BODY_PEAK).prop_map(|n| vec![b'y'; n]),
        ],
    )
}

fn multipart(parts: &[(String, Option<String>, Vec<u8>)], close: bool) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, filename, content) in parts {
        body.extend_from_slice(b"--B\r\nContent-Disposition: form-data; name=\"");
        body.extend_from_slice(name.as_bytes());
        body.push(b'"');
        if let Some(f) = filename {
            body.extend_from_slice(b"; filename=\"");
            body.extend_from_slice(f.as_bytes());
            body.push(b'"');
        }
        body.extend_from_slice(b"\r\n\r\n");
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    if close {
        body.extend_from_slice(b"--B--\r\n");
    }
    body
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn multipart_bodies_never_panic_nor_outgrow_their_caps(
        parts in vec(part(), 0..6),
        close in any::<bool>(),
        cut in any::<prop::sample::Index>(),
        garbage in vec(any::<u8>(), 0..64),
        sizes in vec(1usize..4_000, 1..8),
        admin in any::<bool>(),
    ) {
        let runtime = runtime();
        let mut bytes = multipart(&parts, close);
        // Sometimes cut short, sometimes with garbage spliced in.
        if !bytes.is_empty() && garbage.len() % 3 == 0 {
            let at = cut.index(bytes.len());
            bytes.truncate(at);
            bytes.extend_from_slice(&garbage);
        }
        let role = if admin { Role::Admin } else { Role::Viewer };
        let headers = headers("multipart/form-data; boundary=B");
        // The input is made before counting: only the reader's allocations count.
        let body = chunked(bytes, sizes);
        let (result, allocated) = measure(|| {
            runtime.block_on(graphql_body::read(&headers, body, role, &LIMITS))
        });
        if let Ok(batch) = &result {
            let uploads: usize = match batch {
                async_graphql::BatchRequest::Single(r) => r.uploads.len(),
                async_graphql::BatchRequest::Batch(rs) => rs.iter().map(|r| r.uploads.len()).sum(),
            };
            prop_assert!(uploads <= LIMITS.max_files * graphql_body::MAX_PATHS_PER_FILE);
        }
        prop_assert!(allocated.peak <= BODY_PEAK, "peak {} bytes", allocated.peak);
    }

    #[test]
    fn json_bodies_never_panic_nor_outgrow_their_caps(
        bytes in prop_oneof![
            vec(any::<u8>(), 0..6_000),
            "[\\[\\]{}\":,a-z0-9 ]{0,6000}".prop_map(String::into_bytes),
            (BODY_PEAK..2 * BODY_PEAK).prop_map(|n| {
                let mut body = br#"{"query":""#.to_vec();
                body.resize(n, b'a');
                body
            }),
        ],
        sizes in vec(1usize..2_000, 1..8),
        content_type in prop_oneof![Just("application/json"), Just(""), Just("text/plain"), Just("application/graphql-response+json")],
    ) {
        let runtime = runtime();
        let headers = headers(content_type);
        let body = chunked(bytes, sizes);
        let (_, allocated) = measure(|| {
            runtime.block_on(graphql_body::read(&headers, body, Role::Viewer, &LIMITS))
        });
        prop_assert!(allocated.peak <= BODY_PEAK, "peak {} bytes", allocated.peak);
    }

    #[test]
    fn camera_files_never_panic_nor_outgrow_their_caps(
        text in prop_oneof![
            "\\PC{0,3000}",
            "[\\[\\]{}\":,.0-9a-z_ -]{0,3000}",
            (
                proptest::sample::select(vec!["id", "camera_id", "name", "camera_name", "rtsp_url", "stream_url", "fps", "enabled", "ignore_regions", "other"]),
                prop_oneof![
                    Just("\"CAM1\"".to_owned()),
                    Just("\"rtsp://u:p@h/x\"".to_owned()),
                    Just("1e308".to_owned()),
                    Just("-0.0".to_owned()),
                    Just("[[0,0,1,1],[0.5,0.5,0.4,0.6]]".to_owned()),
                    Just("null".to_owned()),
                    "\"\\PC{0,300}\"",
                    "[0-9.e+-]{1,20}",
                ],
            ).prop_map(|(k, v)| format!("{{\"id\":\"C1\",\"name\":\"N\",\"rtsp_url\":\"rtsp://h/x\",\"{k}\":{v}}}")),
        ],
    ) {
        let path = std::path::Path::new("camera_configs/fuzz.json");
        let (_, allocated) = measure(|| api::cameras::config_file::parse(path, &text));
        // The file is at most MAX_FILE_BYTES; parsing may hold a few copies of it.
        prop_assert!(
            allocated.peak <= 16 * api::cameras::config_file::MAX_FILE_BYTES as usize,
            "peak {} bytes",
            allocated.peak
        );
    }
}

/// A camera file that is endless (a link to `/dev/zero`) is read only up to its cap.
#[test]
fn an_endless_camera_file_is_read_up_to_its_cap() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("zero.json");
    std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
    let (result, allocated) = measure(|| api::cameras::config_file::read(&link));
    let error = result.unwrap_err().to_string();
    assert!(error.contains("too large"), "{error}");
    assert!(allocated.peak <= 4 * api::cameras::config_file::MAX_FILE_BYTES as usize);
}
