//! Scrub and repair of the backend, garbage collection, reindex.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use docgrid_backend_tahoe::{ShareCheck, TahoeStore};
use docgrid_core::api::{DocShares, GcReport, ScrubSummary};
use docgrid_core::model::Manifest;
use docgrid_core::store::Locator;
use docgrid_core::store::native::ScrubOptions;

use crate::app::App;
use crate::error::ApiError;

/// Scrubs the backend, repairing if asked. Native: every shard of every
/// chunk. Tahoe: every blob the journal references, renewing its lease.
pub fn scrub(app: &App, repair: bool) -> Result<ScrubSummary, ApiError> {
    if let Some(tahoe) = &app.tahoe() {
        return scrub_tahoe(app, tahoe, repair);
    }
    let Some(native) = &app.native() else {
        return Err(ApiError::bad_request(format!(
            "scrub is not available for the {} backend",
            app.store().kind()
        )));
    };
    let opts = ScrubOptions {
        repair,
        ..ScrubOptions::default()
    };
    let r = native.scrub(&opts)?;
    let problems = (r.missing.len() + r.corrupt.len()) as u64;
    app.note_scrub(if repair {
        problems.saturating_sub(r.repaired)
    } else {
        problems
    });
    Ok(ScrubSummary {
        repair,
        chunks: r.chunks,
        missing: r.missing.len() as u64,
        corrupt: r.corrupt.len() as u64,
        repaired: r.repaired,
        unrecoverable: r.unrecoverable.clone(),
        offline_disks: r.offline_disks.clone(),
        clean: r.is_clean(),
        leases_renewed: 0,
        documents: Vec::new(),
    })
}

/// Checks in flight at once on a Tahoe scrub.
const TAHOE_CHECKS_IN_FLIGHT: usize = 4;

/// A live document and the locators of its chunks.
type DocBlobs = (String, String, Vec<String>);

/// Tahoe scrub: `t=check&add-lease=true` (and `repair=true`) on the root,
/// every changeset and every chunk of every kept revision, reported per
/// document. What the journal no longer references (released by GC) is not
/// renewed, so a grid with lease expiry reclaims it. A follower never
/// repairs the root (that would republish it).
fn scrub_tahoe(app: &App, tahoe: &TahoeStore, repair: bool) -> Result<ScrubSummary, ApiError> {
    let (docs, blobs) = tahoe_blobs(app)?;
    let offline: Vec<String> = tahoe
        .servers()
        .map(|s| {
            s.iter()
                .filter(|s| !s.connected())
                .map(|s| s.name())
                .collect()
        })
        .unwrap_or_default();
    let mut summary = ScrubSummary {
        repair,
        chunks: blobs.len() as u64,
        missing: 0,
        corrupt: 0,
        repaired: 0,
        unrecoverable: Vec::new(),
        offline_disks: offline,
        clean: true,
        leases_renewed: 0,
        documents: Vec::new(),
    };
    // A failing root check must not stop the chunks' lease renewal.
    match tahoe.check_root(true, repair && !app.is_follower()) {
        Ok(root) => {
            count_check(&mut summary, &root);
            if !root.recoverable {
                summary.unrecoverable.push(format!(
                    "the root pointer: {} of the {} shares needed",
                    root.good_after, root.needed
                ));
            }
        }
        Err(e) => {
            summary.clean = false;
            summary
                .unrecoverable
                .push(format!("the root pointer: could not check: {e}"));
        }
    }
    // One check per Tahoe file: a pack holds many chunks.
    let cap_of: Vec<Result<String, String>> = blobs
        .iter()
        .map(|l| TahoeStore::blob_cap(&Locator::new(l.clone())).map_err(|e| e.to_string()))
        .collect();
    let mut caps: Vec<String> = cap_of.iter().flatten().cloned().collect();
    caps.sort();
    caps.dedup();
    let checks = crate::parallel_map(&caps, TAHOE_CHECKS_IN_FLIGHT, |cap| {
        tahoe
            .check(&Locator::new(cap.clone()), true, repair)
            .map_err(|e| e.to_string())
    });
    let by_cap: HashMap<String, Result<ShareCheck, String>> =
        caps.into_iter().zip(checks).collect();
    for r in by_cap.values() {
        match r {
            Ok(c) => count_check(&mut summary, c),
            Err(_) => summary.clean = false,
        }
    }
    let results: HashMap<String, Result<ShareCheck, String>> = blobs
        .iter()
        .zip(cap_of)
        .map(|(l, cap)| (l.clone(), cap.and_then(|c| by_cap[&c].clone())))
        .collect();
    report_documents(&mut summary, &docs, &results);
    let left = summary.unrecoverable.len() as u64
        + summary
            .documents
            .iter()
            .filter(|d| d.shares_after < d.total)
            .count() as u64;
    app.note_scrub(if repair { left } else { summary.missing });
    Ok(summary)
}

/// The live documents with their chunks, and every locator the index
/// references (live chunks, older revisions' chunks, changesets), sorted.
fn tahoe_blobs(app: &App) -> Result<(Vec<DocBlobs>, Vec<String>), ApiError> {
    let (docs, mut blobs) = app.index().read(|c| {
        let mut docs: Vec<DocBlobs> = Vec::new();
        let mut blobs: Vec<String> = Vec::new();
        let mut stmt = c.prepare("SELECT id, name, manifest FROM docs WHERE purged = 0")?;
        for row in stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, String>(2)?)))? {
            let (id, name, m): (String, String, String) = row?;
            let locs = serde_json::from_str::<Manifest>(&m)
                .map(|m| m.chunks.iter().map(|ch| ch.locator.to_string()).collect())
                .unwrap_or_default();
            docs.push((id, name, locs));
        }
        let mut stmt = c.prepare("SELECT manifest FROM history")?;
        for m in stmt.query_map([], |r| r.get::<_, String>(0))? {
            if let Ok(m) = serde_json::from_str::<Manifest>(&m?) {
                blobs.extend(m.chunks.iter().map(|ch| ch.locator.to_string()));
            }
        }
        let mut stmt = c.prepare("SELECT locator FROM changesets")?;
        for l in stmt.query_map([], |r| r.get::<_, String>(0))? {
            blobs.push(l?);
        }
        Ok((docs, blobs))
    })?;
    blobs.extend(docs.iter().flat_map(|(_, _, l)| l.iter().cloned()));
    blobs.sort();
    blobs.dedup();
    Ok((docs, blobs))
}

/// Adds one blob's check to the totals (literal caps have no shares).
fn count_check(summary: &mut ScrubSummary, c: &ShareCheck) {
    if c.literal {
        return;
    }
    if c.good_before > 0 {
        summary.leases_renewed += 1;
    }
    summary.missing += u64::from(c.total.saturating_sub(c.good_before));
    if c.good_after > c.good_before {
        summary.repaired += 1;
    }
    if c.good_before < c.total {
        summary.clean = false;
    }
}

/// Per document, its worst chunk; names what cannot be read or checked,
/// documents first, then changesets and older revisions.
fn report_documents(
    summary: &mut ScrubSummary,
    docs: &[DocBlobs],
    results: &HashMap<String, Result<ShareCheck, String>>,
) {
    for (id, name, locs) in docs {
        if let Some(err) = locs
            .iter()
            .find_map(|l| results.get(l).and_then(|r| r.as_ref().err()))
        {
            summary
                .unrecoverable
                .push(format!("document {id} ({name}): could not check: {err}"));
        }
        let checks: Vec<&ShareCheck> = locs
            .iter()
            .filter_map(|l| results.get(l).and_then(|r| r.as_ref().ok()))
            .filter(|c| !c.literal)
            .collect();
        let Some(worst) = checks.iter().min_by_key(|c| c.good_after) else {
            continue;
        };
        let before = checks.iter().map(|c| c.good_before).min().unwrap_or(0);
        if !worst.recoverable {
            summary.unrecoverable.push(format!(
                "document {id} ({name}): a chunk has {} of the {} shares needed",
                worst.good_after, worst.needed
            ));
        }
        if before < worst.total || worst.good_after < worst.total {
            summary.documents.push(DocShares {
                id: id.clone(),
                name: name.clone(),
                shares_before: before,
                shares_after: worst.good_after,
                needed: worst.needed,
                total: worst.total,
            });
        }
    }
    let in_docs: HashSet<&String> = docs.iter().flat_map(|(_, _, l)| l.iter()).collect();
    let mut others: Vec<String> = results
        .iter()
        .filter(|(loc, _)| !in_docs.contains(loc))
        .filter_map(|(loc, r)| match r {
            Ok(c) if !c.recoverable => Some(format!(
                "blob {} (a changeset or an older revision): {} of the {} shares needed",
                docgrid_backend_tahoe::short_cap(loc),
                c.good_after,
                c.needed
            )),
            Ok(_) => None,
            Err(e) => Some(format!(
                "blob {} (a changeset or an older revision): could not check: {e}",
                docgrid_backend_tahoe::short_cap(loc)
            )),
        })
        .collect();
    others.sort();
    summary.unrecoverable.extend(others);
}

/// Deletes chunks that no kept revision references and that were uploaded
/// more than `grace` ago (younger ones may belong to a commit in progress).
pub fn gc(app: &App, grace: Duration) -> Result<GcReport, ApiError> {
    let _serial = app.writer();
    // The index may be behind the journal while the store is degraded: what
    // looks unreferenced may not be.
    if let Some(why) = app.degraded() {
        return Err(ApiError::unavailable(format!(
            "not collecting garbage while the store is degraded: {why}"
        )));
    }
    let (referenced, candidates) = app.index().read(|c| {
        let mut referenced: HashSet<String> = HashSet::new();
        for sql in ["SELECT manifest FROM docs", "SELECT manifest FROM history"] {
            let mut stmt = c.prepare(sql)?;
            for m in stmt.query_map([], |r| r.get::<_, String>(0))? {
                if let Ok(m) = serde_json::from_str::<Manifest>(&m?) {
                    referenced.extend(m.chunks.iter().map(|ch| ch.hash.to_hex()));
                }
            }
        }
        let cutoff = crate::unix_now().saturating_sub(grace.as_secs()) as i64;
        let mut stmt = c.prepare("SELECT hash, locator, len FROM chunks WHERE added <= ?1")?;
        let candidates: Vec<(String, String, u64)> = stmt
            .query_map([cutoff], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        Ok((referenced, candidates))
    })?;
    let blobs = app.store().list()?.len() as u64;
    let packs_before = app.tahoe().map(|t| t.pack_usage());
    let mut report = GcReport {
        blobs,
        deleted: 0,
        bytes_freed: 0,
        packs_released: 0,
        bytes_released: 0,
        bytes_held: 0,
    };
    for (hash, loc, len) in candidates
        .into_iter()
        .filter(|(h, _, _)| !referenced.contains(h))
    {
        // Row first: a crash in between leaves an unreferenced blob (the
        // next GC misses it, harmlessly), never a row naming a deleted blob.
        app.index()
            .write(|tx| tx.execute("DELETE FROM chunks WHERE hash = ?1", [&hash]))?;
        app.store().delete(&Locator::new(loc))?;
        report.deleted += 1;
        report.bytes_freed += len;
    }
    if let (Some(before), Some(tahoe)) = (packs_before, app.tahoe()) {
        let after = tahoe.pack_usage();
        report.packs_released = before.packs.saturating_sub(after.packs);
        report.bytes_released = before.pack_bytes.saturating_sub(after.pack_bytes);
        report.bytes_held = after.pack_bytes.saturating_sub(after.live_bytes);
    }
    Ok(report)
}
