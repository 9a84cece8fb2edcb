//! Fills a running server with metadata-only documents for the mount's
//! benchmarks: DOCS documents, each tagged with PER_DOC of TAGS tags
//! (`PREFIX0`…), committed 10,000 at a time.

use anyhow::Result;
use docgrid_core::{Digest, DocId};
use serde_json::{Value, json};

/// What to make.
#[derive(clap::Args)]
pub struct Spec {
    #[arg(long)]
    pub url: String,
    #[arg(long)]
    pub token: String,
    #[arg(long, default_value_t = 10_000)]
    pub docs: u64,
    #[arg(long, default_value_t = 1)]
    pub tags: u64,
    #[arg(long, default_value_t = 1)]
    pub per_doc: u64,
    #[arg(long, default_value = "t")]
    pub prefix: String,
}

/// The tags of document `i`: `per_doc` distinct ones of `tags`.
fn tags_of(spec: &Spec, i: u64) -> Vec<String> {
    let n = spec.per_doc.min(spec.tags).max(1);
    (0..n)
        .map(|k| {
            format!(
                "{}{}",
                spec.prefix,
                (i + k * (1 + i / spec.tags)) % spec.tags
            )
        })
        .fold(Vec::new(), |mut v, t| {
            if !v.contains(&t) {
                v.push(t);
            }
            v
        })
}

fn op(spec: &Spec, i: u64) -> Value {
    json!({"op": "create", "id": DocId::random(), "name": format!("{}-{i}.txt", spec.prefix),
        "meta": {"tag": tags_of(spec, i)},
        "content": {"version": 1, "size": 0, "hash": Digest::of(b""), "chunks": []}})
}

/// Commits the documents; prints how many were made.
pub fn run(spec: &Spec) -> Result<()> {
    let server = crate::server::Bench::connect(&spec.url, &spec.token)?;
    let mut i = 0;
    while i < spec.docs {
        let end = (i + 10_000).min(spec.docs);
        server.commit((i..end).map(|j| op(spec, j)).collect())?;
        i = end;
    }
    println!("{}", json!({"bench": "populate", "docs": spec.docs}));
    Ok(())
}
