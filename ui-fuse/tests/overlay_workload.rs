//! A workload against a real overlay mount in each mode while background
//! migration runs: four threads read whole and partial files, append,
//! overwrite, truncate, create, rename and delete, over a tree of 2,000
//! files with unicode names, empty files and two files of 100 MiB; a
//! reference model of what they wrote predicts every byte they read back.
//! At the end the lower directory (read-through, write-through) or the
//! store (every mode, once everything is migrated) holds exactly the
//! model's tree.
//!
//! These need `/dev/fuse` and `fusermount3`; skipped only when
//! `DOCGRID_SKIP_SYSTEM_TESTS=1` is set by hand.

mod common;
mod ovl;
mod system;

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use docgrid_fuse::overlay::journal::SyncState;
use docgrid_fuse::overlay::ofs::Mode;
use ovl::Ov;

/// Files of the tree (two of them 100 MiB).
const FILES: usize = 2000;
const THREADS: usize = 4;
/// How long the workload runs in each mode.
const RUN: Duration = Duration::from_secs(8);
const HUGE: usize = 100 << 20;

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(n + 8);
        while v.len() < n {
            v.extend_from_slice(&self.next().to_le_bytes());
        }
        v.truncate(n);
        v
    }
}

/// Path → bytes.
type Model = BTreeMap<String, Vec<u8>>;

fn name_of(i: usize) -> String {
    let dir = format!("d{:02}", i % 40);
    if i == 0 || i == 1 {
        format!("big/huge-{i}.bin")
    } else if i.is_multiple_of(7) {
        format!("{dir}/ü-日本-é {i}.txt")
    } else {
        format!("{dir}/file-{i}.dat")
    }
}

/// Writes the tree into `lower`; returns it as the model.
fn build(lower: &Path) -> Model {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut model = Model::new();
    for i in 0..FILES {
        let size = match i {
            0 | 1 => HUGE,
            _ if i.is_multiple_of(50) => 0,
            _ => rng.below(64 << 10) as usize + 1,
        };
        let data = rng.bytes(size);
        let rel = name_of(i);
        let p = lower.join(&rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, &data).unwrap();
        model.insert(rel, data);
    }
    model
}

/// One thread's share: the files it alone touches, and what they hold.
struct Worker {
    t: usize,
    mp: PathBuf,
    mine: Model,
    rng: Rng,
    created: usize,
    ops: u64,
}

impl Worker {
    fn pick(&mut self) -> Option<String> {
        if self.mine.is_empty() {
            return None;
        }
        let k = self.rng.below(self.mine.len() as u64) as usize;
        self.mine.keys().nth(k).cloned()
    }

    fn step(&mut self) {
        let Some(rel) = self.pick() else {
            return self.create();
        };
        let huge = self.mine[&rel].len() >= HUGE;
        let op = self.rng.below(100);
        match op {
            _ if huge && op < 70 => self.read_part(&rel),
            _ if huge => self.overwrite(&rel),
            0..30 => self.read_all(&rel),
            30..55 => self.read_part(&rel),
            55..65 => self.append(&rel),
            65..75 => self.overwrite(&rel),
            75..80 => self.truncate(&rel),
            80..88 => self.create(),
            88..95 => self.rename(&rel),
            _ => self.delete(&rel),
        }
        self.ops += 1;
    }

    fn at(&self, rel: &str) -> PathBuf {
        self.mp.join(rel)
    }

    fn read_all(&mut self, rel: &str) {
        let got = std::fs::read(self.at(rel)).unwrap();
        assert!(
            got == self.mine[rel],
            "thread {}: {rel} reads back as written",
            self.t
        );
    }

    fn read_part(&mut self, rel: &str) {
        let want = &self.mine[rel];
        let off = self.rng.below(want.len() as u64 + 1) as usize;
        let len = (self.rng.below(256 << 10) as usize).min(want.len() - off);
        let mut f = std::fs::File::open(self.at(rel)).unwrap();
        f.seek(SeekFrom::Start(off as u64)).unwrap();
        let mut got = vec![0; len];
        f.read_exact(&mut got).unwrap();
        assert!(
            got == want[off..off + len],
            "thread {}: {rel} at {off}+{len}",
            self.t
        );
    }

    fn append(&mut self, rel: &str) {
        let more = {
            let n = self.rng.below(8192) as usize + 1;
            self.rng.bytes(n)
        };
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(self.at(rel))
            .unwrap();
        f.write_all(&more).unwrap();
        drop(f);
        self.mine.get_mut(rel).unwrap().extend_from_slice(&more);
    }

    fn overwrite(&mut self, rel: &str) {
        let len = self.mine[rel].len();
        let off = self.rng.below(len as u64 + 1) as usize;
        let data = {
            let n = self.rng.below(16 << 10) as usize + 1;
            self.rng.bytes(n)
        };
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(self.at(rel))
            .unwrap();
        f.seek(SeekFrom::Start(off as u64)).unwrap();
        f.write_all(&data).unwrap();
        f.sync_all().unwrap();
        drop(f);
        let m = self.mine.get_mut(rel).unwrap();
        if m.len() < off + data.len() {
            m.resize(off + data.len(), 0);
        }
        m[off..off + data.len()].copy_from_slice(&data);
    }

    fn truncate(&mut self, rel: &str) {
        let len = self.rng.below(self.mine[rel].len() as u64 + 1) as usize;
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(self.at(rel))
            .unwrap();
        f.set_len(len as u64).unwrap();
        drop(f);
        self.mine.get_mut(rel).unwrap().truncate(len);
    }

    fn create(&mut self) {
        self.created += 1;
        let rel = format!(
            "d{:02}/new-t{}-{} ✓.txt",
            self.rng.below(40),
            self.t,
            self.created
        );
        let data = {
            let n = self.rng.below(32 << 10) as usize;
            self.rng.bytes(n)
        };
        std::fs::write(self.at(&rel), &data).unwrap();
        self.mine.insert(rel, data);
    }

    fn rename(&mut self, rel: &str) {
        self.created += 1;
        let to = format!(
            "d{:02}/moved-t{}-{}.bin",
            self.rng.below(40),
            self.t,
            self.created
        );
        std::fs::rename(self.at(rel), self.at(&to)).unwrap();
        let data = self.mine.remove(rel).unwrap();
        self.mine.insert(to, data);
    }

    fn delete(&mut self, rel: &str) {
        std::fs::remove_file(self.at(rel)).unwrap();
        self.mine.remove(rel);
    }
}

/// Runs the workload; returns the model of the whole tree after it.
fn workload(ov: &Ov, model: Model) -> Model {
    let deadline = Instant::now() + RUN;
    let mut shares: Vec<Model> = vec![Model::new(); THREADS];
    for (i, (k, v)) in model.into_iter().enumerate() {
        shares[i % THREADS].insert(k, v);
    }
    let handles: Vec<_> = shares
        .into_iter()
        .enumerate()
        .map(|(t, mine)| {
            let mp = ov.cfg.mountpoint.clone();
            std::thread::spawn(move || {
                let mut w = Worker {
                    t,
                    mp,
                    mine,
                    rng: Rng(0x1234_5678 + t as u64),
                    created: 0,
                    ops: 0,
                };
                while Instant::now() < deadline {
                    w.step();
                }
                (w.mine, w.ops)
            })
        })
        .collect();
    let mut all = Model::new();
    let mut ops = 0;
    for h in handles {
        let (mine, n) = h.join().expect("a workload thread failed");
        ops += n;
        all.extend(mine);
    }
    eprintln!("{ops} operations");
    assert!(ops > 200, "the workload ran: {ops} operations");
    all
}

/// Every file below `root`: path → bytes.
fn tree_of(root: &Path) -> Model {
    let mut out = Model::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_str().unwrap().to_string();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// Waits (at most 5 minutes) until everything is migrated.
fn all_migrated(ov: &Ov) {
    let t0 = Instant::now();
    loop {
        // Settled first: a state read before it could miss work under way.
        let settled = ov.mounted_settled();
        let s = ov.journal().summary().unwrap();
        let left: u64 = [SyncState::LowerOnly, SyncState::Dirty, SyncState::Migrating]
            .iter()
            .map(|st| s.of(*st).0)
            .sum();
        assert!(s.of(SyncState::Failed).0 == 0, "failures: {:?}", s.failures);
        if settled && left == 0 && s.of(SyncState::Migrated).0 > 0 {
            return;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(300),
            "migration stalled: {s:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The store's `/files/office/` tree, every document's bytes.
fn store_of(ov: &Ov, model: &Model) -> Model {
    let t = ov.tree();
    let mut out = Model::new();
    let mut stack = vec![String::new()];
    while let Some(d) = stack.pop() {
        let listing = t.list(&format!("/files/office/{d}")).unwrap();
        for e in listing.entries() {
            let rel = format!("{d}{}", e.name);
            match e.id {
                Some(id) => {
                    let size = model
                        .get(&rel)
                        .map_or(e.size.unwrap_or(0) as usize, Vec::len);
                    out.insert(rel, t.read_at(&id, 0, size + 1).unwrap());
                }
                None => stack.push(format!("{rel}/")),
            }
        }
    }
    out
}

fn same(what: &str, got: &Model, want: &Model) {
    let (g, w): (Vec<&String>, Vec<&String>) = (got.keys().collect(), want.keys().collect());
    let extra: Vec<_> = g.iter().filter(|x| !want.contains_key(**x)).collect();
    let missing: Vec<_> = w.iter().filter(|x| !got.contains_key(**x)).collect();
    assert!(g == w, "{what}: has {extra:?} too, lacks {missing:?}");
    for (k, v) in want {
        assert!(
            &got[k] == v,
            "{what}: {k} differs ({} vs {} bytes)",
            got[k].len(),
            v.len()
        );
    }
}

fn run(mode: Mode) {
    let mut model = None;
    let Some(mut ov) = Ov::new(mode, |l| model = Some(build(l))) else {
        return;
    };
    ov.cfg.background = Some(200 << 20);
    ov.mount();
    let model = workload(&ov, model.unwrap());
    all_migrated(&ov);
    same("the store", &store_of(&ov, &model), &model);
    ov.unmount();
    if mode != Mode::WriteBack {
        same("the lower directory", &tree_of(&ov.cfg.lower), &model);
    }
}

#[test]
fn read_through_workload() {
    run(Mode::ReadThrough);
}

#[test]
fn write_through_workload() {
    run(Mode::WriteThrough);
}

#[test]
fn write_back_workload() {
    run(Mode::WriteBack);
}
