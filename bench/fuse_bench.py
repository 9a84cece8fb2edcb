"""bench/run fuse: docgrid-fuse on a real mount beside its peers, in one run.

- cp -r of a corpus (default /usr/share/doc without its symlinks, which a
  docgrid mount refuses) into /files/ vs cp -r to a local directory;
- sequential read of a 1 GiB document (DOCGRID_BENCH_FUSE_MIB), cold
  (empty chunk cache, a fresh mount) vs curl of /v1/docs/ID/content, and
  warm (chunk cache filled, kernel caches dropped) vs reading a local file
  with the kernel caches dropped;
- ls -l of a 10,000-entry directory, warm, vs ls -l of a local one;
- find over /tags of 100,000 documents with 2 of 20 tags each, vs find over
  a local tree of the same shape, next to TMSU's published 17.5 s for 420k.
"""
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def sh(*args, **kw):
    return subprocess.run([str(a) for a in args], check=True, **kw)


def timed(f):
    sh("sync")
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


def drop_caches():
    sh("sync")
    Path("/proc/sys/vm/drop_caches").write_text("3\n")


class Mount:
    """docgrid-fuse in the foreground at OUT/NAME over URL, with its own cache."""

    def __init__(self, binary, out, name, url, token):
        self.mp = out / name
        self.cache = out / (name + "-cache")
        for p in (self.mp, self.cache):
            shutil.rmtree(p, ignore_errors=True)
        self.mp.mkdir(parents=True)
        env = {**os.environ, "DOCGRID_CONFIG": str(out / "none.toml")}
        self.proc = subprocess.Popen([binary, self.mp, "--server", url, "--token", token, "--cache", self.cache,
                                      "--foreground"], stderr=subprocess.DEVNULL, env=env)
        for _ in range(200):
            if os.path.ismount(self.mp):
                return
            time.sleep(0.05)
        raise RuntimeError(f"{self.mp} did not mount")

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=120)
        shutil.rmtree(self.cache, ignore_errors=True)


def corpus_copy(src, dst):
    """`src` copied without symlinks (a docgrid mount refuses them)."""
    shutil.rmtree(dst, ignore_errors=True)
    sh("cp", "-r", src, dst)
    sh("find", dst, "-type", "l", "-delete")
    files = sum(1 for p in dst.rglob("*") if p.is_file())
    size = sum(p.stat().st_size for p in dst.rglob("*") if p.is_file())
    return files, size


def bench_cp(rows, mount, out, corpus):
    src = out / "fuse-corpus"
    files, size = corpus_copy(corpus, src)
    local = [timed(lambda: (shutil.rmtree(out / "fuse-local", ignore_errors=True), sh("cp", "-r", src, out / "fuse-local")))
             for _ in range(3)]
    ours = timed(lambda: sh("cp", "-r", src, mount.mp / "files" / "doc"))
    sh("diff", "-rq", src, mount.mp / "files" / "doc", stdout=subprocess.DEVNULL)
    c = statistics.median(local)
    rows.append((f"cp -r of {corpus} into /files/ ({files:,} files, {size / 1e6:.0f} MB)",
                 f"{files / ours:,.0f} files/s, {size / ours / 1e6:.1f} MB/s", "cp -r to a local dir",
                 f"{files / c:,.0f} files/s, {size / c / 1e6:.1f} MB/s", c / ours, "≥ 0.3×"))
    shutil.rmtree(out / "fuse-local", ignore_errors=True)
    shutil.rmtree(src, ignore_errors=True)


def read_all(path):
    sh("dd", f"if={path}", "of=/dev/null", "bs=1M", stderr=subprocess.DEVNULL)


def bench_read(rows, ctx, out, mib):
    big = out / f"fuse-{mib}mib.bin"
    if not big.exists() or big.stat().st_size != mib << 20:
        with open(big, "wb") as f:
            for _ in range(mib):
                f.write(os.urandom(1 << 20))
    sh(ctx["docgrid"], "import", big, env=ctx["env"], stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    name = big.name
    size = mib << 20
    cold, warm, curl, local = [], [], [], []
    for _ in range(3):
        m = ctx["mount"]("fuse-read")
        try:
            path = m.mp / "files" / name
            drop_caches()
            cold.append(timed(lambda: read_all(path)))
            drop_caches()
            warm.append(timed(lambda: read_all(path)))
        finally:
            m.close()
        doc_id = subprocess.run([ctx["docgrid"], "info", f"/files/{name}", "--json"], env=ctx["env"], check=True,
                                stdout=subprocess.PIPE, text=True).stdout
        doc_id = __import__("json").loads(doc_id)["id"]
        curl.append(timed(lambda: sh("curl", "-sf", "-o", "/dev/null", "-H", f"Authorization: Bearer {ctx['token']}",
                                     f"{ctx['url']}/v1/docs/{doc_id}/content")))
        drop_caches()
        local.append(timed(lambda: read_all(big)))
    md = statistics.median
    mb = lambda t: f"{size / t / 1e6:.0f} MB/s"
    rows.append((f"sequential read of {mib} MiB through the mount, cold", mb(md(cold)), "curl /v1/docs/ID/content",
                 mb(md(curl)), md(curl) / md(cold), "≥ 0.8×"))
    rows.append((f"sequential read of {mib} MiB through the mount, warm chunk cache", mb(md(warm)),
                 "local file (page cache dropped)", mb(md(local)), md(local) / md(warm), "≥ 0.5×"))


def bench_ls(rows, ctx, out):
    sh(ctx["bench"], "populate", "--url", ctx["url"], "--token", ctx["token"], "--docs", "10000", "--tags", "1",
       "--prefix", "ls", stdout=subprocess.DEVNULL)
    local = out / "fuse-ls-local"
    shutil.rmtree(local, ignore_errors=True)
    local.mkdir()
    for i in range(10_000):
        (local / f"ls-{i}.txt").touch()
    m = ctx["mount"]("fuse-ls")
    try:
        d = m.mp / "tags" / "ls0"
        ls = lambda p: sh("ls", "-l", p, stdout=subprocess.DEVNULL)
        cold = timed(lambda: ls(d))
        ours = statistics.median([timed(lambda: ls(d)) for _ in range(5)])
        peer = statistics.median([timed(lambda: ls(local)) for _ in range(5)])
    finally:
        m.close()
    rows.append((f"ls -l of a 10,000-entry directory, warm (cold {cold:.2f} s)", f"{ours:.3f} s", "ls -l local",
                 f"{peer:.3f} s", peer / ours, "≤ 0.3 s warm"))
    shutil.rmtree(local, ignore_errors=True)


def local_tag_tree(root, docs, tags):
    """A local tree shaped as /tags/ is for `populate --tags T --per-doc 2`."""
    shutil.rmtree(root, ignore_errors=True)
    for i in range(docs):
        a = i % tags
        b = (i + 1 + i // tags) % tags
        name = f"g-{i}.txt"
        pairs = [(f"g{a}",), (f"g{b}",), (f"g{a}", f"g{b}"), (f"g{b}", f"g{a}")] if a != b else [(f"g{a}",)]
        for p in pairs:
            d = root.joinpath(*p)
            d.mkdir(parents=True, exist_ok=True)
            (d / name).touch()


def bench_find(rows, ctx, out, docs=100_000, tags=20):
    sh(ctx["bench"], "populate", "--url", ctx["url"], "--token", ctx["token"], "--docs", str(docs), "--tags",
       str(tags), "--per-doc", "2", "--prefix", "g", stdout=subprocess.DEVNULL)
    local = out / "fuse-find-local"
    local_tag_tree(local, docs, tags)
    m = ctx["mount"]("fuse-find")
    try:
        count = lambda p: len(subprocess.run(["find", p, "-path", f"{p}/g*"], check=True, stdout=subprocess.PIPE,
                                             stderr=subprocess.PIPE).stdout.splitlines())
        t0 = time.perf_counter()
        n_ours = count(str(m.mp / "tags"))
        ours = time.perf_counter() - t0
    finally:
        m.close()
    drop_caches()
    t0 = time.perf_counter()
    n_peer = count(str(local))
    peer = time.perf_counter() - t0
    rows.append((f"find over /tags/ of {docs:,} docs, 2 of {tags} tags each ({n_ours:,} entries, cold)",
                 f"{ours:.1f} s ({n_ours / ours:,.0f} entries/s)", "find over the same tree on local disk, cold",
                 f"{peer:.1f} s ({n_peer:,} entries)", peer / ours, "report; TMSU: 17.5 s for 420k"))
    shutil.rmtree(local, ignore_errors=True)


def bench(rows, out, target, start_server):
    corpus = Path(os.environ.get("DOCGRID_BENCH_CORPUS", "/usr/share/doc"))
    mib = int(os.environ.get("DOCGRID_BENCH_FUSE_MIB", "1024"))
    data = out / "fuse-server"
    shutil.rmtree(data, ignore_errors=True)
    proc, url, token = start_server(data)
    binary = target / "release" / "docgrid-fuse"
    ctx = {"url": url, "token": token, "docgrid": target / "release" / "docgrid", "bench": target / "release" / "docgrid-bench",
           "env": {**os.environ, "DOCGRID_URL": url, "DOCGRID_TOKEN": token, "DOCGRID_CONFIG": str(out / "none.toml"),
                   "DOCGRID_CACHE": str(out / "fuse-cli-cache")},
           "mount": lambda name: Mount(binary, out, name, url, token)}
    try:
        m = ctx["mount"]("fuse-cp")
        try:
            bench_cp(rows, m, out, corpus)
        finally:
            m.close()
        bench_read(rows, ctx, out, mib)
        bench_ls(rows, ctx, out)
        bench_find(rows, ctx, out)
    finally:
        proc.terminate()
        proc.wait()
        for d in ("fuse-server", "fuse-cli-cache"):
            shutil.rmtree(out / d, ignore_errors=True)
