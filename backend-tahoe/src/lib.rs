//! `docgrid-backend-tahoe`: a [`BlobStore`] over a Tahoe-LAFS gateway's web
//! API, and [`grid`], a local grid for tests, benchmarks and trying it out.
//!
//! - Chunks are stored in packs (`pack.rs`): the chunks of one `put_batch`
//!   in one immutable upload (`PUT /uri`, CHK), with a small index at its
//!   end. A chunk's [`Locator`] names its pack's cap, its byte range and
//!   its BLAKE3; a read is a Range GET of a window of the pack
//!   (`readahead.rs`), checked against the hash. Equal bytes keep one
//!   locator: the catalog maps chunk hashes to the locators it holds.
//!   With `pack_max` 0 every blob is a Tahoe file of its own, its cap the
//!   locator (the layout of earlier builds; such locators are still read).
//!   Tahoe's capabilities are self-verifying: a download either matches the
//!   cap or fails.
//! - The root pointer is a small SDMF mutable file created by
//!   [`TahoeStore::create_root`]; its write cap is the store's identity.
//!   Anyone with the gateway and the root cap can read the whole journal.
//! - Tahoe cannot delete: `delete` *releases* (the blob leaves the
//!   catalog; a pack goes with its last live chunk). The server's scrub
//!   renews the leases of the packs its index references, one check per
//!   pack, so a pack GC dropped is no longer renewed and a grid with lease
//!   expiry reclaims it. See [`DeleteGuarantee::Releases`].
//! - `list` answers from a local catalog (see `catalog.rs`) of the blobs
//!   *this store* uploaded: Tahoe cannot enumerate a grid's files. A server
//!   rebuilt from the root cap, or a follower, knows the journal's blobs
//!   from its index, not from `list`.
//! - `swap_root` compares and swaps under the store's lock, and after a
//!   failed write reads the root back rather than writing again blindly:
//!   Tahoe's web API has no conditional write, so a root cap must have
//!   **one writer** (the primary server). Followers can be given the
//!   read-only cap (`URI:SSK-RO:`, [`TahoeStore::root_read_cap`]), with
//!   which nothing can move the root.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use docgrid_core::store::{Locator, StoreError};
use serde::{Deserialize, Serialize};

mod blob;
mod catalog;
mod gateway;
pub mod grid;
pub mod pack;
mod readahead;

pub use catalog::PackUsage;
pub use gateway::{Gateway, GatewayError, ServerStatus};

use catalog::Catalog;
use readahead::Readahead;

/// The root file's contents start with this line; an empty file is "no root yet".
const ROOT_MAGIC: &[u8] = b"docgrid-root 1\n";

/// How to reach a grid.
#[derive(Debug, Clone)]
pub struct TahoeOptions {
    /// The gateway's web API (`http://127.0.0.1:3456`).
    pub gateway: String,
    /// The root pointer's write cap (`URI:SSK:…`).
    pub root_cap: String,
    /// Where the catalog of held caps lives; `None`: in memory only.
    pub state_dir: Option<PathBuf>,
    /// Storage servers that must be connected before the first request.
    pub min_servers: usize,
    /// How long to wait for them.
    pub ready_timeout: Duration,
    /// How long to retry an upload the grid cannot place yet.
    pub retry_for: Duration,
    /// Uploads in flight at once in `put_batch` (packs, or blobs when
    /// `pack_max` is 0).
    pub parallel_uploads: usize,
    /// A batch's chunks go into packs of at most this many bytes (a chunk
    /// larger than that is a pack of its own); 0: a Tahoe file per chunk,
    /// the layout of earlier builds.
    pub pack_max: u64,
    /// Reads fetch aligned windows of this many bytes of a pack and keep
    /// them for the chunks after (0: exactly the chunk).
    pub readahead: u64,
}

/// Default [`TahoeOptions::pack_max`]: 16 MiB (docs/benchmarks.md, "Tahoe packs").
pub const DEFAULT_PACK_MAX: u64 = 16 << 20;
/// Default [`TahoeOptions::readahead`]: 16 MiB (docs/benchmarks.md, "Tahoe packs").
pub const DEFAULT_READAHEAD: u64 = 16 << 20;
/// Readahead windows kept, at most: the one read and the two ahead.
const READAHEAD_WINDOWS: u64 = 3;

impl TahoeOptions {
    /// Defaults for the gateway and root cap: one server, 2 min to get
    /// ready, retry 2 min, four uploads in flight, packs of 16 MiB, 16 MiB
    /// readahead, catalog in memory.
    pub fn new(gateway: impl Into<String>, root_cap: impl Into<String>) -> TahoeOptions {
        TahoeOptions {
            gateway: gateway.into(),
            root_cap: root_cap.into(),
            state_dir: None,
            min_servers: 1,
            ready_timeout: Duration::from_secs(120),
            retry_for: Duration::from_secs(120),
            parallel_uploads: 4,
            pack_max: DEFAULT_PACK_MAX,
            readahead: DEFAULT_READAHEAD,
        }
    }
}

/// The share counts of one check (`t=check`), before and after repair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareCheck {
    /// Distinct good shares before repair.
    pub good_before: u32,
    /// Distinct good shares after repair (= before when not repairing).
    pub good_after: u32,
    /// Shares needed to read it (k).
    pub needed: u32,
    /// Shares written when healthy (N).
    pub total: u32,
    /// Distinct servers holding good shares after the check (and repair).
    pub hosts_after: u32,
    /// Readable after the check (and repair).
    pub recoverable: bool,
    /// All N shares present after the check (and repair).
    pub healthy: bool,
    /// A repair was attempted.
    pub repaired: bool,
    /// A literal (LIT) cap: the bytes are in the cap, there are no shares.
    pub literal: bool,
}

/// A [`BlobStore`] on a Tahoe-LAFS grid.
pub struct TahoeStore {
    gw: Gateway,
    opts: TahoeOptions,
    /// Set once enough servers were seen connected.
    ready: std::sync::atomic::AtomicBool,
    /// Until when callers wait for the grid (the first `ready_timeout`
    /// after opening); afterwards an unready grid fails at once.
    ready_deadline: Instant,
    root_lock: Mutex<()>,
    catalog: Catalog,
    readahead: std::sync::Arc<Readahead>,
    /// Immutable uploads made (packs, or blobs when unpacked).
    uploads: std::sync::atomic::AtomicU64,
}

/// What a locator is, read from its text.
enum Cap<'a> {
    /// `URI:LIT:…`: the bytes are in the cap.
    Lit(&'a str),
    /// `URI:CHK:key:ueb:k:n:size`.
    Chk {
        cap: &'a str,
        needed: u32,
        size: u64,
    },
}

fn parse_cap(loc: &Locator) -> Result<Cap<'_>, StoreError> {
    let text = loc.as_str();
    let invalid = |why: &str| StoreError::InvalidLocator {
        locator: loc.clone(),
        why: why.to_string(),
    };
    if text.starts_with("URI:LIT:") {
        return Ok(Cap::Lit(text));
    }
    let Some(rest) = text.strip_prefix("URI:CHK:") else {
        return Err(invalid("a Tahoe store holds URI:CHK: or URI:LIT: caps"));
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let [key, ueb, k, n, size] = parts[..] else {
        return Err(invalid("a CHK cap has five fields after URI:CHK:"));
    };
    let b32 = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric());
    match (
        b32(key) && b32(ueb),
        k.parse(),
        n.parse::<u32>(),
        size.parse(),
    ) {
        (true, Ok(needed), Ok(_total), Ok(size)) => Ok(Cap::Chk {
            cap: text,
            needed,
            size,
        }),
        _ => Err(invalid("malformed CHK cap")),
    }
}

/// A cap shortened for messages: enough to tell chunks apart, not enough
/// to read them.
pub fn short_cap(cap: &str) -> String {
    let head = |s: &str, n: usize| s.chars().take(n).collect::<String>();
    match cap.strip_prefix("URI:CHK:") {
        Some(rest) => {
            let parts: Vec<&str> = rest.split(':').collect();
            match parts[..] {
                [_, ueb, k, n, size] => format!("CHK:{}…:{k}:{n}:{size}", head(ueb, 10)),
                _ => format!("{}…", head(cap, 20)),
            }
        }
        None => format!("{}…", head(cap, 20)),
    }
}

impl TahoeStore {
    /// Creates a new, empty root pointer (an SDMF mutable file) through the
    /// gateway and returns its write cap: the store's identity, to keep.
    pub fn create_root(opts: &TahoeOptions) -> Result<String, StoreError> {
        let store = TahoeStore::open(TahoeOptions {
            root_cap: String::new(),
            state_dir: None,
            ..opts.clone()
        })?;
        store.ensure_ready()?;
        let cap = store.retrying("creating the root file", || store.gw.create_mutable(b""))?;
        if !cap.starts_with("URI:SSK:") {
            return Err(StoreError::Backend(format!(
                "the gateway {} answered {cap:?} when asked for a mutable file",
                store.gw.base()
            )));
        }
        Ok(cap)
    }

    /// A store on the grid behind `opts.gateway`, rooted at `opts.root_cap`.
    /// Makes no request: the first operation waits for the grid.
    pub fn open(opts: TahoeOptions) -> Result<TahoeStore, StoreError> {
        if !opts.root_cap.is_empty()
            && !opts.root_cap.starts_with("URI:SSK:")
            && !opts.root_cap.starts_with("URI:SSK-RO:")
        {
            return Err(StoreError::Config(format!(
                "the root cap must be an SDMF cap (URI:SSK:… to commit, URI:SSK-RO:… to \
                 follow), not {}",
                short_cap(&opts.root_cap)
            )));
        }
        let gw = Gateway::new(&opts.gateway).map_err(|e| StoreError::Backend(e.to_string()))?;
        let catalog = Catalog::open(opts.state_dir.as_deref())?;
        let ready_deadline = Instant::now() + opts.ready_timeout;
        let readahead = std::sync::Arc::new(Readahead::new(
            opts.readahead,
            opts.readahead * READAHEAD_WINDOWS,
        ));
        Ok(TahoeStore {
            readahead,
            uploads: std::sync::atomic::AtomicU64::new(0),
            gw,
            opts,
            ready: std::sync::atomic::AtomicBool::new(false),
            ready_deadline,
            root_lock: Mutex::new(()),
            catalog,
        })
    }

    /// The gateway URL.
    pub fn gateway(&self) -> &str {
        self.gw.base()
    }

    /// The root cap.
    pub fn root_cap(&self) -> &str {
        &self.opts.root_cap
    }

    /// Whether the root cap is read-only (`URI:SSK-RO:`): this store can
    /// read the journal but not move its root.
    pub fn read_only(&self) -> bool {
        self.opts.root_cap.starts_with("URI:SSK-RO:")
    }

    /// The root's read-only cap, to give followers.
    pub fn root_read_cap(&self) -> Result<String, StoreError> {
        if self.read_only() {
            return Ok(self.opts.root_cap.clone());
        }
        self.ensure_ready()?;
        let v = self
            .gw
            .info(&self.opts.root_cap)
            .map_err(|e| self.backend("describing the root pointer", e))?;
        v[1]["ro_uri"].as_str().map(str::to_string).ok_or_else(|| {
            StoreError::Backend("the gateway gave no read-only cap for the root".into())
        })
    }

    /// The storage servers the gateway knows, connected or not.
    pub fn servers(&self) -> Result<Vec<ServerStatus>, StoreError> {
        self.gw
            .servers()
            .map_err(|e| self.backend("listing servers", e))
    }

    fn backend(&self, what: &str, e: GatewayError) -> StoreError {
        StoreError::Backend(format!(
            "{what} through the Tahoe gateway {}: {e}",
            self.gw.base()
        ))
    }

    /// Until `min_servers` storage servers have been seen connected once:
    /// waits for them during the first `ready_timeout` after opening (no
    /// lock held: every caller polls), and fails at once afterwards.
    fn ensure_ready(&self) -> Result<(), StoreError> {
        use std::sync::atomic::Ordering::Relaxed;
        if self.ready.load(Relaxed) {
            return Ok(());
        }
        let deadline = self.ready_deadline;
        loop {
            let seen = self.gw.servers();
            if let Ok(servers) = &seen
                && servers.iter().filter(|s| s.connected()).count() >= self.opts.min_servers
            {
                self.ready.store(true, Relaxed);
                return Ok(());
            }
            if Instant::now() >= deadline {
                let what = match seen {
                    Ok(servers) => {
                        let up: Vec<String> = servers
                            .iter()
                            .filter(|s| s.connected())
                            .map(ServerStatus::name)
                            .collect();
                        let down: Vec<String> = servers
                            .iter()
                            .filter(|s| !s.connected())
                            .map(ServerStatus::name)
                            .collect();
                        format!(
                            "{} storage server(s) connected of the {} required (connected: {}; not connected: {})",
                            up.len(),
                            self.opts.min_servers,
                            none_if_empty(&up),
                            none_if_empty(&down)
                        )
                    }
                    Err(e) => e.to_string(),
                };
                return Err(StoreError::Backend(format!(
                    "the Tahoe gateway {} is not ready after {:?}: {what}. Start the storage nodes \
                     or check the gateway's introducer",
                    self.gw.base(),
                    self.opts.ready_timeout
                )));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Runs `op` until it succeeds, fails for good, or `retry_for` passes,
    /// backing off from 250 ms to 8 s between tries.
    fn retrying<T>(
        &self,
        what: &str,
        mut op: impl FnMut() -> Result<T, GatewayError>,
    ) -> Result<T, StoreError> {
        let deadline = Instant::now() + self.opts.retry_for;
        let mut pause = Duration::from_millis(250);
        loop {
            match op() {
                Ok(v) => return Ok(v),
                Err(e) if e.is_retryable() && Instant::now() + pause < deadline => {
                    tracing::warn!("{what}: {e}; retrying in {pause:?}");
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_secs(8));
                }
                Err(e) => return Err(self.backend(what, e)),
            }
        }
    }

    /// Immutable uploads this store has made since it opened.
    pub fn uploads(&self) -> u64 {
        self.uploads.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn upload(&self, data: bytes::Bytes) -> Result<String, StoreError> {
        let cap = self.retrying("uploading", || self.gw.put_immutable(data.clone()))?;
        self.uploads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if !(cap.starts_with("URI:CHK:") || cap.starts_with("URI:LIT:")) {
            return Err(StoreError::Backend(format!(
                "the gateway {} answered {:?} to an upload instead of a cap",
                self.gw.base(),
                short_cap(&cap)
            )));
        }
        Ok(cap)
    }

    /// What to say when the grid cannot rebuild `cap`: how many shares the
    /// gateway found, how many are needed, which servers are not connected.
    fn unrecoverable(&self, cap: &str, needed: u32, body: &str) -> StoreError {
        let found = body
            .split("complete=")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .map_or(0, |s| s.split(',').filter(|x| x.starts_with("sh")).count());
        let missing = match self.gw.servers() {
            Ok(servers) => servers
                .iter()
                .filter(|s| !s.connected())
                .map(|s| format!("{} (not connected)", s.name()))
                .collect(),
            Err(e) => vec![format!("(could not ask the gateway: {e})")],
        };
        StoreError::Unrecoverable {
            chunk: short_cap(cap),
            found,
            needed: needed as usize,
            missing,
            corrupt: Vec::new(),
        }
    }

    /// Checks `locator`'s shares; renews its lease with `add_lease`, and
    /// repairs it with `repair` (regenerates missing shares on the servers
    /// now connected).
    pub fn check(
        &self,
        locator: &Locator,
        add_lease: bool,
        repair: bool,
    ) -> Result<ShareCheck, StoreError> {
        let cap = Self::blob_cap(locator)?;
        match parse_cap(&Locator::new(cap.clone()))? {
            Cap::Lit(_) => Ok(ShareCheck {
                good_before: 0,
                good_after: 0,
                needed: 0,
                total: 0,
                hosts_after: 0,
                recoverable: true,
                healthy: true,
                repaired: false,
                literal: true,
            }),
            Cap::Chk { .. } => self.check_cap(&cap, add_lease, repair),
        }
    }

    /// [`TahoeStore::check`] on the root pointer's mutable file. Repairing
    /// a mutable file republishes it: that happens under the root lock, and
    /// never through a read-only cap.
    pub fn check_root(&self, add_lease: bool, repair: bool) -> Result<ShareCheck, StoreError> {
        if repair && !self.read_only() {
            let _one_writer = self.root_lock.lock().expect("poisoned");
            return self.check_cap(&self.opts.root_cap, add_lease, true);
        }
        self.check_cap(&self.opts.root_cap, add_lease, false)
    }

    fn check_cap(
        &self,
        cap: &str,
        add_lease: bool,
        repair: bool,
    ) -> Result<ShareCheck, StoreError> {
        self.ensure_ready()?;
        let v = self
            .gw
            .check(cap, add_lease, repair)
            .map_err(|e| self.backend(&format!("checking {}", short_cap(cap)), e))?;
        Ok(share_check(&v, repair))
    }
}

fn none_if_empty(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

/// Reads a `t=check&output=JSON` answer (with or without repair).
fn share_check(v: &serde_json::Value, repair: bool) -> ShareCheck {
    let counts = |r: &serde_json::Value| {
        let res = &r["results"];
        let n = |k: &str| res[k].as_u64().unwrap_or(0) as u32;
        (
            n("count-shares-good"),
            n("count-shares-needed"),
            n("count-shares-expected"),
            res["recoverable"].as_bool().unwrap_or(false),
            res["healthy"].as_bool().unwrap_or(false),
            n("count-good-share-hosts"),
        )
    };
    if repair {
        let (before, needed, total, _, _, _) = counts(&v["pre-repair-results"]);
        let (after, _, _, recoverable, healthy, hosts) = counts(&v["post-repair-results"]);
        ShareCheck {
            good_before: before,
            good_after: after,
            needed,
            total,
            hosts_after: hosts,
            recoverable,
            healthy,
            repaired: v["repair-attempted"].as_bool().unwrap_or(false),
            literal: false,
        }
    } else {
        let (good, needed, total, recoverable, healthy, hosts) = counts(v);
        ShareCheck {
            good_before: good,
            good_after: good,
            needed,
            total,
            hosts_after: hosts,
            recoverable,
            healthy,
            repaired: false,
            literal: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use docgrid_core::store::BlobStore;

    #[test]
    fn caps_parse_and_shorten() {
        let cap = "URI:CHK:ycdgr3rnqv7ljrekqxkr2cjlfa:4l6yr4bz6sfhbqbd4otwncvgcf2tfpm5l6ac2vfxkxx5isaapija:3:5:70000";
        let loc = Locator::new(cap);
        match parse_cap(&loc).unwrap() {
            Cap::Chk { needed, size, .. } => assert_eq!((needed, size), (3, 70000)),
            Cap::Lit(_) => panic!("a CHK cap parsed as LIT"),
        }
        assert_eq!(short_cap(cap), "CHK:4l6yr4bz6s…:3:5:70000");
        assert!(parse_cap(&Locator::new("b3:00")).is_err());
        assert!(parse_cap(&Locator::new("URI:CHK:a:b:3:5")).is_err());
        assert!(parse_cap(&Locator::new("URI:CHK:a:b:x:5:9")).is_err());
        assert!(matches!(
            parse_cap(&Locator::new("URI:LIT:mfrgg")).unwrap(),
            Cap::Lit(_)
        ));
    }

    #[test]
    fn check_answers_are_read() {
        let plain = serde_json::json!({"results": {"count-shares-good": 3, "count-shares-needed": 3,
            "count-shares-expected": 5, "recoverable": true, "healthy": false}});
        let c = share_check(&plain, false);
        assert_eq!(
            (c.good_before, c.good_after, c.needed, c.total),
            (3, 3, 3, 5)
        );
        assert!(c.recoverable && !c.healthy);
        let repaired = serde_json::json!({"repair-attempted": true, "repair-successful": true,
            "pre-repair-results": {"results": {"count-shares-good": 4, "count-shares-needed": 3,
                "count-shares-expected": 5, "recoverable": true, "healthy": false}},
            "post-repair-results": {"results": {"count-shares-good": 5, "count-shares-needed": 3,
                "count-shares-expected": 5, "recoverable": true, "healthy": true}}});
        let c = share_check(&repaired, true);
        assert_eq!((c.good_before, c.good_after), (4, 5));
        assert!(c.healthy && c.repaired);
    }

    #[test]
    fn a_root_cap_must_be_a_mutable_write_cap() {
        let err = TahoeStore::open(TahoeOptions::new("http://127.0.0.1:1", "URI:CHK:a:b:1:2:3"))
            .err()
            .expect("a CHK root cap is refused");
        assert!(err.to_string().contains("URI:SSK"), "{err}");
    }

    #[test]
    fn an_unreachable_gateway_is_named() {
        let mut opts = TahoeOptions::new("http://127.0.0.1:9", "URI:SSK:a:b");
        opts.ready_timeout = Duration::from_millis(300);
        let store = TahoeStore::open(opts).unwrap();
        let err = store.root().unwrap_err().to_string();
        assert!(err.contains("http://127.0.0.1:9"), "{err}");
        assert!(err.contains("not ready"), "{err}");
    }
}
