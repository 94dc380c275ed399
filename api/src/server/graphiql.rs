//! GraphiQL at `/`, served by hadir itself. GraphiQL's and React's browser builds come from the
//! npm registry through `models/fetch.py` (kind `web` in `models/manifest.toml`, which is
//! built into hadir), are checked against the SHA-256 recorded there, read from the cache
//! folder once at start and served under `/graphiql/`. The page loads nothing from anywhere
//! else (no CDN, no font, no favicon elsewhere), so it works on an isolated network.
//!
//! Without the files the page says how to fetch them (503) instead of reaching for the
//! internet. The token comes from `?token=` (taken out of the address bar, as the dashboard
//! does) or the headers editor, and goes with queries (`Authorization`) and subscriptions
//! (`connection_init`).

use std::{collections::BTreeMap, path::Path, sync::Arc};

use axum::{
    Router,
    extract::Path as UrlPath,
    http::{HeaderMap, StatusCode, header},
    response::{Html, IntoResponse, Response},
    routing::get,
};
use bytes::Bytes;
use sha2::{Digest, Sha256};
use vision::models::manifest::Manifest;

use super::state::HttpState;

/// Where the files are served.
pub const ASSET_PREFIX: &str = "/graphiql/";
/// The page's links to them: relative, so that GraphiQL also works behind a proxy's prefix.
const ASSET_LINK: &str = "graphiql/";
/// The manifest's kind of the files served here.
pub const ASSET_KIND: &str = "web";
/// How long browsers may keep a file (its ETag is its SHA-256, so a new build is fetched).
pub const ASSET_CACHE_CONTROL: &str = "public, max-age=86400";
/// The page's own script: starts GraphiQL with hadir's endpoint and token.
const START_SCRIPT: &str = include_str!("graphiql_start.js");
/// The file name of [`START_SCRIPT`] under [`ASSET_PREFIX`].
const START_SCRIPT_NAME: &str = "start.js";
/// The order the page loads the scripts in (React before GraphiQL, the start last).
const SCRIPTS: [&str; 4] = [
    "react.production.min.js",
    "react-dom.production.min.js",
    "graphiql.min.js",
    START_SCRIPT_NAME,
];
/// The style sheet.
const STYLE: &str = "graphiql.min.css";
/// What an operator runs to install the files.
const FETCH_HINT: &str = "python3 models/fetch.py --only web";

/// A file GraphiQL needs is missing or not the one the manifest names.
#[derive(Debug, thiserror::Error)]
#[error("GraphiQL's file {0}; run `{FETCH_HINT}` (HADIR_CACHE_DIR names the cache folder)")]
pub struct AssetsMissing(String);

/// One file, in memory.
#[derive(Clone, Debug)]
struct Asset {
    bytes: Bytes,
    content_type: &'static str,
    etag: String,
}

/// GraphiQL's files by name, checked; or why they could not be.
#[derive(Clone, Debug)]
pub struct GraphiqlAssets {
    files: Result<BTreeMap<String, Asset>, String>,
}

impl GraphiqlAssets {
    /// Reads every `web` file of the built-in manifest from `cache`, each checked against its
    /// size and SHA-256.
    pub fn load(cache: &Path) -> Self {
        let files = load_files(&Manifest::builtin(), cache).map_err(|e| e.to_string());
        if let Err(problem) = &files {
            tracing::warn!(%problem, "GraphiQL cannot be served until its files are fetched");
        }
        Self { files }
    }

    /// Why GraphiQL cannot be served, if it cannot.
    pub fn problem(&self) -> Option<&str> {
        self.files.as_ref().err().map(String::as_str)
    }

    fn get(&self, name: &str) -> Option<&Asset> {
        self.files.as_ref().ok()?.get(name)
    }
}

fn load_files(manifest: &Manifest, cache: &Path) -> Result<BTreeMap<String, Asset>, AssetsMissing> {
    let mut files = BTreeMap::new();
    for (name, entry) in manifest.files.iter().filter(|(_, e)| e.kind == ASSET_KIND) {
        let path = manifest
            .verified_path(cache, name)
            .map_err(|e| AssetsMissing(e.to_string()))?;
        let bytes =
            std::fs::read(&path).map_err(|e| AssetsMissing(format!("{}: {e}", path.display())))?;
        let file_name = Path::new(&entry.file)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or(name)
            .to_owned();
        files.insert(
            file_name.clone(),
            Asset {
                bytes: Bytes::from(bytes),
                content_type: content_type(&file_name),
                etag: format!("\"{}\"", entry.sha256),
            },
        );
    }
    for needed in SCRIPTS.iter().chain([&STYLE]) {
        if *needed != START_SCRIPT_NAME && !files.contains_key(*needed) {
            return Err(AssetsMissing(format!(
                "{needed} is not in the manifest's `{ASSET_KIND}` files"
            )));
        }
    }
    files.insert(
        START_SCRIPT_NAME.to_owned(),
        Asset {
            bytes: Bytes::from_static(START_SCRIPT.as_bytes()),
            content_type: content_type(START_SCRIPT_NAME),
            etag: format!(
                "\"{}\"",
                hex::encode(Sha256::digest(START_SCRIPT.as_bytes()))
            ),
        },
    );
    Ok(files)
}

fn content_type(file_name: &str) -> &'static str {
    if file_name.ends_with(".css") {
        "text/css; charset=utf-8"
    } else {
        "text/javascript; charset=utf-8"
    }
}

/// GraphiQL's page at `/` and its files under [`ASSET_PREFIX`].
pub fn routes(assets: Arc<GraphiqlAssets>) -> Router<HttpState> {
    let files = assets.clone();
    Router::new()
        .route("/", get(move || page(assets.clone())))
        .route(
            "/graphiql/{file}",
            get(move |UrlPath(file): UrlPath<String>, headers: HeaderMap| {
                let files = files.clone();
                async move { asset(&files, &file, &headers) }
            }),
        )
}

/// `GET /`: the page, or what to run when its files are missing.
async fn page(assets: Arc<GraphiqlAssets>) -> Response {
    if let Some(problem) = assets.problem() {
        let body = format!(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <title>hadir GraphiQL</title></head><body><h1>GraphiQL is not installed</h1>\
             <p>{}</p><p>The GraphQL API itself works: <code>POST /graphql</code>.</p></body></html>",
            html_escape(problem)
        );
        return (StatusCode::SERVICE_UNAVAILABLE, Html(body)).into_response();
    }
    let scripts: String = SCRIPTS
        .iter()
        .map(|name| format!("<script src=\"{ASSET_LINK}{name}\"></script>"))
        .collect();
    Html(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"robots\" content=\"noindex\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>hadir GraphiQL</title><link rel=\"icon\" href=\"data:,\">\
         <link rel=\"stylesheet\" href=\"{ASSET_LINK}{STYLE}\">\
         <style>body{{margin:0;height:100%;overflow:hidden}}#graphiql{{height:100vh}}</style>\
         </head><body><div id=\"graphiql\">Loading…</div>{scripts}</body></html>"
    ))
    .into_response()
}

/// `GET /graphiql/{file}`.
fn asset(assets: &GraphiqlAssets, name: &str, headers: &HeaderMap) -> Response {
    let Some(file) = assets.get(name) else {
        let why = assets
            .problem()
            .map_or_else(|| format!("no GraphiQL file {name}"), str::to_owned);
        return (StatusCode::NOT_FOUND, why).into_response();
    };
    let cached = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == file.etag);
    let common = [
        (header::CACHE_CONTROL, ASSET_CACHE_CONTROL.to_owned()),
        (header::ETAG, file.etag.clone()),
    ];
    if cached {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (
        common,
        [(header::CONTENT_TYPE, file.content_type)],
        file.bytes.clone(),
    )
        .into_response()
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_files_are_named_with_the_command_that_fetches_them() {
        let empty = tempfile::tempdir().unwrap();
        let assets = GraphiqlAssets::load(empty.path());
        let problem = assets.problem().unwrap();
        assert!(problem.contains("graphiql"), "{problem}");
        assert!(problem.contains(FETCH_HINT), "{problem}");
    }

    #[test]
    fn the_manifest_lists_every_file_the_page_loads() {
        let manifest = Manifest::builtin();
        let names: Vec<String> = manifest
            .files
            .values()
            .filter(|e| e.kind == ASSET_KIND)
            .filter_map(|e| Path::new(&e.file).file_name()?.to_str().map(str::to_owned))
            .collect();
        for needed in SCRIPTS.iter().chain([&STYLE]) {
            assert!(
                *needed == START_SCRIPT_NAME || names.iter().any(|n| n == needed),
                "{needed} is not in the manifest"
            );
        }
    }

    #[test]
    fn the_start_script_names_no_other_host() {
        for needle in ["http://", "https://", "//unpkg", "cdn"] {
            assert!(!START_SCRIPT.contains(needle), "{needle}");
        }
    }
}
