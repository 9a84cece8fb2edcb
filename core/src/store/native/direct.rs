//! Reading a chunk's data shards with `O_DIRECT`, all of them at once.
//!
//! A buffered get of 1 GiB spent most of its CPU copying the page cache
//! into the reader's buffer (`_copy_to_iter`, 36 % of the profile) and then
//! into the chunk (10 %). A direct read lands in the buffer with no copy
//! through the page cache, but it is synchronous: read one after another,
//! the disk idles between them (378 MB/s; docs/benchmarks.md, "Shard
//! packs"). So the `k` reads of a chunk go to a small pool of I/O threads
//! and run together, each into a reused aligned buffer, and the payloads
//! are appended to the chunk once.
//!
//! Only the common case is taken here: the first `k` disks of the chunk's
//! placement online, each holding a direct record with its own index
//! (`0..k`, in order). Anything else (a disk offline, a record written
//! small or buffered, a filesystem without `O_DIRECT`, a moved shard, a
//! hole, a bad header, a failed read, a hash mismatch) returns `None`, and
//! the buffered fast path and then the careful path take over.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::sync::{Arc, Mutex, OnceLock};

use super::NativeStore;
use super::check_header;
use super::layout::Layout;
use super::pack::{ALIGN, DirectRecord};
use super::shard::{HEADER_LEN, ShardHeader};
use crate::chunk::Digest;

/// I/O threads: reads in flight for a few concurrent gets of `k` shards.
const IO_THREADS: usize = 8;
/// Aligned buffers kept for reuse between reads.
const SPARE: usize = 64;

/// The chunk from its `k` data shards read directly and together, if all
/// is as it should be (see the module's docs); `None` to take the
/// buffered path.
pub(super) fn direct_path(store: &NativeStore, layout: &Layout, chunk: &Digest) -> Option<Vec<u8>> {
    let k = store.codec.k();
    let mut records = Vec::with_capacity(k);
    for disk in layout.placement(chunk, store.codec.n()).into_iter().take(k) {
        if !disk.is_online() {
            return None;
        }
        records.push(disk.locate_direct(chunk).ok()??);
    }
    if records.len() < k || records.iter().any(|r| r.len != records[0].len) {
        return None;
    }
    let bufs = read_together(&records)?;
    let blob = assemble(store, chunk, &bufs);
    bufs.into_iter().for_each(AlignedBuf::give_back);
    blob
}

/// The chunk from whole records read in index order, checked: each header
/// names `chunk`, its own index and one length; the bytes hash to `chunk`.
fn assemble(store: &NativeStore, chunk: &Digest, bufs: &[AlignedBuf]) -> Option<Vec<u8>> {
    let mut chunk_len = None;
    for (i, buf) in bufs.iter().enumerate() {
        let rec = buf.bytes();
        let header = ShardHeader::decode(rec).ok()?;
        let len = header.chunk_len as usize;
        if check_header(store.codec, chunk, &header).is_err()
            || header.index as usize != i
            || chunk_len.is_some_and(|l| l != len)
            || rec.len() != HEADER_LEN + store.codec.shard_len(len)
        {
            return None;
        }
        chunk_len = Some(len);
    }
    let len = chunk_len?;
    let mut blob = Vec::with_capacity(len);
    for buf in bufs {
        let want = (len - blob.len()).min(buf.bytes().len() - HEADER_LEN);
        blob.extend_from_slice(&buf.bytes()[HEADER_LEN..HEADER_LEN + want]);
    }
    (blob.len() == len && Digest::of(&blob) == *chunk).then_some(blob)
}

/// Reads every record at once on the I/O threads; `None` if any read
/// fails (logged) or the pool cannot start.
fn read_together(records: &[DirectRecord]) -> Option<Vec<AlignedBuf>> {
    let pool = pool()?;
    let (reply, replies) = sync_channel(records.len());
    for (slot, r) in records.iter().enumerate() {
        let job = Job {
            file: r.file.clone(),
            offset: r.offset,
            buf: AlignedBuf::take(r.len as usize),
            slot,
            reply: reply.clone(),
        };
        if pool.send(job).is_err() {
            return None;
        }
    }
    drop(reply);
    let mut done: Vec<Option<AlignedBuf>> = (0..records.len()).map(|_| None).collect();
    let mut ok = true;
    for (slot, buf, result) in replies.iter() {
        if let Err(e) = result {
            tracing::debug!("direct shard read failed, reading buffered: {e}");
            ok = false;
        }
        done[slot] = Some(buf);
    }
    let bufs: Vec<AlignedBuf> = done.into_iter().flatten().collect();
    if ok && bufs.len() == records.len() {
        Some(bufs)
    } else {
        bufs.into_iter().for_each(AlignedBuf::give_back);
        None
    }
}

/// One read for an I/O thread.
struct Job {
    file: Arc<File>,
    offset: u64,
    buf: AlignedBuf,
    slot: usize,
    reply: SyncSender<(usize, AlignedBuf, io::Result<()>)>,
}

/// The queue of the I/O threads, started on first use.
fn pool() -> Option<&'static Sender<Job>> {
    static POOL: OnceLock<Option<Sender<Job>>> = OnceLock::new();
    POOL.get_or_init(|| {
        let (tx, rx) = channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..IO_THREADS {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("docgrid-io-{i}"))
                .stack_size(64 << 10)
                .spawn(move || serve(&rx));
            if let Err(e) = spawned {
                tracing::warn!("no I/O threads for direct reads ({e}); reading buffered");
                return None;
            }
        }
        Some(tx)
    })
    .as_ref()
}

fn serve(jobs: &Mutex<Receiver<Job>>) {
    loop {
        let next = jobs.lock().expect("poisoned").recv();
        let Ok(mut job) = next else { return };
        let span = job.buf.span();
        let result = job.file.read_at(job.buf.window_mut(span), job.offset);
        let result = match result {
            Ok(n) if n >= job.buf.len => Ok(()),
            Ok(n) => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{n} of {} bytes", job.buf.len),
            )),
            Err(e) => Err(e),
        };
        let _ = job.reply.send((job.slot, job.buf, result));
    }
}

/// Room for a record of `len` bytes at a 4 KiB boundary, padded to 4 KiB
/// (a direct read's length must be aligned too).
struct AlignedBuf {
    vec: Vec<u8>,
    start: usize,
    len: usize,
}

/// Buffers given back, for the next reads.
static SPARES: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

impl AlignedBuf {
    fn take(len: usize) -> AlignedBuf {
        let need = len.next_multiple_of(ALIGN as usize) + ALIGN as usize;
        let mut vec = SPARES.lock().expect("poisoned").pop().unwrap_or_default();
        if vec.len() < need {
            vec.resize(need, 0);
        }
        let start = vec.as_ptr().align_offset(ALIGN as usize);
        AlignedBuf { vec, start, len }
    }

    fn span(&self) -> usize {
        self.len.next_multiple_of(ALIGN as usize)
    }

    fn window_mut(&mut self, span: usize) -> &mut [u8] {
        &mut self.vec[self.start..self.start + span]
    }

    /// The record read.
    fn bytes(&self) -> &[u8] {
        &self.vec[self.start..self.start + self.len]
    }

    fn give_back(self) {
        let mut spares = SPARES.lock().expect("poisoned");
        if spares.len() < SPARE {
            spares.push(self.vec);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::conformance::test_bytes;
    use crate::store::native::{default_disks, shard_places};
    use crate::store::{BlobStore, Locator};

    fn direct(store: &NativeStore, loc: &Locator) -> Option<Vec<u8>> {
        let chunk: Digest = loc.as_str().strip_prefix("b3:").unwrap().parse().unwrap();
        direct_path(store, &store.layout.read().unwrap(), &chunk)
    }

    #[test]
    fn large_chunks_are_read_directly_and_a_bad_shard_sends_the_read_the_careful_way() {
        use std::os::unix::fs::FileExt;
        let dir = tempfile::tempdir().unwrap();
        let disks = default_disks(dir.path(), 6);
        let store = NativeStore::create(&disks, 4, 2).unwrap();
        let big = test_bytes((1 << 20) + 3, 1);
        let small = test_bytes(100_003, 2);
        let (big_at, small_at) = (store.put(&big).unwrap(), store.put(&small).unwrap());
        assert_eq!(direct(&store, &big_at).as_deref(), Some(&big[..]));
        assert_eq!(
            direct(&store, &small_at),
            None,
            "small shards are not direct records"
        );

        // A flipped payload byte in the first data shard: the direct read
        // refuses the chunk; the store still reads it right.
        let chunk: Digest = big_at
            .as_str()
            .strip_prefix("b3:")
            .unwrap()
            .parse()
            .unwrap();
        let first = store.layout.read().unwrap().placement(&chunk, 6)[0]
            .path
            .clone();
        let (_, place) = shard_places(&first)
            .unwrap()
            .into_iter()
            .find(|(c, _)| *c == chunk)
            .unwrap();
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&place.file)
            .unwrap();
        let (mut b, at) = ([0u8; 1], place.offset + HEADER_LEN as u64 + 7);
        f.read_exact_at(&mut b, at).unwrap();
        f.write_all_at(&[b[0] ^ 0x5a], at).unwrap();
        assert_eq!(direct(&store, &big_at), None);
        assert_eq!(store.get(&big_at).unwrap(), big);
        assert_eq!(store.get(&small_at).unwrap(), small);
    }
}
