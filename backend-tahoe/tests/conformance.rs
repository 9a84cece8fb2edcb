//! The core conformance suite, and the Tahoe store's own promises, on a
//! real local grid (5 storage nodes, 3-of-5).

use docgrid_backend_tahoe::grid::{Grid, GridSpec};
use docgrid_backend_tahoe::{TahoeOptions, TahoeStore};
use docgrid_core::store::conformance::{blob_store_suite, test_bytes};
use docgrid_core::store::{BlobStore, StoreError};
use std::time::{Duration, Instant};

fn store_on(grid: &Grid, state: Option<&std::path::Path>) -> TahoeStore {
    let mut opts = TahoeOptions::new(grid.gateway_url(), "");
    opts.min_servers = grid.spec().happy;
    let root = TahoeStore::create_root(&opts).expect("creating the root file");
    opts.root_cap = root;
    opts.state_dir = state.map(Into::into);
    TahoeStore::open(opts).expect("opening the store")
}

#[test]
fn tahoe_store_passes_the_conformance_suite_and_names_lost_chunks() {
    if docgrid_backend_tahoe::grid::system_tests_skipped() {
        return;
    }
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let mut grid = Grid::start(GridSpec::default()).expect("starting a grid");
    let state = tempfile::tempdir().unwrap();
    let store = store_on(&grid, Some(state.path()));
    blob_store_suite(&store);

    // The catalog survives reopening the store: list still names what was put.
    let loc = store.put(&test_bytes(200_000, 42)).unwrap();
    let reopened = TahoeStore::open(TahoeOptions {
        state_dir: Some(state.path().into()),
        ..TahoeOptions::new(grid.gateway_url(), store.root_cap())
    })
    .unwrap();
    assert!(reopened.list().unwrap().contains(&loc));

    // A check reports every share; with two of five servers gone the chunk
    // still reads; with a third gone it is unrecoverable, and the error
    // says how many shares were found and which servers are away.
    let check = store.check(&loc, true, false).unwrap();
    assert_eq!((check.good_before, check.needed, check.total), (5, 3, 5));
    grid.stop_storage(0).unwrap();
    grid.stop_storage(1).unwrap();
    assert_eq!(store.get(&loc).unwrap(), test_bytes(200_000, 42));
    grid.stop_storage(2).unwrap();
    // `store` keeps the window of the pack it just read (readahead): ask
    // the reopened store, which has to go to the grid.
    match reopened.get(&loc) {
        Err(StoreError::Unrecoverable {
            needed, missing, ..
        }) => {
            assert_eq!(needed, 3);
            let text = missing.join(", ");
            for s in ["s0", "s1", "s2"] {
                assert!(text.contains(s), "the error names {s}: {text}");
            }
        }
        other => panic!("expected Unrecoverable, got {other:?}"),
    }
    assert!(
        !store.has(&loc).unwrap(),
        "has is false when too few shares remain"
    );
    for i in 0..3 {
        grid.start_storage(i).unwrap();
    }
    assert_eq!(store.get(&loc).unwrap(), test_bytes(200_000, 42));

    // An upload the grid cannot place yet (three servers, happy four) is
    // retried until it can.
    grid.stop_storage(3).unwrap();
    grid.stop_storage(4).unwrap();
    let started = Instant::now();
    let wait = Duration::from_secs(4);
    let loc = std::thread::scope(|s| {
        let upload = s.spawn(|| store.put(&test_bytes(100_000, 77)));
        std::thread::sleep(wait);
        assert!(
            !upload.is_finished(),
            "an upload to three servers with happy four must wait, not succeed"
        );
        grid.start_storage(3).unwrap();
        grid.start_storage(4).unwrap();
        upload.join().unwrap()
    })
    .expect("the upload is retried until the grid can take it");
    assert!(started.elapsed() >= wait);
    let spread = store.check(&loc, false, false).unwrap();
    assert_eq!(spread.good_after, 5);
    assert!(spread.hosts_after >= 4, "{spread:?}");

    // A read-only root cap reads the journal and cannot move it.
    let ro = store.root_read_cap().unwrap();
    assert!(ro.starts_with("URI:SSK-RO:"), "{ro}");
    let reader = TahoeStore::open(TahoeOptions::new(grid.gateway_url(), ro)).unwrap();
    assert_eq!(reader.root().unwrap(), store.root().unwrap());
    let now = reader.root().unwrap();
    let err = reader.swap_root(now.as_deref(), b"x").unwrap_err();
    assert!(err.to_string().contains("read-only"), "{err}");
    assert_eq!(
        store.root().unwrap(),
        now,
        "a read-only swap changed nothing"
    );
}
