//! `docgrid import` onto a Tahoe-LAFS store (a real local grid): small
//! files travel in packs, a few dozen Tahoe uploads for thousands of files.

mod common;

use common::{Env, same_tree};
use docgrid_backend_tahoe::grid::{Grid, GridSpec};
use docgrid_core::store::conformance::test_bytes;
use docgrid_server::config::{Backend, ServerConfig, create_tahoe_root};

#[test]
fn two_thousand_small_files_are_a_few_dozen_tahoe_uploads_and_read_back() {
    if docgrid_backend_tahoe::grid::system_tests_skipped() {
        return;
    }
    let grid = Grid::start(GridSpec::default()).expect("starting a grid");
    let happy = grid.spec().happy;
    let cfg = ServerConfig {
        version: 1,
        backend: Backend::Tahoe {
            gateway: grid.gateway_url(),
            root_cap: create_tahoe_root(&grid.gateway_url(), Some(happy)).unwrap(),
            min_servers: Some(happy),
            parallel_uploads: None,
            pack_max: None,
            readahead: None,
        },
        extract: Default::default(),
    };
    let env = Env::with(Some(&cfg));
    let src = env.home.path().join("src").join("notes");
    for i in 0..2000u64 {
        let file = src.join(format!("d{:02}/note{i:04}.bin", i % 20));
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, test_bytes(4096, i)).unwrap();
    }
    let tahoe = env.app.tahoe().expect("a Tahoe store");
    let before = tahoe.uploads();
    env.ok(&["import", src.to_str().unwrap()]);
    let uploads = tahoe.uploads() - before;
    eprintln!("{uploads} Tahoe uploads for 2,000 files");
    assert!(
        uploads <= 36,
        "2,000 files of 4 KiB took {uploads} Tahoe uploads; packs should make it a few dozen"
    );

    let back = env.home.path().join("back");
    env.ok(&["export", "/files/notes", back.to_str().unwrap()]);
    same_tree(&src, &back);
}
