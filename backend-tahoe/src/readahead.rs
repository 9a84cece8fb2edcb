//! Reading chunks out of packs: one Range GET per window of a pack, kept
//! for the chunks that follow.
//!
//! A document's chunks sit one after another in its packs, and a reader
//! asks for them in order (the server reads a few ahead). Each Tahoe GET
//! has a fixed cost (finding the shares, fetching hash-tree nodes), so a
//! chunk is served from an aligned window of its pack ([`Readahead::window`]
//! bytes, fetched whole); the windows last read are kept up to a byte
//! budget. Two readers wanting the same window wait for one fetch.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use docgrid_core::store::StoreError;

/// A window: a pack's cap and the window's first byte.
type Key = (String, u64);

/// The windows of packs read lately.
pub struct Readahead {
    window: u64,
    budget: u64,
    state: Mutex<State>,
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
        let fetched = fetch(start, stop);
        let mut st = self.state.lock().expect("poisoned");
        let bytes = match fetched {
            Ok(b) => Arc::new(b),
            Err(e) => {
                st.slots.remove(&key);
                st.order.retain(|k| *k != key);
                return Err(e);
            }
        };
        *data = Some(bytes.clone());
        if let Some(entry) = st.slots.get_mut(&key) {
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
}
