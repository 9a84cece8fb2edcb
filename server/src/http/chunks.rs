//! `POST /v1/chunks`: many chunks in one request (the body format is
//! `docgrid_core::api::chunk_batch`), each verified against its BLAKE3,
//! stored with one `put_batch` and recorded in one index transaction. An
//! import of small files then costs the server one durable write per batch
//! instead of one per file.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::routing::post;
use axum::{Json, Router};
use docgrid_core::Digest;
use docgrid_core::api::{ChunksStored, Role, chunk_batch};
use docgrid_core::chunk::MAX_CHUNK;

use super::Caller;
use crate::app::App;
use crate::error::{ApiError, blocking};

/// A batch body: up to 64 MiB.
pub const MAX_BATCH_BODY: usize = 64 << 20;

/// The batch route.
pub fn routes() -> Router<Arc<App>> {
    Router::new().route(
        "/v1/chunks",
        post(put_chunks).layer(DefaultBodyLimit::max(MAX_BATCH_BODY)),
    )
}

async fn put_chunks(
    State(app): State<Arc<App>>,
    caller: Caller,
    body: Bytes,
) -> Result<Json<ChunksStored>, ApiError> {
    caller.require(Role::Write)?;
    blocking(move || {
        let chunks = chunk_batch::decode(&body, 4 * u64::from(MAX_CHUNK))
            .map_err(|e| ApiError::bad_request(format!("body: {e}")))?;
        for (i, (hash, bytes)) in chunks.iter().enumerate() {
            if Digest::of(bytes) != *hash {
                return Err(ApiError::bad_request(format!(
                    "chunk {i} does not hash to {hash}: corrupted upload, retry"
                )));
            }
        }
        // Content bytes, not the frame headers.
        app.note_received(chunks.iter().map(|(_, b)| b.len()).sum());
        // Verified above: the store need not hash them again.
        let locators = app.store().put_batch_hashed(&chunks)?;
        app.index().write(|tx| -> rusqlite::Result<()> {
            for ((hash, bytes), loc) in chunks.iter().zip(&locators) {
                crate::index::record_upload(tx, hash, loc, bytes.len() as u64)?;
            }
            Ok(())
        })?;
        Ok(Json(ChunksStored {
            chunks: chunks.len() as u64,
            bytes: chunks.iter().map(|(_, b)| b.len() as u64).sum(),
        }))
    })
    .await
}
