//! Reading chunks out of packs: one Range GET per window of a pack, kept
//! for the chunks that follow.
//!
//! A document's chunks sit one after another in its packs, and a reader
//! asks for them in order (the server reads a few ahead). Each Tahoe GET
//! has a fixed cost (finding the shares, fetching hash-tree nodes), so a
//! chunk is served from an aligned window of its pack ([`Readahead::window`]
//! bytes, fetched whole); the windows last read are kept up to a byte
//! budget. Two readers wanting the same window wait for one fetch, and a
//! read starts fetching the window after its own in the background
//! ([`Readahead::prefetch`]), so the next reader finds it there.

use std::collections::{HashMap, VecDeque};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex, Weak};

use docgrid_core::store::StoreError;

/// A window: a pack's cap and the window's first byte.
type Key = (String, u64);

/// Reads a byte range of a pack, from any thread.
pub type Fetch = Arc<dyn Fn(u64, u64) -> Result<Vec<u8>, StoreError> + Send + Sync>;

/// Threads fetching windows ahead of readers: two, so that the two
/// windows after a reader's are on their way together.
const AHEAD_THREADS: usize = 2;
/// Windows fetched ahead of a reader's.
pub const AHEAD_WINDOWS: u64 = 2;

/// The windows of packs read lately.
pub struct Readahead {
    window: u64,
    budget: u64,
    state: Mutex<State>,
    /// The queue of the threads fetching ahead, started on first use;
    /// they end when this is dropped.
    ahead: Mutex<Option<Sender<Ahead>>>,
}

/// A window to fetch ahead.
struct Ahead {
    key: Key,
    stop: u64,
    slot: Arc<Slot>,
    fetch: Fetch,
}

#[derive(Default)]
struct State {
    /// Each window's slot and its bytes once filled (0 while fetching).
    slots: HashMap<Key, (Arc<Slot>, u64)>,
    /// Least recently used first.
    order: VecDeque<Key>,
    bytes: u64,
}

#[derive(Default)]
struct Slot {
    data: Mutex<Option<Arc<Vec<u8>>>>,
}

impl Readahead {
    /// Windows of `window` bytes (0: every read fetches exactly the chunk),
    /// at most `budget` bytes of them kept.
    pub fn new(window: u64, budget: u64) -> Readahead {
        Readahead {
            window,
            budget,
            state: Mutex::new(State::default()),
            ahead: Mutex::new(None),
        }
    }

    /// `len` bytes at `offset` of the pack `cap`, which is `size` bytes
    /// long (0: unknown, read exactly); `fetch(start, end)` reads a range.
    pub fn read(
        &self,
        cap: &str,
        size: u64,
        offset: u64,
        len: u64,
        fetch: &dyn Fn(u64, u64) -> Result<Vec<u8>, StoreError>,
    ) -> Result<Vec<u8>, StoreError> {
        let end = offset + len;
        if self.window == 0 || size == 0 || end > size {
            return fetch(offset, end);
        }
        let mut out = Vec::with_capacity(len as usize);
        let mut at = offset;
        while at < end {
            let start = at - at % self.window;
            let stop = (start + self.window).min(size);
            let bytes = self.window_bytes(cap, start, stop, fetch)?;
            let upto = end.min(stop);
            let (from, to) = ((at - start) as usize, (upto - start) as usize);
            if to > bytes.len() {
                return Err(StoreError::Backend(format!(
                    "the gateway sent {} bytes of a {}-byte range",
                    bytes.len(),
                    stop - start
                )));
            }
            out.extend_from_slice(&bytes[from..to]);
            at = upto;
        }
        Ok(out)
    }

    /// The bytes `start..stop` of `cap`, fetched once for every reader.
    fn window_bytes(
        &self,
        cap: &str,
        start: u64,
        stop: u64,
        fetch: &dyn Fn(u64, u64) -> Result<Vec<u8>, StoreError>,
    ) -> Result<Arc<Vec<u8>>, StoreError> {
        let key = (cap.to_string(), start);
        let slot = {
            let mut st = self.state.lock().expect("poisoned");
            let slot = st.slots.entry(key.clone()).or_default().0.clone();
            st.order.retain(|k| *k != key);
            st.order.push_back(key.clone());
            slot
        };
        let mut data = slot.data.lock().expect("poisoned");
        if let Some(bytes) = &*data {
            return Ok(bytes.clone());
        }
        self.keep(&key, &mut data, fetch(start, stop))
    }

    /// The first byte of the window after the one holding byte
    /// `end - 1`, if the pack (of `size` bytes) goes on past it.
    pub fn next_window(&self, end: u64, size: u64) -> Option<u64> {
        if self.window == 0 || end == 0 {
            return None;
        }
        let next = (end - 1) / self.window * self.window + self.window;
        (next < size).then_some(next)
    }

    /// Has the window of `cap` at `start` fetched by the threads that
    /// read ahead, unless it is kept or being fetched already. A failure
    /// is dropped: the reader that needs the window fetches it and says.
    pub fn prefetch(self: &Arc<Self>, cap: &str, size: u64, start: u64, fetch: Fetch) {
        let key = (cap.to_string(), start);
        let slot = {
            let mut st = self.state.lock().expect("poisoned");
            if st.slots.contains_key(&key) {
                return;
            }
            let slot = st.slots.entry(key.clone()).or_default().0.clone();
            st.order.push_back(key.clone());
            slot
        };
        let stop = (start + self.window).min(size);
        let job = Ahead {
            key: key.clone(),
            stop,
            slot,
            fetch,
        };
        let mut ahead = self.ahead.lock().expect("poisoned");
        let queue = ahead.get_or_insert_with(|| start_ahead(Arc::downgrade(self)));
        if queue.send(job).is_err() {
            let mut st = self.state.lock().expect("poisoned");
            st.slots.remove(&key);
            st.order.retain(|k| *k != key);
        }
    }

    /// Keeps a fetched window (evicting the oldest past the budget), or
    /// forgets its slot when the fetch failed.
    fn keep(
        &self,
        key: &Key,
        data: &mut Option<Arc<Vec<u8>>>,
        fetched: Result<Vec<u8>, StoreError>,
    ) -> Result<Arc<Vec<u8>>, StoreError> {
        let mut st = self.state.lock().expect("poisoned");
        let bytes = match fetched {
            Ok(b) => Arc::new(b),
            Err(e) => {
                st.slots.remove(key);
                st.order.retain(|k| k != key);
                return Err(e);
            }
        };
        *data = Some(bytes.clone());
        if let Some(entry) = st.slots.get_mut(key) {
            entry.1 = bytes.len() as u64;
            st.bytes += bytes.len() as u64;
        }
        while st.bytes > self.budget && st.order.len() > 1 {
            let old = st.order.pop_front().expect("not empty");
            if let Some((_, len)) = st.slots.remove(&old) {
                st.bytes -= len;
            }
        }
        Ok(bytes)
    }
}

/// Starts the threads that fetch ahead; they stop when the readahead
/// they serve is dropped (its queue with it).
fn start_ahead(of: Weak<Readahead>) -> Sender<Ahead> {
    let (tx, rx) = std::sync::mpsc::channel::<Ahead>();
    let rx = Arc::new(Mutex::new(rx));
    for _ in 0..AHEAD_THREADS {
        let (rx, of) = (rx.clone(), of.clone());
        let spawned = std::thread::Builder::new()
            .name("docgrid-tahoe-readahead".into())
            .spawn(move || fetch_ahead(&rx, &of));
        if let Err(e) = spawned {
            tracing::warn!("no thread to read Tahoe packs ahead: {e}");
        }
    }
    tx
}

fn fetch_ahead(jobs: &Mutex<Receiver<Ahead>>, of: &Weak<Readahead>) {
    loop {
        let next = jobs.lock().expect("poisoned").recv();
        let Ok(job) = next else { return };
        let Some(this) = of.upgrade() else { return };
        let Ok(mut data) = job.slot.data.try_lock() else {
            continue; // a reader is fetching it
        };
        if data.is_none() {
            let _ = this.keep(&job.key, &mut data, (job.fetch)(job.key.1, job.stop));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn chunks_come_from_windows_fetched_once_and_the_budget_holds() {
        let pack: Vec<u8> = (0..100u32).map(|i| i as u8).collect();
        let fetches = AtomicUsize::new(0);
        let fetch = |a: u64, b: u64| {
            fetches.fetch_add(1, Ordering::Relaxed);
            Ok(pack[a as usize..b as usize].to_vec())
        };
        let r = Readahead::new(32, 64);
        // In order, a chunk straddling two windows, then the tail.
        assert_eq!(r.read("p", 100, 0, 10, &fetch).unwrap(), &pack[0..10]);
        assert_eq!(r.read("p", 100, 10, 30, &fetch).unwrap(), &pack[10..40]);
        assert_eq!(r.read("p", 100, 40, 20, &fetch).unwrap(), &pack[40..60]);
        assert_eq!(fetches.load(Ordering::Relaxed), 2, "windows 0 and 32");
        assert_eq!(r.read("p", 100, 90, 10, &fetch).unwrap(), &pack[90..100]);
        assert_eq!(fetches.load(Ordering::Relaxed), 4, "windows 64 and 96");
        // The budget (64) kept the last two windows only.
        assert_eq!(r.read("p", 100, 0, 1, &fetch).unwrap(), &pack[0..1]);
        assert_eq!(fetches.load(Ordering::Relaxed), 5);
        // No readahead: exactly the chunk.
        let exact = Readahead::new(0, 0);
        assert_eq!(exact.read("p", 100, 5, 3, &fetch).unwrap(), &pack[5..8]);
    }

    #[test]
    fn a_read_fetches_the_next_window_ahead() {
        let pack: Arc<Vec<u8>> = Arc::new((0..100u32).map(|i| i as u8).collect());
        let fetches = Arc::new(AtomicUsize::new(0));
        let (p, f) = (pack.clone(), fetches.clone());
        let fetch: Fetch = Arc::new(move |a, b| {
            f.fetch_add(1, Ordering::Relaxed);
            Ok(p[a as usize..b as usize].to_vec())
        });
        let r = Arc::new(Readahead::new(32, 128));
        assert_eq!(r.next_window(10, 100), Some(32));
        assert_eq!(r.next_window(32, 100), Some(32));
        assert_eq!(r.next_window(33, 100), Some(64));
        assert_eq!(r.next_window(99, 100), None);
        r.prefetch("p", 100, 32, fetch.clone());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while fetches.load(Ordering::Relaxed) == 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        // The window is there (or being kept): reading it fetches nothing new.
        let got = r.read("p", 100, 40, 10, &|a, b| fetch(a, b)).unwrap();
        assert_eq!(got, &pack[40..50]);
        assert_eq!(fetches.load(Ordering::Relaxed), 1);
    }
}
