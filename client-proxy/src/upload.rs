//! The upload pipeline: chunk and hash locally, ask which chunks the
//! server lacks, send only those (several at once), then commit.
//! Re-importing a tree moves only new bytes.

use std::io::Read;

use docgrid_core::DocId;
use docgrid_core::api::CommitResponse;
use docgrid_core::chunk::{Chunker, Digest};
use docgrid_core::model::{ChunkRef, FORMAT_VERSION, Manifest, Metadata, Op};
use docgrid_core::parallel_map as parallel;
use docgrid_core::store::Locator;

use crate::client::Client;
use crate::error::ClientError;

/// What an upload moved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UploadStats {
    /// Files committed.
    pub files: u64,
    /// Bytes of content committed.
    pub bytes: u64,
    /// Chunks referenced.
    pub chunks: u64,
    /// Chunks the server lacked, sent.
    pub chunks_sent: u64,
    /// Bytes sent (the rest was already there).
    pub bytes_sent: u64,
}

/// One file to upload: its name, metadata and content.
#[derive(Debug, Clone)]
pub struct NewDoc {
    /// The document's name.
    pub name: String,
    /// Its metadata (`path` included, if any).
    pub meta: Metadata,
    /// Where its bytes are.
    pub file: std::path::PathBuf,
}

impl Client {
    /// Uploads `docs` as new documents in one commit: chunks and hashes
    /// each file, sends only the chunks the server lacks, then commits.
    /// `progress` is told of every byte read and every chunk sent.
    pub fn upload(
        &self,
        docs: &[NewDoc],
        message: &str,
        progress: &dyn Fn(&UploadStats),
    ) -> Result<(Vec<DocId>, CommitResponse, UploadStats), ClientError> {
        let mut stats = UploadStats::default();
        let mut ops = Vec::with_capacity(docs.len());
        let mut ids = Vec::with_capacity(docs.len());
        let contents = self.upload_files(docs, &mut stats, progress)?;
        for (d, content) in docs.iter().zip(contents) {
            let id = DocId::random();
            ops.push(Op::Create {
                id,
                name: d.name.clone(),
                meta: d.meta.clone(),
                content,
            });
            ids.push(id);
        }
        let resp = self.commit(message, ops)?;
        Ok((ids, resp, stats))
    }

    /// The manifests of `docs`' files, uploaded several files at a time
    /// (small files are dominated by round trips and the server's fsyncs,
    /// which then overlap); progress after each window of files, and
    /// within a file when there is one.
    fn upload_files(
        &self,
        docs: &[NewDoc],
        stats: &mut UploadStats,
        progress: &dyn Fn(&UploadStats),
    ) -> Result<Vec<Manifest>, ClientError> {
        if docs.len() == 1 {
            let m = self.upload_content(&docs[0].file, stats, progress)?;
            stats.files += 1;
            progress(stats);
            return Ok(vec![m]);
        }
        let mut out = Vec::with_capacity(docs.len());
        for window in docs.chunks(self.opts.parallel.max(1) * 16) {
            let results = parallel(window, self.opts.parallel, |d| {
                let mut st = UploadStats::default();
                self.upload_content(&d.file, &mut st, &|_| {})
                    .map(|m| (m, st))
            });
            for r in results {
                let (m, st) = r?;
                stats.bytes += st.bytes;
                stats.chunks += st.chunks;
                stats.chunks_sent += st.chunks_sent;
                stats.bytes_sent += st.bytes_sent;
                stats.files += 1;
                out.push(m);
            }
            progress(stats);
        }
        Ok(out)
    }

    /// Chunks one file and uploads what the server lacks; returns its
    /// manifest (locators left for the server to fill in).
    pub fn upload_content(
        &self,
        file: &std::path::Path,
        stats: &mut UploadStats,
        progress: &dyn Fn(&UploadStats),
    ) -> Result<Manifest, ClientError> {
        let mut f = std::fs::File::open(file).map_err(|e| ClientError::Io {
            path: file.display().to_string(),
            source: e,
        })?;
        self.upload_reader(&mut f, &file.display().to_string(), stats, progress)
    }

    /// Chunks what `reader` gives and uploads what the server lacks;
    /// returns the manifest. `label` names the source in errors.
    pub fn upload_reader(
        &self,
        reader: &mut dyn Read,
        label: &str,
        stats: &mut UploadStats,
        progress: &dyn Fn(&UploadStats),
    ) -> Result<Manifest, ClientError> {
        let io = |e: std::io::Error| ClientError::Io {
            path: label.to_string(),
            source: e,
        };
        let mut whole = blake3::Hasher::new();
        let mut chunks = Vec::new();
        let mut size = 0u64;
        // Batches of chunks: ask which are missing, send those, go on.
        let mut batch: Vec<(Digest, Vec<u8>)> = Vec::new();
        let flush = |batch: &mut Vec<(Digest, Vec<u8>)>,
                     stats: &mut UploadStats|
         -> Result<(), ClientError> {
            if batch.is_empty() {
                return Ok(());
            }
            let hashes: Vec<Digest> = batch.iter().map(|(h, _)| *h).collect();
            let missing: std::collections::HashSet<Digest> =
                self.missing(&hashes)?.into_iter().collect();
            let to_send: Vec<&(Digest, Vec<u8>)> =
                batch.iter().filter(|(h, _)| missing.contains(h)).collect();
            for r in parallel(&to_send, self.opts.parallel, |(h, b)| self.put_chunk(h, b)) {
                r?;
            }
            stats.chunks_sent += to_send.len() as u64;
            stats.bytes_sent += to_send.iter().map(|(_, b)| b.len() as u64).sum::<u64>();
            progress(stats);
            batch.clear();
            Ok(())
        };
        for chunk in Chunker::default().stream(std::io::BufReader::new(reader)) {
            let bytes = chunk.map_err(io)?;
            let hash = Digest::of(&bytes);
            whole.update(&bytes);
            size += bytes.len() as u64;
            stats.bytes += bytes.len() as u64;
            stats.chunks += 1;
            chunks.push(ChunkRef {
                hash,
                len: bytes.len() as u64,
                locator: Locator::new(""),
            });
            batch.push((hash, bytes));
            if batch.len() >= 16 {
                flush(&mut batch, stats)?;
            }
        }
        flush(&mut batch, stats)?;
        Ok(Manifest {
            version: FORMAT_VERSION,
            size,
            hash: Digest(*whole.finalize().as_bytes()),
            chunks,
        })
    }
}
