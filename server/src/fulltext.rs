//! Full-text index over tantivy.
//!
//! The server evaluates boolean query logic itself over sets of document ids;
//! this module only answers, for one word or one phrase, which documents match
//! (with BM25 scores), and builds plain-text snippets around matches.
//!
//! Text is split by tantivy's simple tokenizer (unicode alphanumeric runs),
//! lower-cased and folded to ASCII, so `Café` matches `cafe`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tantivy::collector::{Collector, DocSetCollector, SegmentCollector};
use tantivy::columnar::StrColumn;
use tantivy::query::{BooleanQuery, Occur, PhraseQuery, Query, TermQuery};
use tantivy::schema::{
    FAST, Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer,
};
use tantivy::{
    DocId, Index, IndexReader, IndexWriter, ReloadPolicy, Score, SegmentOrdinal, SegmentReader,
    TantivyDocument, TantivyError, Term,
};

/// Version of the schema and analysis below; bump it to rebuild old indexes.
mod snippet;
use snippet::snippet_of;

const SCHEMA_VERSION: &str = "docgrid-fulltext 1";
/// File in the index directory that records [`SCHEMA_VERSION`].
const VERSION_FILE: &str = "docgrid-fulltext.version";
/// Name under which the analyzer is registered with tantivy.
const TOKENIZER: &str = "docgrid";
/// Tokens longer than this (in bytes) are dropped (base64 blobs and the like).
const MAX_TOKEN_BYTES: usize = 100;
/// Indexing memory budget shared by the writer threads.
const WRITER_HEAP_BYTES: usize = 64 * 1024 * 1024;
/// At most this much of the body is stored for snippets.
const MAX_STORED_BODY: usize = 1024 * 1024;

/// Errors of the full-text index.
#[derive(Debug, thiserror::Error)]
pub enum FullTextError {
    /// A file-system operation on the index directory failed.
    #[error("full-text index: cannot {what} {}: {source}", path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// Tantivy failed; `op` names the operation.
    #[error("full-text index: {op} failed: {source}")]
    Tantivy {
        /// The operation that failed.
        op: &'static str,
        /// The underlying error.
        source: TantivyError,
    },
    /// The writer lock was poisoned by a panic in another thread.
    #[error("full-text index: writer lock poisoned by an earlier panic")]
    Poisoned,
}

/// Attaches an operation name to tantivy errors.
trait Op<T> {
    fn op(self, op: &'static str) -> Result<T, FullTextError>;
}

impl<T> Op<T> for Result<T, TantivyError> {
    fn op(self, op: &'static str) -> Result<T, FullTextError> {
        self.map_err(|source| FullTextError::Tantivy { op, source })
    }
}

/// Shorthand for I/O errors on a path.
fn io_err(what: &'static str, path: &Path) -> impl FnOnce(io::Error) -> FullTextError {
    let path = path.to_path_buf();
    move |source| FullTextError::Io { what, path, source }
}

/// One document as the full-text index sees it.
#[derive(Debug, Clone, Copy)]
pub struct FtDoc<'a> {
    /// Document id (26-char base32).
    pub id: &'a str,
    /// Document name.
    pub name: &'a str,
    /// Metadata values joined by spaces.
    pub meta: &'a str,
    /// Extracted text; may be empty.
    pub body: &'a str,
}

/// The schema's fields.
#[derive(Debug, Clone, Copy)]
struct Fields {
    id: Field,
    name: Field,
    meta: Field,
    body: Field,
    /// Stored-only copy of the body (capped) for snippets.
    excerpt: Field,
}

impl Fields {
    /// Resolves the fields in `schema`.
    fn of(schema: &Schema) -> Result<Self, FullTextError> {
        let get = |name| schema.get_field(name).op("resolving schema fields");
        Ok(Fields {
            id: get("id")?,
            name: get("name")?,
            meta: get("meta")?,
            body: get("body")?,
            excerpt: get("excerpt")?,
        })
    }
}

/// The full-text index: one writer behind a mutex, a reader reloaded on commit.
pub struct FullText {
    fields: Fields,
    index: Index,
    writer: Mutex<IndexWriter>,
    reader: IndexReader,
    created: bool,
    /// The newest revision written but not yet committed.
    pending: Mutex<Option<u64>>,
}

/// The schema of [`SCHEMA_VERSION`].
fn schema() -> Schema {
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let mut b = Schema::builder();
    b.add_text_field("id", STRING | STORED | FAST);
    b.add_text_field("name", text.clone() | STORED);
    b.add_text_field("meta", text.clone());
    b.add_text_field("body", text);
    b.add_text_field("excerpt", STORED);
    b.build()
}

/// The analyzer: unicode words, lower-cased, folded to ASCII.
fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// Tokens of `text` as (position, term text).
fn tokens(text: &str) -> Vec<(usize, String)> {
    let mut analyzer = analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while let Some(t) = stream.next() {
        out.push((t.position, t.text.clone()));
    }
    out
}

/// The longest prefix of `s` of at most `max` bytes that ends on a char boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl FullText {
    /// Opens the index in `dir`, creating it if absent and recreating it
    /// (empty) if it was written with another schema version or an
    /// incompatible tantivy. The directory belongs to the index.
    pub fn open(dir: &Path) -> Result<Self, FullTextError> {
        fs::create_dir_all(dir).map_err(io_err("create directory", dir))?;
        let version_path = dir.join(VERSION_FILE);
        let version = fs::read_to_string(&version_path).unwrap_or_default();
        let exists = dir.join("meta.json").exists();
        if exists && version.trim() == SCHEMA_VERSION {
            match Index::open_in_dir(dir) {
                Ok(index) => return Self::from_index(index, false),
                Err(TantivyError::IncompatibleIndex(_)) => {}
                Err(e) => return Err(e).op("opening the index"),
            }
        }
        if exists {
            Self::wipe(dir)?;
        }
        let index = Index::create_in_dir(dir, schema()).op("creating the index")?;
        fs::write(&version_path, format!("{SCHEMA_VERSION}\n"))
            .map_err(io_err("write", &version_path))?;
        Self::from_index(index, true)
    }

    /// Creates an empty index held in memory.
    pub fn in_ram() -> Result<Self, FullTextError> {
        Self::from_index(Index::create_in_ram(schema()), true)
    }

    /// Removes the files (not subdirectories) of a stale index in `dir`.
    fn wipe(dir: &Path) -> Result<(), FullTextError> {
        for entry in fs::read_dir(dir).map_err(io_err("list", dir))? {
            let path = entry.map_err(io_err("list", dir))?.path();
            if path.is_file() {
                fs::remove_file(&path).map_err(io_err("remove", &path))?;
            }
        }
        Ok(())
    }

    /// Sets up the analyzer, writer and reader of an opened index.
    fn from_index(index: Index, created: bool) -> Result<Self, FullTextError> {
        index.tokenizers().register(TOKENIZER, analyzer());
        let fields = Fields::of(&index.schema())?;
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(2));
        let writer = index
            .writer_with_num_threads(threads, WRITER_HEAP_BYTES)
            .op("creating the index writer")?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .op("creating the index reader")?;
        Ok(FullText {
            fields,
            index,
            writer: Mutex::new(writer),
            reader,
            created,
            pending: Mutex::new(None),
        })
    }

    /// True when `open`/`in_ram` created a new, empty index: the caller
    /// should then reindex every document.
    pub fn created(&self) -> bool {
        self.created
    }

    /// Runs `f` with the writer locked.
    fn with_writer<T>(
        &self,
        f: impl FnOnce(&mut IndexWriter) -> Result<T, FullTextError>,
    ) -> Result<T, FullTextError> {
        let mut writer = self.writer.lock().map_err(|_| FullTextError::Poisoned)?;
        f(&mut writer)
    }

    /// Adds `doc`, replacing any earlier version with the same id.
    /// Visible to searches after the next [`commit`](Self::commit).
    pub fn upsert(&self, doc: &FtDoc) -> Result<(), FullTextError> {
        let f = self.fields;
        let mut d = TantivyDocument::new();
        d.add_text(f.id, doc.id);
        d.add_text(f.name, doc.name);
        d.add_text(f.meta, doc.meta);
        d.add_text(f.body, doc.body);
        d.add_text(f.excerpt, truncate(doc.body, MAX_STORED_BODY));
        self.with_writer(|w| {
            w.delete_term(Term::from_field_text(f.id, doc.id));
            w.add_document(d).op("adding a document")?;
            Ok(())
        })
    }

    /// Deletes the document `id`, if present, at the next commit.
    pub fn delete(&self, id: &str) -> Result<(), FullTextError> {
        let term = Term::from_field_text(self.fields.id, id);
        self.with_writer(|w| {
            w.delete_term(term);
            Ok(())
        })
    }

    /// Deletes every document added before this call; documents upserted
    /// afterwards survive. Takes effect at the next commit, so a reindex
    /// (`clear`, upserts, `commit`) replaces the index atomically for readers.
    pub fn clear(&self) -> Result<(), FullTextError> {
        self.with_writer(|w| {
            w.delete_query(Box::new(tantivy::query::AllQuery))
                .op("clearing the index")?;
            Ok(())
        })
    }

    /// Commits pending changes and reloads the reader, so that they are
    /// visible to searches when this returns.
    pub fn commit(&self) -> Result<(), FullTextError> {
        self.with_writer(|w| {
            w.commit().op("committing")?;
            self.reader.reload().op("reloading the reader")
        })
    }

    /// Notes that changes up to journal revision `rev` were written; they
    /// become visible (and durable) at the next [`FullText::sync`].
    pub fn mark_pending(&self, rev: u64) {
        *self.pending.lock().unwrap_or_else(|p| p.into_inner()) = Some(rev);
    }

    /// Commits pending changes, recording their revision in the commit's
    /// payload, and reloads the reader. Cheap when nothing is pending.
    pub fn sync(&self) -> Result<(), FullTextError> {
        let mut pending = self.pending.lock().map_err(|_| FullTextError::Poisoned)?;
        let Some(rev) = *pending else { return Ok(()) };
        self.with_writer(|w| {
            let mut prepared = w.prepare_commit().op("preparing a commit")?;
            prepared.set_payload(&rev.to_string());
            prepared.commit().op("committing")?;
            self.reader.reload().op("reloading the reader")
        })?;
        *pending = None;
        Ok(())
    }

    /// The journal revision of the last [`FullText::sync`] (0: none).
    pub fn committed_rev(&self) -> Result<u64, FullTextError> {
        let metas = self.index.load_metas().op("reading the index metadata")?;
        Ok(metas.payload.and_then(|p| p.parse().ok()).unwrap_or(0))
    }

    /// Number of documents visible to searches.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// The query for `tokens` over `fields`: a term when there is one token,
    /// a phrase otherwise; matching in any one of the fields.
    fn query(tokens: &[(usize, String)], fields: &[Field]) -> BooleanQuery {
        let first = tokens.first().map_or(0, |t| t.0);
        let clauses = fields.iter().map(|&field| {
            let term = |text: &str| Term::from_field_text(field, text);
            let q: Box<dyn Query> = if let [(_, text)] = tokens {
                Box::new(TermQuery::new(term(text), IndexRecordOption::WithFreqs))
            } else {
                let terms = tokens.iter().map(|(pos, text)| (pos - first, term(text)));
                Box::new(PhraseQuery::new_with_offset(terms.collect()))
            };
            (Occur::Should, q)
        });
        BooleanQuery::new(clauses.collect())
    }

    /// All documents matching `text` with their BM25 scores, in no
    /// particular order. One word matches in any of name, metadata and body;
    /// several words match as a phrase within one of them. Text without any
    /// word (empty, punctuation) matches nothing.
    pub fn matching(&self, text: &str) -> Result<Vec<(String, f32)>, FullTextError> {
        let tokens = tokens(text);
        if tokens.is_empty() {
            return Ok(Vec::new());
        }
        let f = self.fields;
        let query = Self::query(&tokens, &[f.name, f.meta, f.body]);
        let searcher = self.reader.searcher();
        searcher.search(&query, &IdScores).op("searching")
    }

    /// The stored fields of document `id`, if it is indexed.
    fn stored(&self, id: &str) -> Result<Option<TantivyDocument>, FullTextError> {
        let searcher = self.reader.searcher();
        let query = TermQuery::new(
            Term::from_field_text(self.fields.id, id),
            IndexRecordOption::Basic,
        );
        let hits = searcher
            .search(&query, &DocSetCollector)
            .op("looking up a document")?;
        let Some(&addr) = hits.iter().next() else {
            return Ok(None);
        };
        Ok(Some(searcher.doc(addr).op("reading a stored document")?))
    }

    /// The text extracted from document `id`'s content (its first
    /// [`MAX_STORED_BODY`] bytes), if it is indexed; empty when nothing
    /// was extracted (a type without text).
    pub fn text(&self, id: &str) -> Result<Option<String>, FullTextError> {
        let doc = self.stored(id)?;
        Ok(doc.map(|d| {
            let body = d.get_first(self.fields.excerpt).and_then(|v| v.as_str());
            body.unwrap_or("").to_string()
        }))
    }

    /// A short plain-text snippet of the body of `id` (or, failing that, its
    /// name) around the first match of any of `texts` (words or phrases),
    /// with every match in it wrapped in `«` `»`. `None` when the document is
    /// unknown or neither body nor name contains a match.
    pub fn snippet(&self, id: &str, texts: &[&str]) -> Result<Option<String>, FullTextError> {
        let needles: Vec<Vec<String>> = texts
            .iter()
            .map(|t| tokens(t).into_iter().map(|t| t.1).collect::<Vec<_>>())
            .filter(|n| !n.is_empty())
            .collect();
        if needles.is_empty() {
            return Ok(None);
        }
        let Some(doc) = self.stored(id)? else {
            return Ok(None);
        };
        for field in [self.fields.excerpt, self.fields.name] {
            let text = doc.get_first(field).and_then(|v| v.as_str()).unwrap_or("");
            if let Some(s) = snippet_of(text, &needles) {
                return Ok(Some(s));
            }
        }
        Ok(None)
    }
}

/// Collects every matching document as (id, score), reading ids from the
/// `id` fast field.
struct IdScores;

/// Per-segment part of [`IdScores`]: id ordinals and scores.
struct IdScoresSegment {
    ids: StrColumn,
    hits: Vec<(u64, Score)>,
}

impl Collector for IdScores {
    type Fruit = Vec<(String, Score)>;
    type Child = IdScoresSegment;

    fn for_segment(
        &self,
        _ord: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<IdScoresSegment> {
        let ids = segment.fast_fields().str("id")?.ok_or_else(|| {
            TantivyError::SchemaError("field `id` is not a string fast field".into())
        })?;
        Ok(IdScoresSegment {
            ids,
            hits: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    fn merge_fruits(
        &self,
        fruits: Vec<io::Result<Vec<(String, Score)>>>,
    ) -> tantivy::Result<Vec<(String, Score)>> {
        let mut all = Vec::with_capacity(fruits.iter().flatten().map(Vec::len).sum());
        for fruit in fruits {
            all.extend(fruit?);
        }
        Ok(all)
    }
}

impl SegmentCollector for IdScoresSegment {
    type Fruit = io::Result<Vec<(String, Score)>>;

    fn collect(&mut self, doc: DocId, score: Score) {
        if let Some(ord) = self.ids.ords().first(doc) {
            self.hits.push((ord, score));
        }
    }

    fn harvest(mut self) -> Self::Fruit {
        // The dictionary is read fastest in ordinal order.
        self.hits.sort_unstable_by_key(|h| h.0);
        let ords: Vec<u64> = self.hits.iter().map(|h| h.0).collect();
        let mut scores = self.hits.iter().map(|h| h.1);
        let mut out = Vec::with_capacity(ords.len());
        self.ids
            .dictionary()
            .sorted_ords_to_term_cb(&ords, |bytes| {
                let id = String::from_utf8_lossy(bytes).into_owned();
                out.push((id, scores.next().unwrap_or_default()));
            })?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc<'a>(id: &'a str, name: &'a str, meta: &'a str, body: &'a str) -> FtDoc<'a> {
        FtDoc {
            id,
            name,
            meta,
            body,
        }
    }

    /// Sorted ids matching `text`.
    fn ids(ft: &FullText, text: &str) -> Vec<String> {
        let mut ids: Vec<String> = ft
            .matching(text)
            .unwrap()
            .into_iter()
            .map(|h| h.0)
            .collect();
        ids.sort();
        ids
    }

    fn sample() -> FullText {
        let ft = FullText::in_ram().unwrap();
        ft.upsert(&doc(
            "A",
            "quarterly report.pdf",
            "finance alice",
            "Revenue grew in the quarter.",
        ))
        .unwrap();
        ft.upsert(&doc(
            "B",
            "notes.txt",
            "jazz live",
            "A report on quarterly results of jazz.",
        ))
        .unwrap();
        ft.upsert(&doc("C", "Café menu", "food", "")).unwrap();
        ft.commit().unwrap();
        ft
    }

    #[test]
    fn full_text_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<FullText>();
    }

    #[test]
    fn word_matches_in_name_meta_and_body() {
        let ft = sample();
        assert_eq!(ids(&ft, "menu"), ["C"]);
        assert_eq!(ids(&ft, "alice"), ["A"]);
        assert_eq!(ids(&ft, "revenue"), ["A"]);
        assert_eq!(ids(&ft, "report"), ["A", "B"]);
        assert!(ids(&ft, "missing").is_empty());
        assert!(ft.matching("report").unwrap().iter().all(|h| h.1 > 0.0));
        assert_eq!(ft.num_docs(), 3);
    }

    #[test]
    fn phrase_needs_words_in_order() {
        let ft = sample();
        assert_eq!(ids(&ft, "quarterly report"), ["A"]);
        assert_eq!(ids(&ft, "report on quarterly"), ["B"]);
        assert_eq!(ids(&ft, "quarterly results"), ["B"]);
        assert!(ids(&ft, "results quarterly").is_empty());
        // Words from two different fields do not form a phrase.
        assert!(ids(&ft, "finance revenue").is_empty());
    }

    #[test]
    fn case_and_accents_fold() {
        let ft = sample();
        assert_eq!(ids(&ft, "cafe"), ["C"]);
        assert_eq!(ids(&ft, "CAFÉ"), ["C"]);
        assert_eq!(ids(&ft, "Jazz"), ["B"]);
    }

    #[test]
    fn punctuation_only_matches_nothing() {
        let ft = sample();
        assert!(ids(&ft, "").is_empty());
        assert!(ids(&ft, " ?!… -- ").is_empty());
    }

    #[test]
    fn upsert_replaces_earlier_version() {
        let ft = sample();
        ft.upsert(&doc("A", "annual summary", "", "nothing else"))
            .unwrap();
        ft.commit().unwrap();
        assert!(ids(&ft, "revenue").is_empty());
        assert_eq!(ids(&ft, "annual"), ["A"]);
        assert_eq!(ft.num_docs(), 3);
    }

    #[test]
    fn delete_removes_document() {
        let ft = sample();
        ft.delete("B").unwrap();
        assert_eq!(ids(&ft, "jazz"), ["B"], "invisible before commit");
        ft.commit().unwrap();
        assert!(ids(&ft, "jazz").is_empty());
        assert_eq!(ft.num_docs(), 2);
    }

    #[test]
    fn clear_then_reindex_is_atomic() {
        let ft = sample();
        ft.clear().unwrap();
        ft.upsert(&doc("D", "new", "", "fresh text")).unwrap();
        assert_eq!(ft.num_docs(), 3, "old index visible until commit");
        ft.commit().unwrap();
        assert_eq!(ft.num_docs(), 1);
        assert!(ids(&ft, "report").is_empty());
        assert_eq!(ids(&ft, "fresh"), ["D"]);
    }

    #[test]
    fn reopen_keeps_documents() {
        let dir = tempfile::tempdir().unwrap();
        {
            let ft = FullText::open(dir.path()).unwrap();
            assert!(ft.created());
            ft.upsert(&doc("A", "kept.txt", "", "persistent words"))
                .unwrap();
            ft.commit().unwrap();
        }
        let ft = FullText::open(dir.path()).unwrap();
        assert!(!ft.created());
        assert_eq!(ids(&ft, "persistent words"), ["A"]);
    }

    #[test]
    fn schema_version_change_recreates_index() {
        let dir = tempfile::tempdir().unwrap();
        {
            let ft = FullText::open(dir.path()).unwrap();
            ft.upsert(&doc("A", "old.txt", "", "")).unwrap();
            ft.commit().unwrap();
        }
        fs::write(dir.path().join(VERSION_FILE), "docgrid-fulltext 0\n").unwrap();
        let ft = FullText::open(dir.path()).unwrap();
        assert!(ft.created());
        assert_eq!(ft.num_docs(), 0);
        let version = fs::read_to_string(dir.path().join(VERSION_FILE)).unwrap();
        assert_eq!(version.trim(), SCHEMA_VERSION);
    }

    #[test]
    fn snippet_marks_matches() {
        let ft = FullText::in_ram().unwrap();
        let body = format!(
            "{} The Café\nserves   coffee; the cafe is open. {}",
            "lorem ipsum ".repeat(20),
            "dolor sit ".repeat(30)
        );
        ft.upsert(&doc("A", "Menu of the cafe", "", &body)).unwrap();
        ft.upsert(&doc("B", "Cafe opening.txt", "", "")).unwrap();
        ft.commit().unwrap();
        let s = ft.snippet("A", &["cafe"]).unwrap().unwrap();
        assert!(
            s.contains("The «Café» serves coffee; the «cafe» is open."),
            "{s}"
        );
        assert!(
            s.starts_with('…') && s.ends_with('…') && s.chars().count() < 200,
            "{s}"
        );
        let s = ft.snippet("A", &["serves coffee"]).unwrap().unwrap();
        assert!(s.contains("«serves coffee»"), "{s}");
        assert_eq!(
            ft.snippet("B", &["OPENING"]).unwrap().unwrap(),
            "Cafe «opening».txt"
        );
        assert_eq!(ft.snippet("A", &["coffee serves"]).unwrap(), None);
        assert_eq!(ft.snippet("Z", &["cafe"]).unwrap(), None);
        assert_eq!(ft.snippet("A", &["!!"]).unwrap(), None);
    }

    #[test]
    fn bulk_insert_then_one_commit() {
        let dir = tempfile::tempdir().unwrap();
        let ft = FullText::open(dir.path()).unwrap();
        for i in 0..2000 {
            let id = format!("{i:026}");
            let colour = ["red", "green", "blue", "black"][i % 4];
            let body = format!("document number {i} is {colour}; some filler text here");
            ft.upsert(&doc(&id, &format!("file{i}.txt"), colour, &body))
                .unwrap();
        }
        ft.commit().unwrap();
        assert_eq!(ft.num_docs(), 2000);
        let t = std::time::Instant::now();
        let hits = ft.matching("blue").unwrap();
        let elapsed = t.elapsed();
        eprintln!(
            "matching(\"blue\") over 2000 docs: {} hits in {elapsed:?}",
            hits.len()
        );
        assert_eq!(hits.len(), 500);
        let mut ids: Vec<&str> = hits.iter().map(|h| h.0.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 500);
        assert!(ids.contains(&format!("{:026}", 2).as_str()));
        assert_eq!(ft.matching("filler text").unwrap().len(), 2000);
        assert_eq!(ft.matching("number 1999").unwrap().len(), 1);
    }
}
