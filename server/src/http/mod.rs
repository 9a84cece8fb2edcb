//! The `/v1` HTTP API (axum): routes, authentication, and the handlers that
//! are not about documents or administration.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::routing::{get, post};
use axum::{Json, Router};
use docgrid_core::api::{
    BackendHealth, Changes, CommitInfo, CommitRequest, CommitResponse, Count, DiskHealth, Health,
    Role, Stats, TreeListing,
};
use docgrid_core::model::{Changeset, Op};
use docgrid_core::tree::Dir;
use serde::Deserialize;

use crate::app::App;
use crate::error::{ApiError, blocking};

mod admin;
mod chunks;
mod docs;
mod openapi;

/// The largest JSON body accepted (commits of 100k operations fit).
pub const MAX_JSON_BODY: usize = 256 << 20;

/// Who is calling: from the bearer token.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token's name (recorded as the author of commits).
    pub name: String,
    /// Its role.
    pub role: Role,
}

impl Caller {
    /// Refuses unless the caller's role is at least `role`.
    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.role >= role {
            return Ok(());
        }
        Err(ApiError::forbidden(format!(
            "token {:?} has role {:?}; this needs {:?}",
            self.name, self.role, role
        )))
    }
}

impl FromRequestParts<Arc<App>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthorized("no token: send Authorization: Bearer TOKEN"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .ok_or_else(|| {
                ApiError::unauthorized("malformed Authorization header: expected Bearer TOKEN")
            })?
            .trim()
            .to_string();
        let app = app.clone();
        let found = blocking(move || app.tokens().check(&token)).await?;
        let (name, role) =
            found.ok_or_else(|| ApiError::unauthorized("unknown or revoked token"))?;
        Ok(Caller { name, role })
    }
}

/// Every route of the API.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/v1/health", get(health))
        .route("/v1/openapi.json", get(openapi::document))
        .route("/v1/stats", get(stats))
        .route("/v1/commits", post(commit).get(commits))
        .route("/v1/commits/{rev}", get(commit_one))
        .route("/v1/changes", get(changes))
        .route("/v1/tree", get(tree_root))
        .route("/v1/tree/", get(tree_root))
        .route("/v1/tree/{*path}", get(tree))
        .route("/v1/tags", get(tags))
        .route("/v1/keys", get(keys))
        .route("/v1/keys/{key}/values", get(values))
        .route("/v1/search", get(search))
        .merge(docs::routes())
        .merge(chunks::routes())
        .merge(admin::routes())
        .fallback(|| async { ApiError::not_found("no such endpoint; see /v1/openapi.json") })
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            unavailable_while_reindexing,
        ))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            followers_refuse_writes,
        ))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            count_requests,
        ))
        .layer(axum::middleware::from_fn(query_is_utf8))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_JSON_BODY))
        .with_state(app)
}

/// Refuses a query string whose percent-escapes do not decode to UTF-8
/// (`?q=%ff`), for every route: decoding it lossily would search for, or
/// name, something the caller never wrote.
async fn query_is_utf8(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if let Some(q) = req.uri().query()
        && let Err(e) = docs::parse_query(q)
    {
        return e.into_response();
    }
    next.run(req).await
}

async fn health(State(app): State<Arc<App>>) -> Json<Health> {
    let degraded = app.degraded();
    Json(Health {
        status: if degraded.is_some() { "degraded" } else { "ok" }.into(),
        degraded,
        version: docgrid_core::VERSION.into(),
        rev: app.rev(),
        role: if app.is_follower() {
            "follower"
        } else {
            "primary"
        }
        .into(),
        primary: match &app.role() {
            crate::app::ServerRole::Follower { primary, .. } => primary.clone(),
            crate::app::ServerRole::Primary => None,
        },
    })
}

async fn stats(State(app): State<Arc<App>>, caller: Caller) -> Result<Json<Stats>, ApiError> {
    caller.require(Role::Read)?;
    blocking(move || {
        let (documents, bytes_logical, chunks, bytes_stored) =
            app.index().read(crate::index::read::totals)?;
        let mut disks: Vec<DiskHealth> = app
            .native()
            .iter()
            .flat_map(|n| n.disks())
            .map(|d| DiskHealth {
                id: d.id,
                path: d.path.display().to_string(),
                online: d.online,
            })
            .collect();
        if let Some(tahoe) = &app.tahoe() {
            // The grid's storage servers as the gateway sees them; an
            // unreachable gateway is listed offline itself.
            match tahoe.servers() {
                Ok(servers) => disks.extend(servers.iter().map(|s| DiskHealth {
                    id: s.name(),
                    path: s.nodeid.clone().unwrap_or_default(),
                    online: s.connected(),
                })),
                Err(e) => {
                    tracing::warn!("stats: {e}");
                    disks.push(DiskHealth {
                        id: "gateway".into(),
                        path: tahoe.gateway().into(),
                        online: false,
                    });
                }
            }
        }
        let scrub = app.last_scrub_problems();
        // Pending text becomes searchable at the next full-text commit.
        app.sync_fulltext()?;
        Ok(Json(Stats {
            documents,
            rev: app.rev(),
            bytes_logical,
            bytes_stored,
            chunks,
            dedup_ratio: if bytes_stored == 0 {
                1.0
            } else {
                bytes_logical as f64 / bytes_stored as f64
            },
            backend: BackendHealth {
                kind: app.store().kind().into(),
                disks_missing: disks.iter().filter(|d| !d.online).count() as u64,
                disks,
                shards_missing: scrub,
            },
            requests: app
                .counters()
                .requests
                .load(std::sync::atomic::Ordering::Relaxed),
            bytes_received: app
                .counters()
                .bytes_received
                .load(std::sync::atomic::Ordering::Relaxed),
            extraction: app.index().read(crate::extract::queue::stats)?,
        }))
    })
    .await
}

async fn commit(
    State(app): State<Arc<App>>,
    caller: Caller,
    body: Result<Json<CommitRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<CommitResponse>, ApiError> {
    caller.require(Role::Write)?;
    let Json(req) =
        body.map_err(|e| ApiError::bad_request(format!("commit body: {}", e.body_text())))?;
    use docgrid_core::api::{MAX_COMMIT_MESSAGE, MAX_COMMIT_OPS};
    if req.message.len() > MAX_COMMIT_MESSAGE {
        return Err(ApiError::too_large(format!(
            "a commit message is at most {MAX_COMMIT_MESSAGE} bytes; this one is {}",
            req.message.len()
        )));
    }
    if req.ops.len() > MAX_COMMIT_OPS {
        return Err(ApiError::too_large(format!(
            "a commit holds at most {MAX_COMMIT_OPS} operations; this one has {}: commit in several",
            req.ops.len()
        )));
    }
    if req.ops.iter().any(|o| matches!(o, Op::Purge { .. })) {
        caller.require(Role::Admin)?;
    }
    blocking(move || crate::commit::commit(&app, &caller.name, &req.message, req.ops))
        .await
        .map(Json)
}

#[derive(Deserialize)]
struct Since {
    #[serde(default)]
    since: u64,
    limit: Option<u64>,
    wait: Option<u64>,
}

async fn commits(
    State(app): State<Arc<App>>,
    caller: Caller,
    Query(q): Query<Since>,
) -> Result<Json<Vec<CommitInfo>>, ApiError> {
    caller.require(Role::Read)?;
    let limit = q.limit.unwrap_or(100).min(10_000);
    blocking(move || {
        Ok(Json(app.index().read(|c| {
            crate::index::read::commits(c, q.since, limit)
        })?))
    })
    .await
}

async fn commit_one(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(rev): Path<u64>,
) -> Result<Json<Changeset>, ApiError> {
    caller.require(Role::Read)?;
    blocking(move || {
        let loc = app
            .index()
            .read(|c| crate::index::read::changeset_locator(c, rev))?
            .ok_or_else(|| ApiError::not_found(format!("no revision {rev}")))?;
        let mut cs = docgrid_core::journal::Journal::new(app.store()).load(&loc)?;
        // Locators stay inside the server: on Tahoe they hold read caps.
        // The parent is revision rev - 1; its blob's locator is not said.
        cs.parent = None;
        for op in &mut cs.ops {
            if let Op::Create { content, .. } | Op::SetContent { content, .. } = op {
                for c in &mut content.chunks {
                    c.locator = docgrid_core::store::Locator::new("");
                }
            }
        }
        Ok(Json(cs))
    })
    .await
}

async fn changes(
    State(app): State<Arc<App>>,
    caller: Caller,
    Query(q): Query<Since>,
) -> Result<Json<Changes>, ApiError> {
    caller.require(Role::Read)?;
    let wait = Duration::from_secs(q.wait.unwrap_or(0).min(60));
    let mut rx = app.subscribe_changes();
    let mut stopping = app.subscribe_stopping();
    if *rx.borrow() <= q.since && !wait.is_zero() {
        // A shutdown ends the wait: long polls must not hold it up.
        tokio::select! {
            _ = tokio::time::timeout(wait, rx.wait_for(|rev| *rev > q.since)) => {}
            _ = stopping.wait_for(|s| *s) => {}
        }
    }
    let limit = q.limit.unwrap_or(1000).min(10_000);
    blocking(move || {
        let commits = app
            .index()
            .read(|c| crate::index::read::commits(c, q.since, limit))?;
        Ok(Json(Changes {
            rev: app.rev(),
            commits,
        }))
    })
    .await
}

/// `?offset=&limit=` of a tree listing.
#[derive(Deserialize, Default)]
struct Page {
    #[serde(default)]
    offset: u64,
    limit: Option<u64>,
}

async fn tree_root(
    State(app): State<Arc<App>>,
    caller: Caller,
    page: Result<Query<Page>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<TreeListing>, ApiError> {
    tree(State(app), caller, Path(String::new()), page).await
}

async fn tree(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(path): Path<String>,
    page: Result<Query<Page>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<TreeListing>, ApiError> {
    caller.require(Role::Read)?;
    let Query(page) =
        page.map_err(|e| ApiError::bad_request(format!("tree parameters: {}", e.body_text())))?;
    blocking(move || {
        let path = format!("/{path}");
        // Only a search reads the full-text index: a listing elsewhere
        // does not wait for its commit (a `cp -r` through the mount lists
        // a directory after every file it writes).
        if docgrid_core::tree::parse_dir(&path).is_ok_and(|d| matches!(d, Dir::Search(_))) {
            sync_fulltext(&app)?;
        }
        let limit = page.limit.unwrap_or(docgrid_core::api::TREE_PAGE_MAX);
        Ok(Json(app.index().read(|c| {
            // The revision is read inside the index transaction, so the
            // listing is the one of that revision.
            let rev = crate::index::applied_rev(c)?;
            Ok(crate::treeexec::list_page(
                c,
                app.fulltext(),
                app.listings(),
                &path,
                rev,
                page.offset,
                limit,
            ))
        })??))
    })
    .await
}

async fn tags(State(app): State<Arc<App>>, caller: Caller) -> Result<Json<Vec<Count>>, ApiError> {
    caller.require(Role::Read)?;
    blocking(move || Ok(Json(app.index().read(crate::index::read::tag_counts)?))).await
}

async fn keys(State(app): State<Arc<App>>, caller: Caller) -> Result<Json<Vec<Count>>, ApiError> {
    caller.require(Role::Read)?;
    blocking(move || Ok(Json(app.index().read(crate::index::read::key_counts)?))).await
}

async fn values(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(key): Path<String>,
) -> Result<Json<Vec<Count>>, ApiError> {
    caller.require(Role::Read)?;
    let key = key.to_ascii_lowercase();
    blocking(move || {
        Ok(Json(
            app.index()
                .read(|c| crate::index::read::value_counts(c, &key))?,
        ))
    })
    .await
}

#[derive(Deserialize)]
struct SearchParams {
    q: String,
    limit: Option<usize>,
    offset: Option<usize>,
}

async fn search(
    State(app): State<Arc<App>>,
    caller: Caller,
    q: Result<Query<SearchParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<docgrid_core::api::SearchResponse>, ApiError> {
    caller.require(Role::Read)?;
    let Query(p) =
        q.map_err(|e| ApiError::bad_request(format!("search parameters: {}", e.body_text())))?;
    let limit = p.limit.unwrap_or(50).min(1000);
    let offset = p.offset.unwrap_or(0);
    blocking(move || {
        sync_fulltext(&app)?;
        Ok(Json(app.index().read(|c| {
            Ok(crate::search::search(
                c,
                app.fulltext(),
                &p.q,
                limit,
                offset,
            ))
        })??))
    })
    .await
}

/// While `POST /v1/admin/reindex` rebuilds the index in place, everything
/// but health and stats answers 503: no partial listing or search is served
/// — neither by a read that began before the reindex and ended during or
/// after it (its answer is replaced by the 503). Writes wait for the
/// reindex (it holds the commit lock) and keep their answers.
async fn unavailable_while_reindexing(
    State(app): State<Arc<App>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let open = matches!(
        req.uri().path(),
        "/v1/health" | "/v1/stats" | "/v1/admin/reindex"
    );
    let busy = || {
        ApiError::unavailable("the index is being rebuilt from the journal; retry shortly")
            .into_response()
    };
    if open {
        return next.run(req).await;
    }
    let before = app.reindex_epoch();
    if before % 2 == 1 {
        return busy();
    }
    let read = matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD
    );
    let resp = next.run(req).await;
    if read && app.reindex_epoch() != before {
        return busy();
    }
    resp
}

async fn count_requests(
    State(app): State<Arc<App>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    app.counters()
        .requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let (method, uri, started) = (
        req.method().clone(),
        req.uri().clone(),
        std::time::Instant::now(),
    );
    let resp = next.run(req).await;
    // RUST_LOG=docgrid_server::requests=debug: one line per request.
    tracing::debug!(
        target: "docgrid_server::requests",
        %method,
        %uri,
        status = resp.status().as_u16(),
        elapsed = ?started.elapsed(),
    );
    resp
}

/// The header naming a follower's primary on a refused write.
pub const PRIMARY_HEADER: &str = "x-docgrid-primary";

/// A follower answers every read; a write (anything but GET and HEAD,
/// except its own token administration and maintenance of its index)
/// gets 403 `read_only_follower` naming the primary.
async fn followers_refuse_writes(
    State(app): State<Arc<App>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::Method;
    use axum::response::IntoResponse;
    let crate::app::ServerRole::Follower { primary, .. } = &app.role() else {
        return next.run(req).await;
    };
    let path = req.uri().path();
    let local = path.starts_with("/v1/admin/tokens")
        || matches!(
            path,
            "/v1/admin/scrub" | "/v1/admin/repair" | "/v1/admin/reindex"
        );
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) || local {
        return next.run(req).await;
    }
    let whom = primary.as_deref().map_or_else(
        || "to the primary server (this follower was started without --primary URL)".to_string(),
        |p| format!("to the primary at {p}"),
    );
    let mut resp = ApiError::read_only(format!(
        "this server is a read-only follower of the journal: send {} {} {whom}",
        req.method(),
        path
    ))
    .into_response();
    if let Some(v) = primary
        .as_deref()
        .and_then(|p| axum::http::HeaderValue::from_str(p).ok())
    {
        resp.headers_mut().insert(PRIMARY_HEADER, v);
    }
    resp
}

/// Commits pending full-text changes so a read sees every applied commit.
fn sync_fulltext(app: &App) -> Result<(), ApiError> {
    Ok(app.sync_fulltext()?)
}
