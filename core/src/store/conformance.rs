//! The conformance suite every [`BlobStore`] runs (STYLE: one suite for
//! every implementation). Call [`blob_store_suite`] on a fresh, empty store
//! from a test; it panics with a message naming the broken rule.

use std::collections::HashSet;

use rand::{Rng, SeedableRng, rngs::StdRng};

use super::{BlobStore, DeleteGuarantee, Locator, RootSwap, StoreError};

/// Deterministic pseudo-random bytes.
pub fn test_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut v = vec![0u8; len];
    StdRng::seed_from_u64(seed).fill(&mut v[..]);
    v
}

/// Runs every check on `store`, which must be empty and have no root yet.
pub fn blob_store_suite(store: &dyn BlobStore) {
    round_trips(store);
    identical_bytes_share_a_locator(store);
    batches_round_trip(store);
    missing_and_invalid_locators(store);
    list_names_every_blob(store);
    delete_keeps_its_guarantee(store);
    root_compare_and_swap(store);
    concurrent_puts_and_gets(store);
    concurrent_root_swaps_lose_nothing(store);
}

fn round_trips(store: &dyn BlobStore) {
    let sizes = [0usize, 1, 2, 3, 7, 1000, 65_537, 1 << 20, (4 << 20) + 3];
    for (i, &len) in sizes.iter().enumerate() {
        let data = test_bytes(len, 100 + i as u64);
        let loc = store
            .put(&data)
            .unwrap_or_else(|e| panic!("put of {len} bytes failed: {e}"));
        let back = store
            .get(&loc)
            .unwrap_or_else(|e| panic!("get of {len} bytes failed: {e}"));
        assert!(
            back == data,
            "get returned other bytes than put for a {len}-byte blob"
        );
        assert!(
            store.has(&loc).unwrap(),
            "has is false right after put ({len} bytes)"
        );
    }
}

fn identical_bytes_share_a_locator(store: &dyn BlobStore) {
    let data = test_bytes(300_000, 7);
    let a = store.put(&data).unwrap();
    let b = store.put(&data).unwrap();
    assert_eq!(
        a, b,
        "putting the same bytes twice must give equal locators"
    );
    let other = store.put(&test_bytes(300_000, 8)).unwrap();
    assert_ne!(a, other, "different bytes must not share a locator");
}

fn batches_round_trip(store: &dyn BlobStore) {
    let blobs: Vec<Vec<u8>> = (0..12)
        .map(|i| test_bytes(i * 7919 % 70_000, 500 + i as u64 % 9))
        .collect();
    let refs: Vec<&[u8]> = blobs.iter().map(Vec::as_slice).collect();
    let locs = store.put_batch(&refs).expect("put_batch");
    assert_eq!(
        locs.len(),
        blobs.len(),
        "put_batch returns one locator per blob"
    );
    for (loc, data) in locs.iter().zip(&blobs) {
        assert_eq!(
            *loc,
            store.put(data).unwrap(),
            "put_batch and put disagree on a locator"
        );
        assert!(
            store.get(loc).unwrap() == *data,
            "a batched blob came back different"
        );
    }
    assert!(store.put_batch(&[]).unwrap().is_empty());

    // With the hashes given: the same locators, and new bytes stored.
    let more: Vec<Vec<u8>> = (0..5)
        .map(|i| test_bytes(3000 + i, 900 + i as u64))
        .collect();
    let hashed: Vec<(crate::chunk::Digest, &[u8])> = blobs
        .iter()
        .chain(&more)
        .map(|b| (crate::chunk::Digest::of(b), b.as_slice()))
        .collect();
    let again = store.put_batch_hashed(&hashed).expect("put_batch_hashed");
    assert_eq!(
        again[..locs.len()],
        locs[..],
        "known bytes keep their locators"
    );
    for (loc, data) in again[locs.len()..].iter().zip(&more) {
        assert!(
            store.get(loc).unwrap() == *data,
            "a hashed put came back different"
        );
    }
}

fn missing_and_invalid_locators(store: &dyn BlobStore) {
    let bogus = Locator::new("not a locator \0 at all");
    assert!(
        store.get(&bogus).is_err(),
        "get of a garbage locator must fail"
    );
    assert!(
        !store.has(&bogus).unwrap_or(false),
        "has of a garbage locator must not be true"
    );
    if store.delete_guarantee() == DeleteGuarantee::Frees {
        let loc = store.put(b"soon gone").unwrap();
        store.delete(&loc).unwrap();
        match store.get(&loc) {
            Err(StoreError::NotFound { locator }) => assert_eq!(locator, loc),
            other => panic!("get after delete must be NotFound, got {other:?}"),
        }
    }
}

fn list_names_every_blob(store: &dyn BlobStore) {
    let put: Vec<Locator> = (0..20)
        .map(|i| store.put(&test_bytes(1000 + i, 200 + i as u64)).unwrap())
        .collect();
    let listed: HashSet<Locator> = store.list().unwrap().into_iter().collect();
    for loc in &put {
        assert!(listed.contains(loc), "list omits {loc}");
    }
}

fn delete_keeps_its_guarantee(store: &dyn BlobStore) {
    let loc = store.put(&test_bytes(5000, 300)).unwrap();
    let keep = store.put(&test_bytes(5000, 301)).unwrap();
    store.delete(&loc).unwrap();
    store.delete(&loc).expect("delete must be idempotent");
    let listed: HashSet<Locator> = store.list().unwrap().into_iter().collect();
    assert!(!listed.contains(&loc), "list still names a deleted blob");
    assert!(listed.contains(&keep), "delete removed another blob");
    assert_eq!(store.get(&keep).unwrap(), test_bytes(5000, 301));
    if store.delete_guarantee() == DeleteGuarantee::Frees {
        assert!(
            !store.has(&loc).unwrap(),
            "has is true after a freeing delete"
        );
    }
    // A deleted blob can be stored again.
    let again = store.put(&test_bytes(5000, 300)).unwrap();
    assert_eq!(store.get(&again).unwrap(), test_bytes(5000, 300));
}

fn root_compare_and_swap(store: &dyn BlobStore) {
    assert_eq!(store.root().unwrap(), None, "a fresh store has no root");
    assert_eq!(store.swap_root(None, b"one").unwrap(), RootSwap::Swapped);
    assert_eq!(
        store.swap_root(None, b"two").unwrap(),
        RootSwap::Conflict {
            current: Some(b"one".to_vec())
        },
        "swap from None must fail once a root is set"
    );
    assert_eq!(
        store.swap_root(Some(b"one"), b"two").unwrap(),
        RootSwap::Swapped
    );
    assert_eq!(
        store.swap_root(Some(b"one"), b"three").unwrap(),
        RootSwap::Conflict {
            current: Some(b"two".to_vec())
        },
        "a stale expected value must conflict"
    );
    assert_eq!(store.root().unwrap().as_deref(), Some(&b"two"[..]));
    let big = test_bytes(super::MAX_ROOT_LEN, 9);
    assert_eq!(
        store.swap_root(Some(b"two"), &big).unwrap(),
        RootSwap::Swapped
    );
    assert_eq!(store.root().unwrap(), Some(big.clone()));
    assert_eq!(
        store.swap_root(Some(&big), b"0").unwrap(),
        RootSwap::Swapped
    );
}

fn concurrent_puts_and_gets(store: &dyn BlobStore) {
    std::thread::scope(|s| {
        for t in 0..6u64 {
            s.spawn(move || {
                for i in 0..8u64 {
                    // Half the blobs are shared between threads, half their own.
                    let seed = if i % 2 == 0 {
                        1000 + i
                    } else {
                        2000 + t * 100 + i
                    };
                    let data = test_bytes(20_000 + (seed as usize % 7) * 1000, seed);
                    let loc = store.put(&data).unwrap();
                    assert!(store.get(&loc).unwrap() == data, "concurrent get mismatch");
                }
            });
        }
    });
}

fn concurrent_root_swaps_lose_nothing(store: &dyn BlobStore) {
    const THREADS: u64 = 4;
    const EACH: u64 = 10;
    let start: u64 = String::from_utf8(store.root().unwrap().unwrap())
        .unwrap()
        .parse()
        .unwrap();
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                for _ in 0..EACH {
                    loop {
                        let cur = store.root().unwrap().unwrap();
                        let n: u64 = String::from_utf8(cur.clone()).unwrap().parse().unwrap();
                        let next = (n + 1).to_string();
                        if store.swap_root(Some(&cur), next.as_bytes()).unwrap()
                            == RootSwap::Swapped
                        {
                            break;
                        }
                    }
                }
            });
        }
    });
    let end: u64 = String::from_utf8(store.root().unwrap().unwrap())
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        end,
        start + THREADS * EACH,
        "a concurrent compare-and-swap lost an update"
    );
}
