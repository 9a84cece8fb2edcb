//! The changeset journal: every committed [`Changeset`] is a blob naming its
//! parent, and the store's root pointer names the newest as a [`Head`]. The
//! journal alone rebuilds every index.
//!
//! A commit is [`Journal::append`]: store the changeset's blob, then move the
//! root with compare-and-swap. A crash before the swap leaves the previous
//! head (the blob is garbage GC removes); after it, the commit is durable.

use serde::{Deserialize, Serialize};

use crate::model::{Changeset, FORMAT_VERSION, FormatError};
use crate::store::{BlobStore, Locator, RootSwap, StoreError};

/// What the root pointer holds: the newest changeset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// Format version ([`FORMAT_VERSION`]).
    pub version: u32,
    /// The newest revision.
    pub rev: u64,
    /// Where its changeset is.
    pub changeset: Locator,
}

impl Head {
    fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a head serializes")
    }

    fn from_bytes(bytes: &[u8]) -> Result<Self, FormatError> {
        crate::model::decode_versioned(bytes, "journal head", |h: &Head| h.version)
    }
}

/// Why a journal operation failed.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored head or changeset cannot be read.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// A changeset of the journal cannot be read from the store.
    #[error("revision {rev} of the journal cannot be read: {source}")]
    Unreadable {
        /// The revision.
        rev: u64,
        /// Why.
        #[source]
        source: Box<StoreError>,
    },
    /// Another writer moved the head since it was read.
    #[error("the journal moved on: expected head revision {expected}, found {found}")]
    Moved {
        /// The revision the appender started from (0: empty journal).
        expected: u64,
        /// The revision now at the head.
        found: u64,
    },
    /// The head is older than what the reader already applied: the store
    /// handed back an old root (a grid that lost the newest version) or a
    /// second writer rewound it.
    #[error(
        "the store's journal head is revision {head} but revision {applied} was already applied: \
         the root went backwards (an old root version served, or a second writer). Nothing \
         was applied; bring the store's servers back, or reindex if the store is right"
    )]
    Backwards {
        /// The head found (0: no root).
        head: u64,
        /// What the reader had applied.
        applied: u64,
    },
    /// The chain of changesets is inconsistent.
    #[error("journal broken at revision {rev}: {why}")]
    Broken {
        /// Where.
        rev: u64,
        /// What is wrong.
        why: String,
    },
}

/// What [`Journal::since`] found.
#[derive(Debug)]
pub struct Since {
    /// The head read (`None`: empty journal).
    pub head: Option<Head>,
    /// The changesets after the revision asked for, oldest first, each with
    /// its blob's locator.
    pub changesets: Vec<(Locator, Changeset)>,
}

/// The journal over a store.
pub struct Journal<'a> {
    store: &'a dyn BlobStore,
}

impl<'a> Journal<'a> {
    /// The journal kept in `store`.
    pub fn new(store: &'a dyn BlobStore) -> Self {
        Journal { store }
    }

    /// The newest changeset's head, `None` for an empty journal.
    pub fn head(&self) -> Result<Option<Head>, JournalError> {
        match self.store.root()? {
            None => Ok(None),
            Some(bytes) => Ok(Some(Head::from_bytes(&bytes)?)),
        }
    }

    /// Appends `cs` after `expected` (the head the caller read, `None` for
    /// the first commit): sets its `rev` and `parent`, stores it, and moves
    /// the root. Fails with [`JournalError::Moved`] if the head changed.
    pub fn append(
        &self,
        expected: Option<&Head>,
        cs: &mut Changeset,
    ) -> Result<Head, JournalError> {
        cs.version = FORMAT_VERSION;
        cs.rev = expected.map_or(1, |h| h.rev + 1);
        cs.parent = expected.map(|h| h.changeset.clone());
        let changeset = self.store.put(&cs.to_bytes())?;
        let head = Head {
            version: FORMAT_VERSION,
            rev: cs.rev,
            changeset,
        };
        let old = expected.map(Head::to_bytes);
        match self.store.swap_root(old.as_deref(), &head.to_bytes())? {
            RootSwap::Swapped => Ok(head),
            RootSwap::Conflict { current } => {
                let found = match current {
                    Some(b) => Head::from_bytes(&b)?.rev,
                    None => 0,
                };
                Err(JournalError::Moved {
                    expected: expected.map_or(0, |h| h.rev),
                    found,
                })
            }
        }
    }

    /// The changeset stored at `locator`.
    pub fn load(&self, locator: &Locator) -> Result<Changeset, JournalError> {
        Ok(Changeset::from_bytes(&self.store.get(locator)?)?)
    }

    /// The head, and the changesets after revision `after` up to it,
    /// oldest first, each with the locator of its blob. `after = 0` gives
    /// the whole journal.
    /// A head older than `after` is [`JournalError::Backwards`].
    pub fn since(&self, after: u64) -> Result<Since, JournalError> {
        let Some(head) = self.head()? else {
            if after > 0 {
                return Err(JournalError::Backwards {
                    head: 0,
                    applied: after,
                });
            }
            return Ok(Since {
                head: None,
                changesets: Vec::new(),
            });
        };
        if head.rev < after {
            return Err(JournalError::Backwards {
                head: head.rev,
                applied: after,
            });
        }
        let mut out = Vec::new();
        let mut next = Some((head.rev, head.changeset.clone()));
        while let Some((rev, loc)) = next {
            if rev <= after {
                break;
            }
            let cs = self.load(&loc).map_err(|e| match e {
                JournalError::Store(source) => JournalError::Unreadable {
                    rev,
                    source: Box::new(source),
                },
                other => other,
            })?;
            if cs.rev != rev {
                return Err(JournalError::Broken {
                    rev,
                    why: format!("blob {loc} holds revision {}", cs.rev),
                });
            }
            next = match (&cs.parent, rev) {
                (Some(p), r) if r > 1 => Some((r - 1, p.clone())),
                (None, 1) => None,
                _ => {
                    return Err(JournalError::Broken {
                        rev,
                        why: "parent link does not match the revision".into(),
                    });
                }
            };
            out.push((loc, cs));
        }
        out.reverse();
        Ok(Since {
            head: Some(head),
            changesets: out,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    fn cs(msg: &str) -> Changeset {
        Changeset {
            version: FORMAT_VERSION,
            rev: 0,
            parent: None,
            author: "alice".into(),
            time: "2026-11-22T00:00:00Z".into(),
            message: msg.into(),
            ops: vec![],
            extracted: false,
        }
    }

    #[test]
    fn append_chains_and_walks_back() {
        let store = MemoryStore::new();
        let j = Journal::new(&store);
        assert!(j.head().unwrap().is_none());
        let h1 = j.append(None, &mut cs("one")).unwrap();
        let h2 = j.append(Some(&h1), &mut cs("two")).unwrap();
        let h3 = j.append(Some(&h2), &mut cs("three")).unwrap();
        assert_eq!(h3.rev, 3);
        let all: Vec<Changeset> = j
            .since(0)
            .unwrap()
            .changesets
            .into_iter()
            .map(|(_, c)| c)
            .collect();
        assert_eq!(
            all.iter().map(|c| c.message.as_str()).collect::<Vec<_>>(),
            ["one", "two", "three"]
        );
        assert_eq!(all[1].parent.as_ref(), Some(&h1.changeset));
        assert_eq!(j.since(2).unwrap().changesets.len(), 1);
        assert!(j.since(3).unwrap().changesets.is_empty());
        assert_eq!(j.since(1).unwrap().changesets[0].0, h2.changeset);
        assert_eq!(j.since(3).unwrap().head, Some(h3));
    }

    #[test]
    fn a_stale_head_is_refused_and_changes_nothing() {
        let store = MemoryStore::new();
        let j = Journal::new(&store);
        let h1 = j.append(None, &mut cs("one")).unwrap();
        j.append(Some(&h1), &mut cs("two")).unwrap();
        match j.append(Some(&h1), &mut cs("late")) {
            Err(JournalError::Moved {
                expected: 1,
                found: 2,
            }) => {}
            other => panic!("expected Moved, got {other:?}"),
        }
        assert!(matches!(
            j.append(None, &mut cs("first?")),
            Err(JournalError::Moved {
                expected: 0,
                found: 2
            })
        ));
        assert_eq!(j.since(0).unwrap().changesets.len(), 2);
    }

    #[test]
    fn a_head_older_than_what_was_applied_is_refused() {
        let store = MemoryStore::new();
        let j = Journal::new(&store);
        assert!(matches!(
            j.since(3),
            Err(JournalError::Backwards {
                head: 0,
                applied: 3
            })
        ));
        j.append(None, &mut cs("one")).unwrap();
        assert!(j.since(1).unwrap().changesets.is_empty());
        let err = j.since(2).unwrap_err();
        assert!(
            matches!(
                err,
                JournalError::Backwards {
                    head: 1,
                    applied: 2
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("went backwards"));
    }
}
