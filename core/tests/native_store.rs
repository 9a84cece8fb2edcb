//! The native store against its promises: conformance, lost disks, flipped
//! bytes, interrupted writes, rebalancing.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use docgrid_core::chunk::Digest;
use docgrid_core::store::conformance::{blob_store_suite, test_bytes};
use docgrid_core::store::native::{
    NativeStore, ScrubOptions, ShardPlace, default_disks, forget_shard, shard_places,
};
use docgrid_core::store::{BlobStore, Locator, StoreError};

fn new_store(dir: &Path) -> (NativeStore, Vec<PathBuf>) {
    let disks = default_disks(dir, 6);
    (NativeStore::create(&disks, 4, 2).unwrap(), disks)
}

/// Blobs of awkward sizes, from empty to several shards' worth.
fn fill(store: &NativeStore, count: usize) -> Vec<(Locator, Vec<u8>)> {
    (0..count)
        .map(|i| {
            let data = test_bytes([0, 1, 5, 4096, 100_003, 1 << 20][i % 6] + i, i as u64);
            (store.put(&data).unwrap(), data)
        })
        .collect()
}

fn assert_all_read(store: &NativeStore, blobs: &[(Locator, Vec<u8>)]) {
    for (loc, data) in blobs {
        let back = store.get(loc).unwrap_or_else(|e| panic!("{loc}: {e}"));
        assert!(back == *data, "{loc} came back different");
    }
}

fn repair() -> ScrubOptions {
    ScrubOptions {
        repair: true,
        temp_grace: Duration::ZERO,
    }
}

fn check() -> ScrubOptions {
    ScrubOptions {
        repair: false,
        temp_grace: Duration::ZERO,
    }
}

/// The shards a disk's pack index names (none for a wiped disk).
fn shard_files(disk: &Path) -> Vec<ShardPlace> {
    shard_places(disk).map_or_else(|_| Vec::new(), |v| v.into_iter().map(|(_, p)| p).collect())
}

/// A shard's bytes.
fn read_place(p: &ShardPlace) -> Vec<u8> {
    use std::os::unix::fs::FileExt;
    let mut b = vec![0; p.len as usize];
    fs::File::open(&p.file)
        .unwrap()
        .read_exact_at(&mut b, p.offset)
        .unwrap();
    b
}

/// Overwrites a shard's bytes in place.
fn write_place(p: &ShardPlace, b: &[u8]) {
    use std::os::unix::fs::FileExt;
    let f = fs::OpenOptions::new().write(true).open(&p.file).unwrap();
    f.write_all_at(b, p.offset).unwrap();
    f.sync_all().unwrap();
}

/// The chunk of a locator.
fn digest(l: &Locator) -> Digest {
    l.as_str().strip_prefix("b3:").unwrap().parse().unwrap()
}

#[test]
fn conformance() {
    let dir = tempfile::tempdir().unwrap();
    blob_store_suite(&new_store(dir.path()).0);
}

#[test]
fn any_two_lost_disks_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (store, disks) = new_store(dir.path());
    let blobs = fill(&store, 30);
    for a in 0..6 {
        for b in a + 1..6 {
            for &i in &[a, b] {
                fs::rename(&disks[i], dir.path().join(format!("aside{i}"))).unwrap();
            }
            assert_all_read(&store, &blobs);
            for &i in &[a, b] {
                fs::rename(dir.path().join(format!("aside{i}")), &disks[i]).unwrap();
            }
        }
    }
}

#[test]
fn wiped_disks_are_rebuilt_by_scrub_repair() {
    let dir = tempfile::tempdir().unwrap();
    let (store, disks) = new_store(dir.path());
    let blobs = fill(&store, 24);
    store.swap_root(None, b"head").unwrap();
    fs::remove_dir_all(&disks[1]).unwrap();
    for entry in fs::read_dir(&disks[4]).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            fs::remove_dir_all(p).unwrap()
        } else {
            fs::remove_file(p).unwrap()
        }
    }
    assert_all_read(&store, &blobs);
    assert_eq!(store.root().unwrap().as_deref(), Some(&b"head"[..]));

    let found = store.scrub(&check()).unwrap();
    assert_eq!(found.offline_disks.len(), 2, "{found:?}");
    assert!(!found.is_clean());
    let fixed = store.scrub(&repair()).unwrap();
    assert_eq!(fixed.formatted_disks.len(), 2);
    assert_eq!(fixed.repaired as usize, fixed.missing.len());
    assert!(fixed.repaired > 0);
    let again = store.scrub(&check()).unwrap();
    assert!(again.is_clean(), "second scrub found {again:?}");
    assert!(!shard_files(&disks[1]).is_empty());
    assert_all_read(&store, &blobs);

    // And the store reopens from its disks.
    drop(store);
    let reopened = NativeStore::open(&disks).unwrap();
    assert_all_read(&reopened, &blobs);
    assert_eq!(reopened.root().unwrap().as_deref(), Some(&b"head"[..]));
}

#[test]
fn three_lost_disks_name_the_chunk_and_the_disks() {
    let dir = tempfile::tempdir().unwrap();
    let (store, disks) = new_store(dir.path());
    let data = test_bytes(300_000, 1);
    let loc = store.put(&data).unwrap();
    for i in [0, 2, 5] {
        fs::remove_dir_all(&disks[i]).unwrap();
    }
    match store.get(&loc) {
        Err(e @ StoreError::Unrecoverable { .. }) => {
            let msg = e.to_string();
            let hex = loc.as_str().strip_prefix("b3:").unwrap();
            assert!(msg.contains(hex), "{msg}");
            for i in [0, 2, 5] {
                assert!(msg.contains(&format!("d{i} (")), "{msg} should name d{i}");
            }
            assert!(msg.contains("3 intact shard(s) of the 4 needed"), "{msg}");
        }
        other => panic!("expected Unrecoverable, got {other:?}"),
    }
    let report = store.scrub(&repair()).unwrap();
    assert_eq!(report.unrecoverable.len(), 1);
}

#[test]
fn flipped_bytes_are_detected_and_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let (store, disks) = new_store(dir.path());
    let blobs = fill(&store, 18);
    // Flip a byte in the payload of one shard on disk 0 and in the header of one on disk 3,
    // for every chunk: two bad shards per chunk, what 4+2 tolerates.
    let mut flipped = 0;
    for (disk, at_header) in [(0, false), (3, true)] {
        for f in shard_files(&disks[disk]) {
            let mut b = read_place(&f);
            let at = if at_header {
                20
            } else {
                128 + (b.len() - 128) / 2
            };
            b[at] ^= 0x5a;
            write_place(&f, &b);
            flipped += 1;
        }
    }
    assert_all_read(&store, &blobs);
    let found = store.scrub(&check()).unwrap();
    assert_eq!(found.corrupt.len(), flipped, "{found:?}");
    let fixed = store.scrub(&repair()).unwrap();
    assert_eq!(fixed.repaired as usize, flipped);
    let again = store.scrub(&check()).unwrap();
    assert!(again.is_clean(), "{again:?}");
    assert_all_read(&store, &blobs);
}

#[test]
fn interrupted_write_leaves_the_store_readable_and_scrub_clean() {
    let dir = tempfile::tempdir().unwrap();
    let (store, disks) = new_store(dir.path());
    let blobs = fill(&store, 6);
    // What a crash mid-put leaves: stray temp files (of a marker or root
    // write), and a chunk with one shard whose bytes were never indexed
    // (its index entry forgotten: the store is reopened to see it).
    for (d, name) in [
        (2, "4242-00000000deadbeef.tmp"),
        (0, "4242-0000000000c0ffee.tmp"),
    ] {
        fs::write(disks[d].join("tmp").join(name), test_bytes(1000, 9)).unwrap();
    }
    let (victim, _) = &blobs[4];
    drop(store);
    assert!(forget_shard(&disks[0], &digest(victim)).unwrap());
    let store = NativeStore::open(&disks).unwrap();

    assert_all_read(&store, &blobs);
    let found = store.scrub(&check()).unwrap();
    assert_eq!(found.stale_temp_files.len(), 2);
    assert_eq!(found.missing.len(), 1, "{found:?}");
    let fixed = store.scrub(&repair()).unwrap();
    assert_eq!(fixed.removed_temp_files, 2);
    assert_eq!(fixed.repaired, 1);
    assert!(store.scrub(&check()).unwrap().is_clean());
    assert_all_read(&store, &blobs);
}

#[test]
fn adding_a_seventh_disk_moves_about_a_seventh() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = new_store(dir.path());
    let blobs: Vec<_> = (0..400u64)
        .map(|i| {
            let d = test_bytes(64 + (i as usize % 50), i);
            (store.put(&d).unwrap(), d)
        })
        .collect();
    let (id, report) = store.add_disk(&dir.path().join("disks/6")).unwrap();
    assert_eq!(id, "d6");
    assert_eq!(report.shards, 2400);
    let share = report.moved as f64 / report.shards as f64;
    assert!(
        (0.10..0.19).contains(&share),
        "moved {share:.3} of shards, expected about 1/7"
    );
    assert_eq!(report.removed, 0);
    assert!(report.stuck.is_empty());
    assert_all_read(&store, &blobs);
    assert!(store.scrub(&check()).unwrap().is_clean());
    // A second rebalance has nothing to do.
    assert_eq!(store.rebalance().unwrap().moved, 0);

    // Removing a disk moves exactly its shards.
    let on_d2 = shard_files(&dir.path().join("disks/2")).len() as u64;
    let report = store.remove_disk("d2").unwrap();
    assert_eq!(report.moved, on_d2);
    assert!(shard_files(&dir.path().join("disks/2")).is_empty());
    assert_all_read(&store, &blobs);
    assert!(store.scrub(&check()).unwrap().is_clean());
    assert_eq!(store.disks().len(), 6);
    assert!(
        store.remove_disk("d3").is_err(),
        "a 4+2 store cannot go below 6 disks"
    );
}

#[test]
fn writes_continue_degraded_and_refuse_below_quorum() {
    let dir = tempfile::tempdir().unwrap();
    let (store, disks) = new_store(dir.path());
    fs::remove_dir_all(&disks[5]).unwrap();
    let data = test_bytes(200_000, 3);
    let loc = store.put(&data).expect("5 of 6 shards meet the k+1 quorum");
    assert_eq!(store.get(&loc).unwrap(), data);
    fs::remove_dir_all(&disks[4]).unwrap();
    match store.put(&test_bytes(200_000, 4)) {
        Err(e @ StoreError::NotDurable { .. }) => {
            assert!(e.to_string().contains("d4 ("), "{e}");
        }
        other => panic!("expected NotDurable, got {other:?}"),
    }
    assert!(
        !disks[4].exists(),
        "a write must not resurrect a wiped disk"
    );
    store.scrub(&repair()).unwrap();
    assert!(store.scrub(&check()).unwrap().is_clean());
    assert_eq!(store.get(&loc).unwrap(), data);
}

#[test]
fn open_refuses_what_is_not_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let disks = default_disks(dir.path(), 6);
    let err = NativeStore::open(&disks).unwrap_err().to_string();
    assert!(err.contains("no docgrid store"), "{err}");
    NativeStore::create(&disks, 4, 2).unwrap();
    assert!(
        NativeStore::create(&disks, 4, 2).is_err(),
        "create over an existing store"
    );
    let mut more = disks.clone();
    more.push(dir.path().join("stranger"));
    assert!(
        NativeStore::open(&more)
            .unwrap_err()
            .to_string()
            .contains("not a disk of this store")
    );
    assert!(NativeStore::create(&default_disks(&dir.path().join("x"), 5), 4, 2).is_err());
}

#[test]
fn batched_puts_keep_the_quorum_and_dedup() {
    let dir = tempfile::tempdir().unwrap();
    let (store, disks) = new_store(dir.path());
    let blobs: Vec<Vec<u8>> = (0..20).map(|i| test_bytes(50_000, i % 15)).collect();
    let refs: Vec<&[u8]> = blobs.iter().map(Vec::as_slice).collect();
    let locs = store.put_batch(&refs).unwrap();
    for (l, b) in locs.iter().zip(&blobs) {
        assert_eq!(&store.get(l).unwrap(), b);
    }
    // 15 distinct blobs, 6 shards each, nothing left in tmp/.
    let shards: usize = disks.iter().map(|d| shard_files(d).len()).sum();
    assert_eq!(shards, 15 * 6);
    assert!(store.scrub(&check()).unwrap().is_clean());

    fs::remove_dir_all(&disks[0]).unwrap();
    let more: Vec<Vec<u8>> = (0..4).map(|i| test_bytes(10_000, 900 + i)).collect();
    let refs: Vec<&[u8]> = more.iter().map(Vec::as_slice).collect();
    let locs = store
        .put_batch(&refs)
        .expect("one lost disk still meets the quorum");
    assert_eq!(store.get(&locs[3]).unwrap(), more[3]);
    fs::remove_dir_all(&disks[1]).unwrap();
    let err = store.put_batch(
        &refs[..2]
            .iter()
            .map(|_| &b"x"[..])
            .chain([&b"y"[..]])
            .collect::<Vec<_>>(),
    );
    assert!(matches!(err, Err(StoreError::NotDurable { .. })), "{err:?}");
}

#[test]
fn a_put_interrupted_below_k_shards_is_cleaned_by_repair() {
    let dir = tempfile::tempdir().unwrap();
    let (store, disks) = new_store(dir.path());
    let blobs = fill(&store, 6);
    // A new chunk of which only 3 shards were indexed before the crash.
    let stray = store.put(&test_bytes(80_000, 77)).unwrap();
    drop(store);
    let mut removed = 0;
    for d in &disks {
        if removed < 3 && forget_shard(d, &digest(&stray)).unwrap() {
            removed += 1;
        }
    }
    let store = NativeStore::open(&disks).unwrap();
    assert!(
        !store.list().unwrap().contains(&stray),
        "list names only readable blobs"
    );
    let found = store.scrub(&check()).unwrap();
    assert_eq!(found.incomplete.len(), 1, "{found:?}");
    assert!(found.unrecoverable.is_empty());
    store.scrub(&repair()).unwrap();
    assert!(store.scrub(&check()).unwrap().is_clean());
    assert_all_read(&store, &blobs);
}

#[test]
fn a_second_process_cannot_open_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let (store, disks) = new_store(dir.path());
    let err = NativeStore::open(&disks).unwrap_err().to_string();
    assert!(err.contains("in use by another process"), "{err}");
    drop(store);
    NativeStore::open(&disks).expect("the lock goes with the store");
}

#[test]
fn a_dedup_put_after_a_rebalance_fills_the_missing_index() {
    // Regression: put assumed shard i lives on the i-th placed disk, so after
    // a rebalance it could rewrite an index that was present and count a
    // missing one as written.
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = new_store(dir.path());
    let blobs: Vec<_> = (0..60u64)
        .map(|i| {
            let d = test_bytes(3000, i);
            (store.put(&d).unwrap(), d)
        })
        .collect();
    store.swap_root(None, b"r").unwrap();
    store.add_disk(&dir.path().join("disks/6")).unwrap();
    // Wipe one disk, then put everything again: each put must restore
    // exactly the missing index.
    let wiped = dir.path().join("disks/3");
    for f in shard_files(&wiped) {
        write_place(&f, &vec![0; f.len as usize]);
    }
    for (_, d) in &blobs {
        store.put(d).unwrap();
    }
    let report = store.scrub(&check()).unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_all_read(&store, &blobs);
}

#[test]
fn three_lost_disks_make_the_root_unavailable_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let (store, disks) = new_store(dir.path());
    store.swap_root(None, b"head").unwrap();
    for i in [0, 2, 5] {
        fs::remove_dir_all(&disks[i]).unwrap();
    }
    for err in [
        store.root().unwrap_err(),
        store.swap_root(Some(b"head"), b"next").unwrap_err(),
    ] {
        assert!(
            matches!(
                err,
                StoreError::Unavailable {
                    answered: 3,
                    needed: 4,
                    ..
                }
            ),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(!msg.contains("written"), "a read is not a write: {msg}");
        for i in [0, 2, 5] {
            assert!(msg.contains(&format!("d{i} (")), "{msg}");
        }
    }
}

#[test]
fn a_store_of_shard_files_from_an_earlier_build_is_converted_into_packs_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let (store, disks) = new_store(dir.path());
    let blobs = fill(&store, 12);
    drop(store);
    // The layout of earlier builds: DISK/shards/XX/HEX, one file per shard.
    for d in &disks {
        for (chunk, place) in shard_places(d).unwrap() {
            let hex = chunk.to_hex();
            let sub = d.join("shards").join(&hex[..2]);
            fs::create_dir_all(&sub).unwrap();
            fs::write(sub.join(&hex), read_place(&place)).unwrap();
        }
        fs::remove_dir_all(d.join("packs")).unwrap();
    }
    let store = NativeStore::open(&disks).unwrap();
    assert_all_read(&store, &blobs);
    assert!(store.scrub(&check()).unwrap().is_clean());
    for d in &disks {
        assert!(!d.join("shards").exists(), "converted and removed");
        assert!(!shard_places(d).unwrap().is_empty());
    }
}
