"""bench/run overlay: docgrid-fuse overlay on a real mount beside its peers.

- reading every file of a corpus (default /usr/share/doc, copied to a lower
  directory; `tar -cf -` of the tree into a pipe) through an overlay, unmigrated (from the lower directory:
  write-through, whose reads upload nothing, and read-through, which
  uploads each file read) and migrated (from the store, chunk cache warm),
  vs reading the lower directory directly — every pass with the kernel's
  caches dropped first;
- background migration of the corpus (a fresh state, --background with no
  useful bound) from mount to nothing left, vs cp -r of it with a sync;
- the read latency (open, read, close of a random file, p50/p99) of a
  reader through a write-through overlay (whose reads upload nothing)
  while a background migration runs (at most 5 s, within the migration's
  time), and the same reader without one.
"""
import json
import os
import random
import shutil
import statistics
import subprocess
import time
from pathlib import Path


def sh(*args, **kw):
    return subprocess.run([str(a) for a in args], check=True, **kw)


def drop_caches():
    sh("sync")
    Path("/proc/sys/vm/drop_caches").write_text("3\n")


def read_tree(root):
    """Reads every file below `root` as an application would: tar of the
    tree into a pipe (tar skips reading into /dev/null); the bytes read."""
    tar = subprocess.Popen(["tar", "-cf", "-", "-C", str(root), "."], stdout=subprocess.PIPE)
    n = 0
    while True:
        b = tar.stdout.read(1 << 20)
        if not b:
            break
        n += len(b)
    if tar.wait() != 0:
        raise RuntimeError(f"tar of {root} failed")
    return n


def timed(f):
    t = time.perf_counter()
    r = f()
    return time.perf_counter() - t, r


class Overlay:
    """docgrid-fuse overlay in the foreground over LOWER at MP."""

    def __init__(self, binary, lower, mp, state, url, token, cache, *extra, mode="read-through"):
        self.binary, self.state, self.mp = binary, state, mp
        mp.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "DOCGRID_CONFIG": str(state.parent / "none.toml")}
        self.proc = subprocess.Popen([binary, "overlay", "--lower", lower, mp, "--mode", mode,
                                      "--state", state, "--server", url, "--token", token, "--cache", cache,
                                      "--foreground", *extra], stderr=subprocess.DEVNULL, env=env)
        for _ in range(400):
            if os.path.ismount(mp):
                return
            time.sleep(0.05)
        raise RuntimeError(f"{mp} did not mount")

    def status(self):
        out = subprocess.run([self.binary, "overlay", "status", "--json", "--state", self.state],
                             check=True, capture_output=True, text=True).stdout
        return json.loads(out)

    def wait_migrated(self, files, timeout=3600):
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < timeout:
            s = self.status()
            if s["migrated"]["files"] >= files and s["remaining"]["files"] == 0:
                return time.perf_counter() - t0
            time.sleep(0.2)
        raise RuntimeError(f"migration did not end: {self.status()}")

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=300)


def latency(root, files, seconds=10.0):
    """Opens, reads and closes random files below `root` for `seconds`;
    returns (p50, p99) in ms."""
    rng = random.Random(7)
    lat = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        p = os.path.join(root, rng.choice(files))
        t = time.perf_counter()
        with open(p, "rb") as f:
            f.read()
        lat.append((time.perf_counter() - t) * 1000)
    lat.sort()
    return lat[len(lat) // 2], lat[int(len(lat) * 0.99)]


def bench(rows, out, target, start_server):
    corpus = Path(os.environ.get("DOCGRID_BENCH_CORPUS", "/usr/share/doc"))
    binary = target / "release" / "docgrid-fuse"
    work = out / "overlay"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    lower = work / "lower"
    sh("cp", "-a", corpus, lower)
    rel = [os.path.relpath(os.path.join(d, n), lower) for d, _, ns in os.walk(lower) for n in ns
           if not os.path.islink(os.path.join(d, n))]
    size = sum(os.path.getsize(lower / r) for r in rel)
    what = f"{corpus} ({len(rel):,} files, {size / 1e6:.0f} MB)"
    proc, url, token = start_server(work / "server")
    try:
        bench_reads(rows, binary, work, lower, url, token, rel, size, what)
        bench_migration(rows, binary, work, lower, url, token, rel, size, what)
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(work, ignore_errors=True)


def bench_reads(rows, binary, work, lower, url, token, rel, size, what):
    drop_caches()
    direct, tar_bytes = timed(lambda: read_tree(lower))
    # Write-through first: its reads upload nothing, so this is the mount's
    # own cost over the lower directory.
    ov = Overlay(binary, lower, work / "mnt", work / "state-wt", url, token, work / "cache-wt",
                 "--prefix", "/files/wt", mode="write-through")
    try:
        drop_caches()
        passthrough, n = timed(lambda: read_tree(ov.mp))
        assert n == tar_bytes, (n, tar_bytes)
    finally:
        ov.close()
    state, cache = work / "state-reads", work / "cache-reads"
    ov = Overlay(binary, lower, work / "mnt", state, url, token, cache)
    try:
        drop_caches()
        unmigrated, n = timed(lambda: read_tree(ov.mp))
        assert n == tar_bytes, (n, tar_bytes)
    finally:
        ov.close()
    # Whatever the read left unmigrated, migrated in the background; then
    # a mount without background work reads it all from the store.
    ov = Overlay(binary, lower, work / "mnt", state, url, token, cache, "--background", "100G")
    try:
        ov.wait_migrated(len(rel))
    finally:
        ov.close()
    ov = Overlay(binary, lower, work / "mnt", state, url, token, cache)
    try:
        read_tree(ov.mp)  # the chunk cache filled
        drop_caches()
        migrated, n = timed(lambda: read_tree(ov.mp))
        assert n == tar_bytes, (n, tar_bytes)
    finally:
        ov.close()
    mb = lambda t: f"{size / t / 1e6:.0f} MB/s"
    rows.append((f"overlay read of every file of {what}, unmigrated, write-through (reads upload nothing)",
                 mb(passthrough), "reading the lower directory directly", mb(direct), direct / passthrough, "-"))
    rows.append((f"overlay read of every file of {what}, unmigrated, read-through (each file uploaded after its read)", mb(unmigrated),
                 "reading the lower directory directly", mb(direct), direct / unmigrated, "≥ 0.5×"))
    rows.append((f"overlay read of every file of {what}, migrated (from the store, chunk cache warm)",
                 mb(migrated), "reading the lower directory directly", mb(direct), direct / migrated, "≥ 0.5×"))


def bench_migration(rows, binary, work, lower, url, token, rel, size, what):
    copy = work / "copy"
    t0 = time.perf_counter()
    sh("cp", "-r", lower, copy)
    sh("sync")
    cp = time.perf_counter() - t0
    shutil.rmtree(copy)
    # Fresh document trees under prefixes of their own, nothing migrated;
    # write-through, so that the reader's reads upload nothing themselves.
    drop_caches()
    t0 = time.perf_counter()
    ov = Overlay(binary, lower, work / "mnt", work / "state-bg", url, token, work / "cache-bg",
                 "--background", "100G", "--prefix", "/files/bg", mode="write-through")
    try:
        ov.wait_migrated(len(rel))
        took = time.perf_counter() - t0
    finally:
        ov.close()
    drop_caches()
    ov = Overlay(binary, lower, work / "mnt", work / "state-busy", url, token, work / "cache-busy",
                 "--background", "100G", "--prefix", "/files/busy", mode="write-through")
    try:
        busy = latency(ov.mp, rel, seconds=min(5.0, took * 0.8))
    finally:
        ov.close()
    drop_caches()
    ov = Overlay(binary, lower, work / "mnt", work / "state-quiet", url, token, work / "cache-quiet",
                 "--prefix", "/files/quiet", mode="write-through")
    try:
        quiet = latency(ov.mp, rel, seconds=min(5.0, took * 0.8))
    finally:
        ov.close()
    rows.append((f"background migration of {what}, mount to nothing left",
                 f"{len(rel) / took:,.0f} files/s, {size / took / 1e6:.0f} MB/s", "cp -r + sync",
                 f"{len(rel) / cp:,.0f} files/s, {size / cp / 1e6:.0f} MB/s", cp / took, "≥ 0.3×"))
    rows.append((f"read latency through the overlay, p50 / p99 while the background migration runs",
                 f"{busy[0]:.2f} / {busy[1]:.2f} ms", "the same reader, no background migration",
                 f"{quiet[0]:.2f} / {quiet[1]:.2f} ms", quiet[1] / busy[1], "-"))
