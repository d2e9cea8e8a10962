//! Static files. `/pkg` holds the built front end (WASM, JS, CSS): with `hash-files` their
//! names change with their content, so they are cached forever, and the release build
//! precompresses them (`cargo leptos build --release -P` writes `.br` and `.gz` beside
//! each file), so serving one costs no compression work. The other files of `public/`
//! (the favicon) are served from the site root and cached for a day.

use crate::error::{ApiError, ErrorCode};
use axum::{
    Router,
    body::Body,
    extract::Request,
    http::{HeaderValue, Response, StatusCode, header},
    routing::{any, get},
};
use leptos::config::LeptosOptions;
use std::{convert::Infallible, path::Path, sync::Arc};
use tower::Service;
use tower_http::{services::ServeDir, set_header::SetResponseHeaderLayer};

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";
const ONE_DAY: &str = "public, max-age=86400";

/// `/pkg/*` (mounted with `nest_service`): precompressed, immutable when hashed.
///
/// A hashed build's files are read once, at start, and served from memory: their names
/// change with their content, so what is on disk at start is what every request must get
/// until the next release, and a request then costs no file system work (`ServeDir` opens,
/// inspects and reads the file through the blocking pool on every request; see
/// BENCHMARKS.md). Without hashed names (a development build rewritten in place) files are
/// read from disk per request and revalidated.
///
/// Also returns the front ends found there for [`bundle_for_page`] (none without hashed
/// names: a development build has only the whole front end).
pub fn pkg(options: &LeptosOptions) -> (Router, FrontEnds) {
    let dir = Path::new(&*options.site_root).join(&*options.site_pkg_dir);
    let not_found = any(|| async { ApiError::new(ErrorCode::NotFound) });
    if options.hash_files {
        let files = match held::load(&dir) {
            Ok(files) => files,
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "no front-end files to serve");
                Default::default()
            }
        };
        let front_ends = FrontEnds::find(options, files.keys().map(String::as_str));
        let router = Router::new()
            .route("/{*path}", get(held::serve).with_state(Arc::new(files)))
            .fallback(not_found)
            .method_not_allowed_fallback(super::method_not_allowed)
            .layer(cache_success(IMMUTABLE));
        return (router, front_ends);
    }
    let serve = ServeDir::new(dir)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(not_found);
    let router = Router::new()
        .fallback_service(serve)
        .layer(cache_success(REVALIDATE));
    (router, FrontEnds::default())
}

/// The front ends a page can load, by the names its HTML gives their JS and WASM
/// (`fypass.<hash>`, without the extension): the whole one, with every island, and the
/// smaller bundles of `src/bundles.rs` (`fypass-<bundle>.<hash>`, built by `make build`).
#[derive(Clone, Debug, Default)]
pub struct FrontEnds {
    whole: Option<Names>,
    bundles: Vec<(&'static str, Names)>,
}

#[derive(Clone, Debug, PartialEq)]
struct Names {
    js: String,
    wasm: String,
}

impl FrontEnds {
    /// The whole front end's names as `HydrationScripts` puts them in a page (from the hash
    /// file cargo-leptos writes beside the binary), and each bundle that has exactly one JS
    /// and one WASM among `files` (the paths under `/pkg`). A bundle missing from the build
    /// is left out, and its pages load the whole front end.
    fn find<'a>(options: &LeptosOptions, files: impl Iterator<Item = &'a str> + Clone) -> Self {
        let output = &*options.output_name;
        let hashes = std::env::current_exe()
            .ok()
            .and_then(|exe| std::fs::read_to_string(exe.with_file_name(&*options.hash_file)).ok())
            .unwrap_or_default();
        let hash = |kind: &str| {
            hashes.lines().find_map(|line| {
                let (file, hash) = line.split_once(':')?;
                (file.trim() == kind).then(|| format!("{output}.{}", hash.trim()))
            })
        };
        let whole = hash("js")
            .zip(hash("wasm"))
            .map(|(js, wasm)| Names { js, wasm });
        let bundles = crate::bundles::BUNDLES
            .iter()
            .filter_map(|(name, _)| {
                let prefix = format!("{output}-{name}.");
                let only = |ext: &str| {
                    let mut found = files.clone().filter_map(|f| {
                        f.strip_suffix(ext)
                            .filter(|stem| stem.starts_with(&prefix) && !stem.contains('/'))
                    });
                    let stem = found.next()?;
                    found.next().is_none().then(|| stem.to_string())
                };
                let names = only(".js")
                    .zip(only(".wasm"))
                    .map(|(js, wasm)| Names { js, wasm });
                if names.is_none() {
                    tracing::warn!(
                        bundle = name,
                        "no single front end for this bundle; its pages load the whole one"
                    );
                }
                Some((*name, names?))
            })
            .collect();
        FrontEnds { whole, bundles }
    }

    /// `html` switched to the smallest bundle that holds every island it has, or `None` when
    /// it keeps the whole front end.
    fn switch(&self, html: &str) -> Option<String> {
        let whole = self.whole.as_ref()?;
        let islands = html
            .split("data-component=\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            // An island's id is its component's name and a hash: `LoginForm_1234`.
            .map(|id| id.rsplit_once('_').map_or(id, |(name, _)| name));
        let bundle = crate::bundles::for_page(islands)?;
        let (_, names) = self.bundles.iter().find(|(name, _)| *name == bundle)?;
        // The names are `<output>.<22 base64 characters>`: nothing else in a page has them.
        Some(
            html.replace(&whole.js, &names.js)
                .replace(&whole.wasm, &names.wasm),
        )
    }
}

/// Sends each page with the smallest front end that hydrates it (see `src/bundles.rs`): the
/// page is rendered naming the whole front end, and when one bundle holds every island in
/// it, its script and WASM become that bundle's. Pages are whole HTML of a few KiB (see
/// `app::render_page`), so reading one costs no more than sending it.
pub async fn bundle_for_page(
    axum::extract::State(front_ends): axum::extract::State<Arc<FrontEnds>>,
    res: Response<Body>,
) -> Response<Body> {
    use axum::response::IntoResponse;
    let html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !html || front_ends.bundles.is_empty() {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let bytes = match axum::body::to_bytes(body, 16 << 20).await {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::error!(error = %e, "rendering a page failed");
            return ApiError::new(ErrorCode::InternalError).into_response();
        }
    };
    match std::str::from_utf8(&bytes)
        .ok()
        .and_then(|html| front_ends.switch(html))
    {
        Some(switched) => {
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(switched))
        }
        None => Response::from_parts(parts, Body::from(bytes)),
    }
}

/// Front-end files held in memory, each with its precompressed forms.
mod held {
    use crate::error::{ApiError, ErrorCode};
    use axum::{
        body::Bytes,
        extract::{Path, State},
        http::{HeaderMap, HeaderValue, header},
        response::{IntoResponse, Response},
    };
    use std::{collections::HashMap, io, path::Path as FsPath, sync::Arc};

    pub struct File {
        content_type: HeaderValue,
        identity: Bytes,
        br: Option<Bytes>,
        gzip: Option<Bytes>,
    }

    /// Every file under `dir` by its path relative to it (`snippets/x/y.js`), with the
    /// `.br` and `.gz` written beside it by `cargo leptos build --precompress`.
    pub fn load(dir: &FsPath) -> io::Result<HashMap<String, File>> {
        let mut files = HashMap::new();
        let mut pending = vec![dir.to_path_buf()];
        while let Some(at) = pending.pop() {
            for entry in std::fs::read_dir(&at)? {
                let path = entry?.path();
                if path.is_dir() {
                    pending.push(path);
                    continue;
                }
                let ext = path.extension().and_then(|e| e.to_str());
                if matches!(ext, Some("br" | "gz")) {
                    continue;
                }
                let sibling = |suffix: &str| {
                    let mut name = path.clone().into_os_string();
                    name.push(suffix);
                    std::fs::read(name).ok().map(Bytes::from)
                };
                let mime = mime_guess::from_path(&path).first_or_octet_stream();
                let file = File {
                    content_type: HeaderValue::from_str(mime.as_ref())
                        .unwrap_or(HeaderValue::from_static("application/octet-stream")),
                    identity: Bytes::from(std::fs::read(&path)?),
                    br: sibling(".br"),
                    gzip: sibling(".gz"),
                };
                let key = path.strip_prefix(dir).unwrap_or(&path);
                let key = key.components().map(|c| c.as_os_str().to_string_lossy());
                files.insert(key.collect::<Vec<_>>().join("/"), file);
            }
        }
        Ok(files)
    }

    pub async fn serve(
        State(files): State<Arc<HashMap<String, File>>>,
        Path(path): Path<String>,
        headers: HeaderMap,
    ) -> Response {
        let Some(file) = files.get(&path) else {
            return ApiError::new(ErrorCode::NotFound).into_response();
        };
        let accepted = Accepted::from(&headers);
        let (encoding, body) = match (&file.br, &file.gzip) {
            (Some(br), _) if accepted.br > 0.0 && accepted.br >= accepted.gzip => (Some("br"), br),
            (_, Some(gz)) if accepted.gzip > 0.0 => (Some("gzip"), gz),
            (Some(br), None) if accepted.br > 0.0 => (Some("br"), br),
            _ => (None, &file.identity),
        };
        let mut res = (
            [
                (header::CONTENT_TYPE, file.content_type.clone()),
                (header::VARY, HeaderValue::from_static("accept-encoding")),
            ],
            body.clone(),
        )
            .into_response();
        if let Some(encoding) = encoding {
            res.headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
        }
        res
    }

    /// The weights (`q`) a request's `Accept-Encoding` gives brotli and gzip; 0 when not
    /// accepted.
    struct Accepted {
        br: f32,
        gzip: f32,
    }

    impl From<&HeaderMap> for Accepted {
        fn from(headers: &HeaderMap) -> Self {
            let (mut br, mut gzip, mut any) = (None, None, None);
            let values = headers.get_all(header::ACCEPT_ENCODING).iter();
            for item in values
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
            {
                let mut parts = item.split(';');
                let name = parts.next().unwrap_or("").trim();
                let q = parts
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())
                    .unwrap_or(0.0);
                match name.to_ascii_lowercase().as_str() {
                    "br" => br = Some(q),
                    "gzip" | "x-gzip" => gzip = Some(q),
                    "*" => any = Some(q),
                    _ => {}
                }
            }
            let any = any.unwrap_or(0.0);
            Accepted {
                br: br.unwrap_or(any),
                gzip: gzip.unwrap_or(any),
            }
        }
    }
}

/// Files copied from `public/` into the site root; any other path goes to `not_found`.
pub fn public<F>(options: &LeptosOptions, not_found: F) -> Router
where
    F: Service<Request, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    F::Future: Send + 'static,
{
    let serve = ServeDir::new(&*options.site_root)
        .append_index_html_on_directories(false)
        .call_fallback_on_method_not_allowed(true)
        .fallback(not_found);
    Router::new()
        .fallback_service(serve)
        .layer(cache_success(ONE_DAY))
}

/// Sets `Cache-Control` on successful file responses only (errors stay `no-store`).
fn cache_success(
    value: &'static str,
) -> SetResponseHeaderLayer<impl Fn(&Response<Body>) -> Option<HeaderValue> + Clone> {
    SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, move |res: &Response<Body>| {
        (res.status().is_success() || res.status() == StatusCode::NOT_MODIFIED)
            .then(|| HeaderValue::from_static(value))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn front_ends() -> FrontEnds {
        let names = |stem: &str| Names {
            js: format!("{stem}.J"),
            wasm: format!("{stem}.W"),
        };
        FrontEnds {
            whole: Some(names("fypass")),
            bundles: vec![
                ("sign-in", names("fypass-sign-in")),
                ("devices", names("fypass-devices")),
            ],
        }
    }

    fn page(islands: &[&str]) -> String {
        let islands: String = islands
            .iter()
            .map(|i| {
                format!(
                    r#"<leptos-island data-component="{i}_1729" data-props="{{}}"></leptos-island>"#
                )
            })
            .collect();
        format!(
            r#"<link rel="modulepreload" href="/pkg/fypass.J.js"><script>x("/pkg", "fypass.J", "fypass.W")</script>{islands}"#
        )
    }

    #[test]
    fn a_page_a_bundle_covers_loads_that_bundle_and_nothing_of_the_whole() {
        let html = front_ends()
            .switch(&page(&["LoginForm", "PasskeySignIn"]))
            .unwrap();
        assert!(
            html.contains(r#"href="/pkg/fypass-sign-in.J.js""#),
            "{html}"
        );
        assert!(
            html.contains(r#""fypass-sign-in.J", "fypass-sign-in.W""#),
            "{html}"
        );
        assert!(
            !html.contains("fypass.J") && !html.contains("fypass.W"),
            "{html}"
        );
        let html = front_ends().switch(&page(&["DeviceList"])).unwrap();
        assert!(
            html.contains(r#""fypass-devices.J", "fypass-devices.W""#),
            "{html}"
        );
    }

    #[test]
    fn a_page_no_bundle_covers_keeps_the_whole_front_end() {
        assert_eq!(
            front_ends().switch(&page(&["LoginForm", "DeviceList"])),
            None
        );
        assert_eq!(front_ends().switch(&page(&["ContinueAs"])), None);
        let without_whole = FrontEnds {
            whole: None,
            ..front_ends()
        };
        assert_eq!(without_whole.switch(&page(&["LoginForm"])), None);
    }
}
