//! Ranged reads: a document's manifest (cached), then only the chunks the
//! range covers — from memory, the on-disk chunk cache, or a server —
//! each verified against its BLAKE3 before a byte of it is returned.

use std::sync::Arc;

use docgrid_core::DocId;
use docgrid_core::api::ContentManifest;
use docgrid_core::chunk::Digest;
use docgrid_core::content::slices;

use super::Tree;
use crate::error::ClientError;

impl Tree {
    /// A document's manifest (its chunks), from the cache when current.
    pub fn manifest(&self, id: &DocId) -> Result<Arc<ContentManifest>, ClientError> {
        if let Some(m) = self.state.manifest(id, &self.opts) {
            return Ok(m);
        }
        let generation = self.state.generation();
        let m = match self.client.manifest(id) {
            Ok(m) => Arc::new(m),
            Err(e) if e.kind() == crate::ErrorKind::Unavailable => {
                let m = self.state.stale_manifest(id).ok_or(e)?;
                tracing::warn!("document {id}: no server answers; reading its last known content");
                return Ok(m);
            }
            Err(e) => return Err(e),
        };
        self.state.keep_manifest(m.clone(), generation);
        Ok(m)
    }

    /// Up to `len` bytes of document `id` from `offset` (fewer at the end
    /// of the content, none past it). Fetches only the chunks the range
    /// covers, several at once; a second read of them makes no request.
    pub fn read_at(&self, id: &DocId, offset: u64, len: usize) -> Result<Vec<u8>, ClientError> {
        let m = self.manifest(id)?;
        self.read_manifest_at(&m, offset, len)
    }

    /// [`Tree::read_at`] of a manifest already in hand.
    pub fn read_manifest_at(
        &self,
        m: &ContentManifest,
        offset: u64,
        len: usize,
    ) -> Result<Vec<u8>, ClientError> {
        if offset >= m.size || len == 0 {
            return Ok(Vec::new());
        }
        let len = (len as u64).min(m.size - offset);
        let pieces = slices(m.chunks.iter().map(|c| c.len), offset, len);
        let hashes: Vec<Digest> = pieces.iter().map(|s| m.chunks[s.index].hash).collect();
        let parallel = self.client.options().parallel.max(1);
        let chunks = docgrid_core::parallel_map(&hashes, parallel, |h| self.chunk(h));
        let mut out = Vec::with_capacity(len as usize);
        for (s, chunk) in pieces.iter().zip(chunks) {
            let chunk = chunk?;
            let piece = chunk
                .get(s.from..s.to)
                .ok_or_else(|| ClientError::Corrupt {
                    what: format!(
                        "chunk {} of document {} (shorter than its manifest says)",
                        m.chunks[s.index].hash, m.id
                    ),
                    expected: m.chunks[s.index].hash,
                    got: Digest::of(&chunk),
                })?;
            out.extend_from_slice(piece);
        }
        Ok(out)
    }

    /// One chunk, verified: from memory, else through the client (its disk
    /// cache, else a server). Concurrent calls for one chunk fetch it once.
    pub fn chunk(&self, hash: &Digest) -> Result<Arc<Vec<u8>>, ClientError> {
        if let Some(b) = self.memo(hash) {
            return Ok(b);
        }
        let flight = self
            .state
            .fetching
            .lock()
            .expect("poisoned")
            .entry(*hash)
            .or_default()
            .clone();
        let result = {
            let _fetch = flight.lock().unwrap_or_else(|p| p.into_inner());
            match self.memo(hash) {
                Some(b) => Ok(b),
                None => self.client.chunk(hash).map(|bytes| {
                    let bytes = Arc::new(bytes);
                    self.state
                        .chunks
                        .lock()
                        .expect("poisoned")
                        .put(*hash, bytes.clone());
                    bytes
                }),
            }
        };
        let mut fetching = self.state.fetching.lock().expect("poisoned");
        if fetching.get(hash).is_some_and(|f| Arc::ptr_eq(f, &flight))
            && Arc::strong_count(&flight) == 2
        {
            fetching.remove(hash);
        }
        result
    }

    fn memo(&self, hash: &Digest) -> Option<Arc<Vec<u8>>> {
        self.state.chunks.lock().expect("poisoned").get(hash)
    }
}
