//! Administration: tokens, scrub and repair, GC, purge, reindex.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use docgrid_core::api::{CommitResponse, GcReport, Role, ScrubSummary, TokenInfo, TokenRequest};
use docgrid_core::model::Op;
use serde::Deserialize;

use super::Caller;
use crate::app::App;
use crate::error::{ApiError, blocking};

/// Admin routes.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/v1/admin/tokens", get(list_tokens).post(create_token))
        .route("/v1/admin/tokens/{name}", delete(revoke_token))
        .route("/v1/admin/scrub", post(scrub))
        .route("/v1/admin/repair", post(repair))
        .route("/v1/admin/gc", post(gc))
        .route("/v1/admin/purge/{id}", post(purge))
        .route("/v1/admin/reindex", post(reindex))
}

async fn list_tokens(
    State(app): State<Arc<App>>,
    caller: Caller,
) -> Result<Json<Vec<TokenInfo>>, ApiError> {
    caller.require(Role::Admin)?;
    blocking(move || app.tokens().list().map(Json)).await
}

async fn create_token(
    State(app): State<Arc<App>>,
    caller: Caller,
    body: Result<Json<TokenRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<TokenInfo>, ApiError> {
    caller.require(Role::Admin)?;
    let Json(req) =
        body.map_err(|e| ApiError::bad_request(format!("token request: {}", e.body_text())))?;
    blocking(move || app.tokens().create(&req.name, req.role).map(Json)).await
}

async fn revoke_token(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(Role::Admin)?;
    blocking(move || {
        app.tokens().revoke(&name)?;
        Ok(Json(serde_json::json!({ "revoked": name })))
    })
    .await
}

#[derive(Deserialize)]
struct ScrubParams {
    #[serde(default)]
    repair: bool,
}

async fn scrub(
    State(app): State<Arc<App>>,
    caller: Caller,
    Query(p): Query<ScrubParams>,
) -> Result<Json<ScrubSummary>, ApiError> {
    caller.require(Role::Admin)?;
    blocking(move || crate::maintenance::scrub(&app, p.repair).map(Json)).await
}

async fn repair(
    State(app): State<Arc<App>>,
    caller: Caller,
) -> Result<Json<ScrubSummary>, ApiError> {
    caller.require(Role::Admin)?;
    blocking(move || crate::maintenance::scrub(&app, true).map(Json)).await
}

#[derive(Deserialize)]
struct GcParams {
    /// Chunks uploaded less than this many seconds ago are kept (a commit
    /// may be about to reference them). Default one hour.
    grace: Option<u64>,
}

async fn gc(
    State(app): State<Arc<App>>,
    caller: Caller,
    Query(p): Query<GcParams>,
) -> Result<Json<GcReport>, ApiError> {
    caller.require(Role::Admin)?;
    let grace = std::time::Duration::from_secs(p.grace.unwrap_or(3600));
    blocking(move || crate::maintenance::gc(&app, grace).map(Json)).await
}

async fn purge(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<CommitResponse>, ApiError> {
    caller.require(Role::Admin)?;
    let id = id
        .parse()
        .map_err(|e: docgrid_core::id::ParseDocIdError| ApiError::bad_request(e.to_string()))?;
    blocking(move || {
        crate::commit::commit(
            &app,
            &caller.name,
            &format!("purge {id}"),
            vec![Op::Purge { id }],
        )
        .map(Json)
    })
    .await
}

async fn reindex(
    State(app): State<Arc<App>>,
    caller: Caller,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(Role::Admin)?;
    blocking(move || {
        let n = app.reindex()?;
        Ok(Json(serde_json::json!({ "replayed": n, "rev": app.rev() })))
    })
    .await
}
