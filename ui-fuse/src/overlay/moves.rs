//! The store's side of renames and deletes made through the overlay: a
//! file moved or deleted in the mount moves or goes in the store too, so
//! the two layers never disagree about where a document is.

use docgrid_client::{ClientError, ErrorKind};
use docgrid_core::model::Op;
use docgrid_core::tree as rules;

use super::migrate::{MigrateError, Migrator};

impl Migrator {
    /// Renaming `from` to `to` (relative paths): every document migrated
    /// at or below `from` moves to its new place, and what `to` held that
    /// the rename replaces is deleted, in one commit.
    pub fn store_rename(&self, from: &str, to: &str) -> Result<(), MigrateError> {
        let mut ops = self.deletes(to)?;
        ops.extend(self.moves(from, from, to)?);
        if !ops.is_empty() {
            self.tree()
                .commit(&format!("overlay: move {from} to {to}"), ops)?;
        }
        Ok(())
    }

    /// Undoes [`Migrator::store_rename`]`(from, to)` when the files could
    /// not follow (the journal still has them at `from`): their documents
    /// move back. What the rename replaced at `to` stays deleted.
    pub fn store_unrename(&self, from: &str, to: &str) -> Result<(), MigrateError> {
        let ops = self.moves(from, to, from)?;
        if !ops.is_empty() {
            self.tree()
                .commit(&format!("overlay: move {to} back to {from}"), ops)?;
        }
        Ok(())
    }

    /// The ops moving the documents the journal has at or below
    /// `recorded` from below `from` to below `to`.
    fn moves(&self, recorded: &str, from: &str, to: &str) -> Result<Vec<Op>, MigrateError> {
        let mut ops = Vec::new();
        for r in self.journal().under(recorded)? {
            let Some(id) = r.doc else { continue };
            let Some(doc) = self.current(&id)? else {
                continue;
            };
            let below = &r.path[recorded.len()..];
            let (from_dir, _) = self.place(&format!("{from}{below}"));
            let (to_dir, new_name) = self.place(&format!("{to}{below}"));
            let edit =
                rules::plan_rename(&from_dir, &to_dir, &new_name).map_err(ClientError::from)?;
            ops.extend(rules::edit_ops(id, doc.rev, &doc.name, &doc.meta, &edit));
        }
        Ok(ops)
    }

    /// Deleting `rel`: its document (if it was migrated) is deleted.
    pub fn store_remove(&self, rel: &str) -> Result<(), MigrateError> {
        let ops = self.deletes(rel)?;
        if !ops.is_empty() {
            self.tree().commit(&format!("overlay: delete {rel}"), ops)?;
        }
        Ok(())
    }

    /// Deletes of the documents migrated at or below `rel`.
    fn deletes(&self, rel: &str) -> Result<Vec<Op>, MigrateError> {
        let mut ops = Vec::new();
        for r in self.journal().under(rel)? {
            let Some(id) = r.doc else { continue };
            if let Some(doc) = self.current(&id)? {
                ops.push(Op::Delete { id, base: doc.rev });
            }
        }
        Ok(ops)
    }

    /// The document `id` as it is now, `None` when it was deleted (by
    /// someone else: nothing left to move or delete).
    fn current(
        &self,
        id: &docgrid_core::DocId,
    ) -> Result<Option<std::sync::Arc<docgrid_core::api::DocInfo>>, MigrateError> {
        match self.tree().doc(id) {
            Ok(d) => Ok(Some(d)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}
