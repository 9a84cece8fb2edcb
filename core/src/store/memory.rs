//! The in-memory store.

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};

use super::{BlobStore, DeleteGuarantee, Locator, MAX_ROOT_LEN, RootSwap, StoreError};
use crate::chunk::Digest;

/// A [`BlobStore`] in memory: content-addressed (`b3:` locators), nothing
/// survives the process. For tests, examples and caches.
#[derive(Debug, Default)]
pub struct MemoryStore {
    blobs: RwLock<HashMap<Digest, Vec<u8>>>,
    root: Mutex<Option<Vec<u8>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl BlobStore for MemoryStore {
    fn kind(&self) -> &'static str {
        "memory"
    }

    fn put(&self, data: &[u8]) -> Result<Locator, StoreError> {
        let digest = Digest::of(data);
        self.blobs
            .write()
            .expect("poisoned")
            .entry(digest)
            .or_insert_with(|| data.to_vec());
        Ok(Locator::for_digest(&digest))
    }

    fn get(&self, locator: &Locator) -> Result<Vec<u8>, StoreError> {
        let digest = locator.digest()?;
        self.blobs
            .read()
            .expect("poisoned")
            .get(&digest)
            .cloned()
            .ok_or_else(|| StoreError::NotFound {
                locator: locator.clone(),
            })
    }

    fn has(&self, locator: &Locator) -> Result<bool, StoreError> {
        Ok(self
            .blobs
            .read()
            .expect("poisoned")
            .contains_key(&locator.digest()?))
    }

    fn delete(&self, locator: &Locator) -> Result<(), StoreError> {
        self.blobs
            .write()
            .expect("poisoned")
            .remove(&locator.digest()?);
        Ok(())
    }

    fn delete_guarantee(&self) -> DeleteGuarantee {
        DeleteGuarantee::Frees
    }

    fn list(&self) -> Result<Vec<Locator>, StoreError> {
        Ok(self
            .blobs
            .read()
            .expect("poisoned")
            .keys()
            .map(Locator::for_digest)
            .collect())
    }

    fn root(&self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.root.lock().expect("poisoned").clone())
    }

    fn swap_root(&self, expected: Option<&[u8]>, new: &[u8]) -> Result<RootSwap, StoreError> {
        if new.len() > MAX_ROOT_LEN {
            return Err(StoreError::Config(format!(
                "root value of {} bytes exceeds {MAX_ROOT_LEN}",
                new.len()
            )));
        }
        let mut root = self.root.lock().expect("poisoned");
        if root.as_deref() != expected {
            return Ok(RootSwap::Conflict {
                current: root.clone(),
            });
        }
        *root = Some(new.to_vec());
        Ok(RootSwap::Swapped)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn conformance() {
        super::super::conformance::blob_store_suite(&super::MemoryStore::new());
    }
}
