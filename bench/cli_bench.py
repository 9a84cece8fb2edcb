"""`bench/run cli`: the docgrid CLI beside svn 1.14 on a file:// repository,
in the same run, on the same 10,000 small files (20 directories of 500):
import, checkout, status (clean and 10 changed), commit of 10 files, a
no-op update, an update bringing 10 changes, log -l 50. Every figure is a
median of 3 (status, update, log: 5) wall-clock runs of the real binaries;
the docgrid server is the release build on loopback.
"""
import shutil
import statistics
import subprocess
import time
from pathlib import Path

FILES = 10_000


def clock(args, cwd=None, env=None):
    start = time.perf_counter()
    subprocess.run(args, check=True, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def make_tree(root):
    for i in range(FILES):
        d = root / f"d{i % 20:02}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i:05}.txt").write_text(f"file {i}\n" * 4)


def edit(wc, round_, n=10):
    for i in range(n):
        p = wc / f"d{i:02}" / f"f{i:05}.txt"
        p.write_text(p.read_text() + f"round {round_}\n")


class Tool:
    """How one tool spells each step."""

    def __init__(self, name, exe, env, url, extra=()):
        self.name, self.exe, self.env, self.url, self.extra = name, exe, env, url, list(extra)

    def run(self, *args, cwd=None):
        return clock([self.exe, *args, *self.extra], cwd=cwd, env=self.env)


def measure(tool, tree, out):
    """Every step for one tool; seconds by step name."""
    t = {}
    imp = [tool.run("import", tree, *tool.import_args) for _ in range(1)]
    t["import"] = imp[0]
    co = []
    for k in range(3):
        shutil.rmtree(out / f"co{k}", ignore_errors=True)
        co.append(tool.run("checkout", tool.url, out / f"co{k}"))
    t["checkout"] = statistics.median(co)
    a, b = out / "co0", out / "co1"
    t["status clean"] = statistics.median(tool.run("status", cwd=a) for _ in range(5))
    edit(a, 0)
    t["status 10 changed"] = statistics.median(tool.run("status", cwd=a) for _ in range(5))
    commits, updates, noops = [], [], []
    for r in range(3):
        if r:
            edit(a, r)
        commits.append(tool.run("commit", "-m", f"round {r}", cwd=a))
        updates.append(tool.run("update", cwd=b))
        noops.append(tool.run("update", cwd=b))
    t["commit 10 files"] = statistics.median(commits)
    t["update bringing 10 changes"] = statistics.median(updates)
    t["no-op update"] = statistics.median(noops + [tool.run("update", cwd=b) for _ in range(2)])
    for r in range(50):
        p = a / "d00" / "f00000.txt"
        p.write_text(p.read_text() + f"log {r}\n")
        tool.run("commit", "-m", f"log entry {r}", cwd=a)
    t["log -l 50"] = statistics.median(tool.run("log", "-l", "50", cwd=a) for _ in range(5))
    return t


def bench(rows, out, docgrid, env):
    """Appends one row per step: docgrid's time, svn's, svn/docgrid."""
    out = Path(out)
    shutil.rmtree(out, ignore_errors=True)
    tree = out / "src" / "wc10k"
    make_tree(tree)
    repo = out / "svnrepo"
    subprocess.run(["svnadmin", "create", repo], check=True)
    svn_env = {**env, "LC_ALL": "C.UTF-8"}
    svn = Tool("svn", "svn", svn_env, f"file://{repo}/wc10k", ["--config-dir", str(out / "svncfg"), "-q"])
    svn.import_args = [svn.url, "-m", "import"]
    dg = Tool("docgrid", docgrid, env, "/files/wc10k")
    dg.import_args = ["-q"]
    (out / "svn").mkdir()
    (out / "dg").mkdir()
    theirs = measure(svn, tree, out / "svn")
    ours = measure(dg, tree, out / "dg")
    for step in ours:
        target = "≤ 2× svn's time" if step == "import" else "≤ 1.5× svn's time"
        rows.append((f"CLI {step}, {FILES:,} small files", f"{ours[step] * 1e3:.0f} ms", "svn 1.14, file://",
                     f"{theirs[step] * 1e3:.0f} ms", theirs[step] / ours[step], target))
    shutil.rmtree(out, ignore_errors=True)
