//! The OpenAPI document at `/v1/openapi.json`.

use axum::Json;
use serde_json::{Value, json};

fn op(summary: &str, auth: bool) -> Value {
    let mut v = json!({
        "summary": summary,
        "responses": {
            "200": {"description": "OK"},
            "400": {"description": "Bad request", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            "401": {"description": "No or unknown token"},
            "403": {"description": "Role too low"}
        }
    });
    if auth {
        v["security"] = json!([{"bearer": []}]);
    }
    v
}

/// `GET /v1/openapi.json`.
pub async fn document(caller: super::Caller) -> Result<Json<Value>, crate::error::ApiError> {
    caller.require(docgrid_core::api::Role::Read)?;
    let paths = json!({
        "/v1/health": {"get": op("Liveness, version and applied revision (no token needed)", false)},
        "/v1/stats": {"get": op("Documents, bytes stored vs logical, dedup ratio, backend health", true)},
        "/v1/chunks": {"post": op("Upload many chunks in one body (per chunk: 32-byte BLAKE3, 8-byte LE length, bytes), each verified; at most 64 MiB", true)},
        "/v1/chunks/missing": {"post": op("Which of these chunk hashes the server lacks", true)},
        "/v1/chunks/{hash}": {"put": op("Upload a chunk (verified against its BLAKE3)", true), "get": op("Download a chunk", true)},
        "/v1/commits": {"post": op("Commit ops atomically; 409 names stale documents", true), "get": op("Commits after ?since=, at most ?limit=", true)},
        "/v1/commits/{rev}": {"get": op("One changeset with its ops", true)},
        "/v1/changes": {"get": op("Commits after ?since=, long-polling up to ?wait= seconds", true)},
        "/v1/docs": {"post": op("Upload raw content; metadata as query parameters (?name=&tag=&k=v)", true)},
        "/v1/docs/{id}": {"get": op("A document", true), "patch": op("Edit metadata against a base revision", true), "delete": op("Delete (history stays)", true)},
        "/v1/docs/{id}/content": {"get": op("Content, with Range and ETag", true), "put": op("Replace content", true)},
        "/v1/docs/{id}/history": {"get": op("Revisions of a document", true)},
        "/v1/docs/{id}/text": {"get": op("The text extracted from a document for full-text search", true)},
        "/v1/docs/{id}/manifest": {"get": op("Content as chunk hashes and lengths (fetch each with GET /v1/chunks/{hash}); ?rev=R: as it was at revision R", true)},
        "/v1/search": {"get": op("Query language search: ?q=&limit=&offset=", true)},
        "/v1/tree/{path}": {"get": op("List a path of the metadata tree", true)},
        "/v1/tags": {"get": op("Tags with counts", true)},
        "/v1/keys": {"get": op("Keys with counts", true)},
        "/v1/keys/{key}/values": {"get": op("Values of a key with counts", true)},
        "/v1/admin/tokens": {"get": op("List tokens (admin)", true), "post": op("Create a token (admin)", true)},
        "/v1/admin/tokens/{name}": {"delete": op("Revoke a token (admin)", true)},
        "/v1/admin/scrub": {"post": op("Scrub the backend, ?repair=true to repair (admin)", true)},
        "/v1/admin/repair": {"post": op("Scrub and repair (admin)", true)},
        "/v1/admin/gc": {"post": op("Delete unreferenced chunks (admin)", true)},
        "/v1/admin/purge/{id}": {"post": op("Remove a document's content from history (admin)", true)},
        "/v1/admin/reindex": {"post": op("Rebuild the index from the journal (admin)", true)}
    });
    Ok(Json(json!({
        "openapi": "3.0.3",
        "info": {"title": "docgrid", "version": docgrid_core::VERSION},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": {"type": "object", "properties": {"error": {"type": "object", "properties": {
                "code": {"type": "string"}, "message": {"type": "string"}}}}}}
        }
    })))
}
