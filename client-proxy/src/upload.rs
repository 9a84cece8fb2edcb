//! The upload pipeline: chunk and hash locally, ask which chunks the
//! server lacks, send only those (several at once), then commit.
//! Re-importing a tree moves only new bytes.

use std::collections::HashSet;
use std::io::Read;
use std::path::Path;

use docgrid_core::DocId;
use docgrid_core::api::CommitResponse;
use docgrid_core::chunk::{Chunker, Digest, STREAM_BATCH, STREAM_IN_FLIGHT};
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

impl std::ops::AddAssign for UploadStats {
    fn add_assign(&mut self, other: UploadStats) {
        self.files += other.files;
        self.bytes += other.bytes;
        self.chunks += other.chunks;
        self.chunks_sent += other.chunks_sent;
        self.bytes_sent += other.bytes_sent;
    }
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
        let files: Vec<&Path> = docs.iter().map(|d| d.file.as_path()).collect();
        let contents = self.upload_files(&files, &mut stats, progress)?;
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

    /// The manifests of `files`, uploaded together: small files (up to 1
    /// MiB) a window at a time with one `missing` request and
    /// `POST /v1/chunks` bodies, larger ones several at a time; progress
    /// after each window of files, and within a file when there is one.
    pub fn upload_files(
        &self,
        files: &[&Path],
        stats: &mut UploadStats,
        progress: &dyn Fn(&UploadStats),
    ) -> Result<Vec<Manifest>, ClientError> {
        if files.len() == 1 {
            let m = self.upload_content(files[0], stats, progress)?;
            stats.files += 1;
            progress(stats);
            return Ok(vec![m]);
        }
        let mut out = Vec::with_capacity(files.len());
        for window in files.chunks(WINDOW) {
            let small_here: Vec<bool> = window.iter().map(|f| is_small(f)).collect();
            let pick = |want: bool| -> Vec<&Path> {
                window
                    .iter()
                    .zip(&small_here)
                    .filter(|(_, s)| **s == want)
                    .map(|(f, _)| *f)
                    .collect()
            };
            let mut small_done = self.upload_small(&pick(true), stats)?.into_iter();
            let results = parallel(&pick(false), self.opts.parallel, |f| {
                let mut st = UploadStats::default();
                self.upload_content(f, &mut st, &|_| {}).map(|m| (m, st))
            });
            let mut large_done = results.into_iter();
            for small in small_here {
                let m = if small {
                    small_done.next().expect("one per small file")
                } else {
                    let (m, st) = large_done.next().expect("one per large file")?;
                    *stats += st;
                    m
                };
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
    /// returns the manifest. `label` names the source in errors. Chunks go
    /// in batches of [`STREAM_BATCH`]: one `missing` request and
    /// `POST /v1/chunks` bodies each (one durable write on the server, one
    /// pack on Tahoe), [`STREAM_IN_FLIGHT`] sent while the next is read.
    pub fn upload_reader(
        &self,
        reader: &mut dyn Read,
        label: &str,
        stats: &mut UploadStats,
        progress: &dyn Fn(&UploadStats),
    ) -> Result<Manifest, ClientError> {
        use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
        let mut cut = Cut {
            whole: blake3::Hasher::new(),
            chunks: Vec::new(),
        };
        let (sent_chunks, sent_bytes) = (AtomicU64::new(0), AtomicU64::new(0));
        let base = *stats;
        let note_sent = |stats: &mut UploadStats| {
            stats.chunks_sent = base.chunks_sent + sent_chunks.load(Relaxed);
            stats.bytes_sent = base.bytes_sent + sent_bytes.load(Relaxed);
        };
        let sent = docgrid_core::pipeline(
            STREAM_IN_FLIGHT,
            |send| {
                cut.batches(reader, label, stats, send, &mut |stats| {
                    note_sent(stats);
                    progress(stats);
                })
            },
            |batch| {
                let (n, bytes) = self.send_missing(&batch)?;
                sent_chunks.fetch_add(n, Relaxed);
                sent_bytes.fetch_add(bytes, Relaxed);
                Ok(())
            },
        );
        note_sent(stats);
        sent?;
        progress(stats);
        Ok(Manifest {
            version: FORMAT_VERSION,
            size: cut.chunks.iter().map(|c| c.len).sum(),
            hash: Digest(*cut.whole.finalize().as_bytes()),
            chunks: cut.chunks,
        })
    }

    /// Asks which of `batch` the server lacks and sends those in
    /// `POST /v1/chunks` bodies of at most [`BATCH_BYTES`]; chunks and
    /// bytes sent.
    fn send_missing(&self, batch: &Batch) -> Result<(u64, u64), ClientError> {
        let hashes: Vec<Digest> = batch.iter().map(|(h, _)| *h).collect();
        let missing: HashSet<Digest> = self.missing(&hashes)?.into_iter().collect();
        let mut seen = HashSet::new();
        let send: Vec<(Digest, &[u8])> = batch
            .iter()
            .filter(|(h, _)| missing.contains(h) && seen.insert(*h))
            .map(|(h, b)| (*h, b.as_slice()))
            .collect();
        self.send_bodies(&send)
    }

    /// `send` in `POST /v1/chunks` bodies of at most [`BATCH_BYTES`] (a
    /// bigger chunk alone); chunks and bytes sent.
    fn send_bodies(&self, send: &[(Digest, &[u8])]) -> Result<(u64, u64), ClientError> {
        let mut start = 0;
        let mut total = 0u64;
        while start < send.len() {
            let (mut end, mut size) = (start, 0);
            while end < send.len() && (end == start || size + send[end].1.len() <= BATCH_BYTES) {
                size += send[end].1.len();
                end += 1;
            }
            self.put_chunks(&send[start..end])?;
            total += size as u64;
            start = end;
        }
        Ok((send.len() as u64, total))
    }
}

/// What cutting a stream into chunks has seen: the whole content's hash,
/// the chunks in order.
struct Cut {
    whole: blake3::Hasher,
    chunks: Vec<ChunkRef>,
}

/// A batch of chunks to send: hash and bytes each.
type Batch = Vec<(Digest, Vec<u8>)>;

impl Cut {
    /// Cuts `reader` (named `label` in errors) into chunks, hands them to
    /// `send` [`STREAM_BATCH`] at a time, and calls `after` on `stats`
    /// after each full batch; stops early when `send` refuses.
    fn batches(
        &mut self,
        reader: &mut dyn Read,
        label: &str,
        stats: &mut UploadStats,
        send: &mut dyn FnMut(Batch) -> bool,
        after: &mut dyn FnMut(&mut UploadStats),
    ) -> Result<(), ClientError> {
        let mut batch: Batch = Vec::new();
        for chunk in Chunker::default().stream(std::io::BufReader::new(reader)) {
            let bytes = chunk.map_err(|e| ClientError::Io {
                path: label.to_string(),
                source: e,
            })?;
            let hash = Digest::of(&bytes);
            self.whole.update(&bytes);
            stats.bytes += bytes.len() as u64;
            stats.chunks += 1;
            self.chunks.push(ChunkRef {
                hash,
                len: bytes.len() as u64,
                locator: Locator::new(""),
            });
            batch.push((hash, bytes));
            if batch.len() >= STREAM_BATCH {
                if !send(std::mem::take(&mut batch)) {
                    return Ok(()); // a sender failed: it says why
                }
                after(stats);
            }
        }
        if !batch.is_empty() {
            send(batch);
        }
        Ok(())
    }
}

/// Files at most this big are read whole and sent with others in
/// `POST /v1/chunks` bodies.
const SMALL_FILE: u64 = 1 << 20;
/// Files per window (one `missing` request for the small ones).
const WINDOW: usize = 256;
/// A batch body at most this big.
const BATCH_BYTES: usize = 16 << 20;

/// Whether `file` is sent in batches (a file that cannot be read is not:
/// the single-file path reports it).
fn is_small(file: &Path) -> bool {
    std::fs::metadata(file).is_ok_and(|m| m.is_file() && m.len() <= SMALL_FILE)
}

impl Client {
    /// Uploads small files together: each chunked in memory, one request
    /// asks which chunks the server lacks, `POST /v1/chunks` bodies send
    /// them. The manifests in the order of `files`.
    fn upload_small(
        &self,
        files: &[&Path],
        stats: &mut UploadStats,
    ) -> Result<Vec<Manifest>, ClientError> {
        let mut manifests = Vec::with_capacity(files.len());
        let mut pending: Vec<(Digest, Vec<u8>)> = Vec::new();
        let mut seen = HashSet::new();
        for file in files {
            let io = |e: std::io::Error| ClientError::Io {
                path: file.display().to_string(),
                source: e,
            };
            let bytes = std::fs::read(file).map_err(io)?;
            let mut chunks = Vec::new();
            for c in Chunker::default().split(&bytes) {
                let hash = Digest::of(c);
                chunks.push(ChunkRef {
                    hash,
                    len: c.len() as u64,
                    locator: Locator::new(""),
                });
                stats.chunks += 1;
                if seen.insert(hash) {
                    pending.push((hash, c.to_vec()));
                }
            }
            stats.bytes += bytes.len() as u64;
            manifests.push(Manifest {
                version: FORMAT_VERSION,
                size: bytes.len() as u64,
                hash: Digest::of(&bytes),
                chunks,
            });
        }
        if pending.is_empty() {
            return Ok(manifests);
        }
        let hashes: Vec<Digest> = pending.iter().map(|(h, _)| *h).collect();
        let missing: HashSet<Digest> = self.missing(&hashes)?.into_iter().collect();
        let send: Vec<(Digest, &[u8])> = pending
            .iter()
            .filter(|(h, _)| missing.contains(h))
            .map(|(h, b)| (*h, b.as_slice()))
            .collect();
        let (n, bytes) = self.send_bodies(&send)?;
        stats.chunks_sent += n;
        stats.bytes_sent += bytes;
        Ok(manifests)
    }
}
