//! The [`BlobStore`] side of [`TahoeStore`]: chunks in packs (see
//! `pack.rs`), or a Tahoe file per blob when `pack_max` is 0 (the layout of
//! earlier builds, whose locators are still read either way).

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use docgrid_core::chunk::Digest;
use docgrid_core::store::{BlobStore, DeleteGuarantee, Locator, RootSwap, StoreError};

use crate::catalog::cap_size;
use crate::pack::{self, PackLoc};
use crate::{Cap, GatewayError, ROOT_MAGIC, TahoeStore, parse_cap, short_cap};

impl TahoeStore {
    /// Runs `op` on up to `parallel_uploads` of `items` at once; the
    /// results in order, or the first error.
    fn upload_all<T: Sync>(
        &self,
        items: &[T],
        op: impl Fn(&T) -> Result<String, StoreError> + Sync,
    ) -> Result<Vec<String>, StoreError> {
        if items.len() == 1 {
            return Ok(vec![op(&items[0])?]); // one pack: no thread to start
        }
        let next = AtomicUsize::new(0);
        let results: Vec<Mutex<Option<Result<String, StoreError>>>> =
            items.iter().map(|_| Mutex::new(None)).collect();
        let workers = self.opts.parallel_uploads.clamp(1, items.len().max(1));
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        let r = op(item);
                        let failed = r.is_err();
                        *results[i].lock().expect("poisoned") = Some(r);
                        if failed {
                            // Stop handing out work: the batch fails anyway.
                            next.store(items.len(), Ordering::Relaxed);
                            break;
                        }
                    }
                });
            }
        });
        let mut caps = Vec::with_capacity(items.len());
        for r in results {
            match r.into_inner().expect("poisoned") {
                Some(Ok(cap)) => caps.push(cap),
                Some(Err(e)) => return Err(e),
                None => {} // not attempted: an earlier error is returned below
            }
        }
        if caps.len() != items.len() {
            return Err(StoreError::Backend(
                "the batch upload stopped after a failure".into(),
            ));
        }
        Ok(caps)
    }

    /// Each blob a Tahoe file of its own (`pack_max` 0).
    fn put_whole(&self, blobs: &[&[u8]]) -> Result<Vec<Locator>, StoreError> {
        let caps = self.upload_all(blobs, |b| self.upload(bytes::Bytes::copy_from_slice(b)))?;
        self.catalog.add(&caps)?;
        Ok(caps.into_iter().map(Locator::new).collect())
    }

    /// The blobs in packs: known bytes keep their locator; the rest go
    /// into packs of at most `pack_max` bytes, uploaded together.
    fn put_packed(&self, hashes: &[Digest], blobs: &[&[u8]]) -> Result<Vec<Locator>, StoreError> {
        let mut out: Vec<Option<Locator>> = hashes.iter().map(|h| self.catalog.known(h)).collect();
        // The new bytes, each once, cut into packs.
        let mut seen = std::collections::HashSet::new();
        let mut packs: Vec<Vec<usize>> = Vec::new();
        let mut size = 0u64;
        for (i, b) in blobs.iter().enumerate() {
            if out[i].is_some() || !seen.insert(hashes[i]) {
                continue;
            }
            let len = b.len() as u64;
            if packs.is_empty() || (size > 0 && size + len > self.opts.pack_max) {
                packs.push(Vec::new());
                size = 0;
            }
            packs.last_mut().expect("one pack").push(i);
            size += len;
        }
        let caps = self.upload_all(&packs, |members| {
            let chunks: Vec<(Digest, &[u8])> =
                members.iter().map(|&i| (hashes[i], blobs[i])).collect();
            let (bytes, _) = pack::build(&chunks);
            self.upload(bytes.into())
        })?;
        let mut fresh = Vec::new();
        for (members, cap) in packs.iter().zip(&caps) {
            let mut offset = 0;
            for &i in members {
                let len = blobs[i].len() as u64;
                fresh.push((
                    i,
                    PackLoc {
                        hash: hashes[i],
                        offset,
                        len,
                        pack: cap.clone(),
                    },
                ));
                offset += len;
            }
        }
        let locs: Vec<PackLoc> = fresh.iter().map(|(_, p)| p.clone()).collect();
        let held = self.catalog.add_packed(&locs)?;
        for ((i, _), loc) in fresh.iter().zip(held) {
            out[*i] = Some(loc);
        }
        // Repeats within the batch take their first copy's locator.
        let by_hash: std::collections::HashMap<Digest, Locator> = hashes
            .iter()
            .zip(&out)
            .filter_map(|(h, l)| l.clone().map(|l| (*h, l)))
            .collect();
        Ok(hashes.iter().map(|h| by_hash[h].clone()).collect())
    }

    /// A whole Tahoe file (`range` `None`) or bytes `start..end` of it,
    /// with the grid's failures said as store errors.
    fn fetch(
        &self,
        locator: &Locator,
        cap: &str,
        range: Option<(u64, u64)>,
    ) -> Result<Vec<u8>, StoreError> {
        let (needed, size) = match parse_cap(&Locator::new(cap))? {
            Cap::Lit(_) => (1, 0),
            Cap::Chk { needed, size, .. } => (needed, size),
        };
        let mut tries = 0;
        loop {
            let got = match range {
                Some((a, b)) if cap.starts_with("URI:CHK:") => self.gw.get_range(cap, a, b),
                Some((a, b)) => self.gw.get(cap, 64).map(|all| {
                    all.get(a as usize..(b as usize).min(all.len()))
                        .map(<[u8]>::to_vec)
                        .unwrap_or_default()
                }),
                None => self.gw.get(cap, size as usize),
            };
            match got {
                Ok(b) => return Ok(b),
                Err(e) if e.is_gone() => {
                    let body = match &e {
                        GatewayError::Status { body, .. } => body.as_str(),
                        GatewayError::Transport(_) => "",
                    };
                    return Err(self.unrecoverable(cap, needed, body));
                }
                Err(GatewayError::Status { status, body }) if status.is_client_error() => {
                    return Err(StoreError::InvalidLocator {
                        locator: locator.clone(),
                        why: format!("the gateway refused it: {}", body.trim()),
                    });
                }
                Err(e) if matches!(e, GatewayError::Transport(_)) && tries < 3 => {
                    tries += 1;
                    tracing::warn!("reading {}: {e}; retrying", short_cap(cap));
                    std::thread::sleep(Duration::from_millis(200 * tries));
                }
                Err(e) => return Err(self.backend(&format!("reading {}", short_cap(cap)), e)),
            }
        }
    }

    /// A chunk of a pack: from the pack's readahead window, checked
    /// against its hash.
    fn get_packed(&self, locator: &Locator, p: &PackLoc) -> Result<Vec<u8>, StoreError> {
        let fetch = |a: u64, b: u64| self.fetch(locator, &p.pack, Some((a, b)));
        let size = cap_size(&p.pack);
        let bytes = self
            .readahead
            .read(&p.pack, size, p.offset, p.len, &fetch)?;
        if let Some(next) = self.readahead.next_window(p.offset + p.len, size) {
            let (gw, cap) = (self.gw.clone(), p.pack.clone());
            let ahead: crate::readahead::Fetch = std::sync::Arc::new(move |a, b| {
                gw.get_range(&cap, a, b)
                    .map_err(|e| StoreError::Backend(e.to_string()))
            });
            for w in 0..crate::readahead::AHEAD_WINDOWS {
                let start = next + w * self.opts.readahead;
                if start >= size {
                    break;
                }
                self.readahead.prefetch(&p.pack, size, start, ahead.clone());
            }
        }
        if bytes.len() as u64 != p.len || Digest::of(&bytes) != p.hash {
            return Err(StoreError::Corrupt {
                locator: locator.clone(),
                why: format!(
                    "{} bytes at {} of pack {} do not hash to the chunk",
                    p.len,
                    p.offset,
                    short_cap(&p.pack)
                ),
            });
        }
        Ok(bytes)
    }

    /// The Tahoe file that holds `locator`'s bytes: its pack, or itself.
    /// Checks, leases and repairs work on these, once per pack.
    pub fn blob_cap(locator: &Locator) -> Result<String, StoreError> {
        match PackLoc::parse(locator)? {
            Some(p) => Ok(p.pack),
            None => parse_cap(locator).map(|_| locator.as_str().to_string()),
        }
    }

    /// What the live packs hold: for GC's report.
    pub fn pack_usage(&self) -> crate::PackUsage {
        self.catalog.usage()
    }
}

impl BlobStore for TahoeStore {
    fn kind(&self) -> &'static str {
        "tahoe"
    }

    fn put(&self, data: &[u8]) -> Result<Locator, StoreError> {
        Ok(self.put_batch(&[data])?.remove(0))
    }

    /// One pack (or, with `pack_max` 0, a file per blob), up to
    /// `parallel_uploads` uploads at once; the catalog synced once.
    fn put_batch(&self, blobs: &[&[u8]]) -> Result<Vec<Locator>, StoreError> {
        let hashed: Vec<(Digest, &[u8])> = blobs.iter().map(|b| (Digest::of(b), *b)).collect();
        self.put_batch_hashed(&hashed)
    }

    /// [`BlobStore::put_batch`] without hashing the blobs again.
    fn put_batch_hashed(&self, blobs: &[(Digest, &[u8])]) -> Result<Vec<Locator>, StoreError> {
        if blobs.is_empty() {
            return Ok(Vec::new());
        }
        self.ensure_ready()?;
        let (hashes, bytes): (Vec<Digest>, Vec<&[u8]>) = blobs.iter().copied().unzip();
        if self.opts.pack_max == 0 {
            self.put_whole(&bytes)
        } else {
            self.put_packed(&hashes, &bytes)
        }
    }

    fn get(&self, locator: &Locator) -> Result<Vec<u8>, StoreError> {
        if let Some(p) = PackLoc::parse(locator)? {
            self.ensure_ready()?;
            return self.get_packed(locator, &p);
        }
        let (cap, size) = match parse_cap(locator)? {
            Cap::Lit(cap) => (cap, 0),
            Cap::Chk { cap, size, .. } => (cap, size),
        };
        self.ensure_ready()?;
        let bytes = self.fetch(locator, cap, None)?;
        if cap.starts_with("URI:CHK:") && bytes.len() as u64 != size {
            return Err(StoreError::Corrupt {
                locator: locator.clone(),
                why: format!(
                    "the gateway sent {} bytes of {size} (download cut short)",
                    bytes.len()
                ),
            });
        }
        Ok(bytes)
    }

    /// `t=check` of the Tahoe file holding it: whether enough shares are
    /// on connected servers to read it.
    fn has(&self, locator: &Locator) -> Result<bool, StoreError> {
        let Ok(cap) = Self::blob_cap(locator) else {
            return Ok(false);
        };
        if cap.starts_with("URI:LIT:") {
            return Ok(true);
        }
        Ok(self.check_cap(&cap, false, false)?.recoverable)
    }

    /// Releases: the locator leaves the catalog; a pack whose last live
    /// chunk this was is released with it, so scrub no longer renews its
    /// lease. The bytes stay readable until the grid expires them.
    fn delete(&self, locator: &Locator) -> Result<(), StoreError> {
        if let Some(pack) = self.catalog.remove(locator.as_str())? {
            tracing::debug!("released pack {}", short_cap(&pack));
        }
        Ok(())
    }

    fn delete_guarantee(&self) -> DeleteGuarantee {
        DeleteGuarantee::Releases
    }

    fn list(&self) -> Result<Vec<Locator>, StoreError> {
        Ok(self.catalog.list().into_iter().map(Locator::new).collect())
    }

    fn root(&self) -> Result<Option<Vec<u8>>, StoreError> {
        self.ensure_ready()?;
        let text = self
            .gw
            .get(&self.opts.root_cap, 64 * 1024)
            .map_err(|e| self.backend("reading the root pointer", e))?;
        if text.is_empty() {
            return Ok(None);
        }
        match text.strip_prefix(ROOT_MAGIC) {
            Some(value) => Ok(Some(value.to_vec())),
            None => Err(StoreError::Config(format!(
                "the root cap {} holds a file that is not a docgrid root",
                short_cap(&self.opts.root_cap)
            ))),
        }
    }

    fn swap_root(&self, expected: Option<&[u8]>, new: &[u8]) -> Result<RootSwap, StoreError> {
        if new.len() > docgrid_core::store::MAX_ROOT_LEN {
            return Err(StoreError::Config(format!(
                "a root value is at most {} bytes",
                docgrid_core::store::MAX_ROOT_LEN
            )));
        }
        if self.read_only() {
            return Err(StoreError::Config(format!(
                "the root cap {} is read-only (URI:SSK-RO:): this server can follow the \
                 journal, not commit",
                short_cap(&self.opts.root_cap)
            )));
        }
        let _one_writer = self.root_lock.lock().expect("poisoned");
        let current = self.root()?;
        if current.as_deref() != expected {
            return Ok(RootSwap::Conflict { current });
        }
        let mut body = ROOT_MAGIC.to_vec();
        body.extend_from_slice(new);
        // A failed write may still have landed, or another writer may have
        // written meanwhile (Tahoe's UncoordinatedWriteError): read again
        // and decide from what is there, never overwrite blindly.
        let deadline = Instant::now() + self.opts.retry_for;
        let mut pause = Duration::from_millis(250);
        loop {
            let failure = match self.gw.replace_mutable(&self.opts.root_cap, &body) {
                Ok(()) => return Ok(RootSwap::Swapped),
                Err(e) => e,
            };
            tracing::warn!("writing the root pointer: {failure}; reading it back");
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_secs(8));
            let now = self.root()?;
            if now.as_deref() == Some(new) {
                return Ok(RootSwap::Swapped);
            }
            if now.as_deref() != expected {
                return Ok(RootSwap::Conflict { current: now });
            }
            if Instant::now() >= deadline {
                return Err(self.backend("writing the root pointer", failure));
            }
        }
    }
}
