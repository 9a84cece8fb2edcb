//! [`AsyncTree`]: the tree layer for async front-ends (the GUI).
//!
//! The tree layer is blocking (reqwest's blocking client, file I/O of the
//! chunk cache). An async caller must neither block its executor's threads
//! nor run a blocking client inside a runtime (reqwest panics there). So
//! each call runs on a small pool of plain threads owned by the facade, and
//! the caller awaits a future that the worker completes. The futures need
//! no particular runtime: they work under iced's, tokio's, or a bare
//! `block_on`.

use std::future::Future;
use std::pin::Pin;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use docgrid_core::DocId;
use docgrid_core::api::{ContentManifest, DocInfo};

use super::{Changed, Content, Listing, Node, Tree};
use crate::error::ClientError;

type Job = Box<dyn FnOnce() + Send>;

/// A [`Tree`] whose calls are futures, run on worker threads.
#[derive(Clone)]
pub struct AsyncTree {
    tree: Tree,
    jobs: Arc<Mutex<Sender<Job>>>,
}

impl AsyncTree {
    /// `tree` served by `workers` threads (at least one; a few keep a
    /// column listing from waiting behind a long download).
    pub fn new(tree: Tree, workers: usize) -> AsyncTree {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for n in 0..workers.max(1) {
            let rx: Arc<Mutex<Receiver<Job>>> = rx.clone();
            std::thread::Builder::new()
                .name(format!("docgrid-tree-{n}"))
                .spawn(move || {
                    loop {
                        let job = rx.lock().expect("poisoned").recv();
                        match job {
                            Ok(job) => job(),
                            Err(_) => break,
                        }
                    }
                })
                .expect("spawning a tree worker");
        }
        AsyncTree {
            tree,
            jobs: Arc::new(Mutex::new(tx)),
        }
    }

    /// The blocking tree underneath (for calls from a thread of one's own).
    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    /// Runs `f` on a worker; the future resolves to its result. A panic in
    /// `f` is [`ClientError::Internal`], not a hung future.
    pub fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Tree) -> Result<R, ClientError> + Send + 'static,
    ) -> TreeFuture<R> {
        let (future, done) = TreeFuture::pending();
        let tree = self.tree.clone();
        let job: Job = Box::new(move || {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&tree)))
                .unwrap_or_else(|p| Err(ClientError::Internal(panic_message(&p))));
            complete(&done, r);
        });
        if let Err(back) = self.jobs.lock().expect("poisoned").send(job) {
            // No worker left (cannot happen while `self` lives): run here.
            (back.0)();
        }
        future
    }

    /// [`Tree::lookup`].
    pub fn lookup(&self, path: &str) -> TreeFuture<Node> {
        let path = path.to_string();
        self.run(move |t| t.lookup(&path))
    }

    /// [`Tree::list`].
    pub fn list(&self, path: &str) -> TreeFuture<Arc<Listing>> {
        let path = path.to_string();
        self.run(move |t| t.list(&path))
    }

    /// [`Tree::doc`].
    pub fn doc(&self, id: DocId) -> TreeFuture<Arc<DocInfo>> {
        self.run(move |t| t.doc(&id))
    }

    /// [`Tree::manifest`].
    pub fn manifest(&self, id: DocId) -> TreeFuture<Arc<ContentManifest>> {
        self.run(move |t| t.manifest(&id))
    }

    /// [`Tree::read_at`].
    pub fn read_at(&self, id: DocId, offset: u64, len: usize) -> TreeFuture<Vec<u8>> {
        self.run(move |t| t.read_at(&id, offset, len))
    }

    /// [`Tree::create`].
    pub fn create(&self, dir: &str, name: &str, content: Content) -> TreeFuture<Node> {
        let (dir, name) = (dir.to_string(), name.to_string());
        self.run(move |t| t.create(&dir, &name, content))
    }

    /// [`Tree::rename`].
    pub fn rename(&self, from: &str, name: &str, to: &str, new_name: &str) -> TreeFuture<Node> {
        let args = [from, name, to, new_name].map(str::to_string);
        self.run(move |t| t.rename(&args[0], &args[1], &args[2], &args[3]))
    }

    /// [`Tree::remove`].
    pub fn remove(&self, dir: &str, name: &str) -> TreeFuture<u64> {
        let (dir, name) = (dir.to_string(), name.to_string());
        self.run(move |t| t.remove(&dir, &name))
    }

    /// [`Tree::edit`].
    pub fn edit(&self, id: DocId, base: u64, edit: docgrid_core::tree::DocEdit) -> TreeFuture<u64> {
        self.run(move |t| t.edit(id, base, &edit))
    }

    /// [`Tree::set_xattr`].
    pub fn set_xattr(&self, node: Node, name: &str, value: Vec<u8>) -> TreeFuture<u64> {
        let name = name.to_string();
        self.run(move |t| t.set_xattr(&node, &name, &value))
    }

    /// The next change of `changes` (a [`Tree::subscribe`] receiver),
    /// waited for on a thread of its own — never a pool worker, so calls
    /// go on meanwhile. Resolves to an error once the tree is gone.
    pub fn next_change(changes: Arc<Mutex<Receiver<Changed>>>) -> TreeFuture<Changed> {
        let (future, done) = TreeFuture::pending();
        std::thread::spawn(move || {
            let got = changes
                .lock()
                .expect("poisoned")
                .recv()
                .map_err(|_| ClientError::Internal("the tree was dropped".into()));
            complete(&done, got);
        });
        future
    }
}

struct Slot<R> {
    value: Option<Result<R, ClientError>>,
    waker: Option<Waker>,
}

/// Where a worker puts the result of a [`TreeFuture`].
type Done<R> = Arc<Mutex<Slot<R>>>;

/// Resolves the future of `done` with `value`, waking its task.
fn complete<R>(done: &Done<R>, value: Result<R, ClientError>) {
    let mut s = done.lock().expect("poisoned");
    s.value = Some(value);
    if let Some(w) = s.waker.take() {
        w.wake();
    }
}

/// The result of an [`AsyncTree`] call, to await (`Send`, `'static`, for
/// any executor).
pub struct TreeFuture<R> {
    slot: Arc<Mutex<Slot<R>>>,
}

impl<R> TreeFuture<R> {
    /// A future not yet resolved, and where to resolve it ([`complete`]).
    fn pending() -> (TreeFuture<R>, Done<R>) {
        let slot: Done<R> = Arc::new(Mutex::new(Slot {
            value: None,
            waker: None,
        }));
        (TreeFuture { slot: slot.clone() }, slot)
    }
}

impl<R> Future for TreeFuture<R> {
    type Output = Result<R, ClientError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut s = self.slot.lock().expect("poisoned");
        match s.value.take() {
            Some(v) => Poll::Ready(v),
            None => {
                s.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    let what = p
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into());
    format!("a tree call panicked: {what}")
}
