//! The data directory: what `init` writes and `run` reads.
//!
//! ```text
//! DIR/server.toml     backend choice (native disks + k/m, or tahoe gateway)
//! DIR/admin.token     the first admin token (mode 0600)
//! DIR/tokens.db       tokens (SQLite; not derived, survives reindex)
//! DIR/index/          SQLite index + tantivy (derived: reindex rebuilds)
//! DIR/disks/0 … 5     the native store's disks (embedded default)
//! DIR/tahoe/          the Tahoe store's catalog of the caps it holds
//! ```

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

/// `DIR/server.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerConfig {
    /// Format version.
    pub version: u32,
    /// Where bytes live.
    pub backend: Backend,
    /// Text and metadata extraction's limits (`[extract]`; defaults when absent).
    #[serde(default, skip_serializing_if = "ExtractConfig::is_default")]
    pub extract: ExtractConfig,
}

/// `[extract]` in `server.toml`: how extraction runs after each commit.
/// Every parser runs in a worker process (`docgrid-server extract-worker`)
/// under these limits; a file that exceeds one is marked failed with the
/// reason and not retried until its content changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExtractConfig {
    /// Worker processes at once (default: half the cores, at least 1).
    pub workers: Option<usize>,
    /// Longest time one file may take, in seconds (default 60).
    pub timeout_secs: u64,
    /// Address space of a worker, in MiB (default 2048).
    pub memory_mib: u64,
    /// Largest content read for extraction, in MiB (default 64); larger
    /// documents get sniffed metadata only.
    pub max_input_mib: u64,
    /// Read the words in pictures of text and in PDFs without a text layer
    /// with Tesseract (default true; `ocr = false` turns it off, and so does
    /// Tesseract not being installed).
    pub ocr: bool,
    /// Tesseract's languages, `+`-joined (default `eng`; each needs its
    /// `tesseract-ocr-LANG` package).
    pub ocr_languages: String,
}

impl Default for ExtractConfig {
    fn default() -> Self {
        ExtractConfig {
            workers: None,
            timeout_secs: 60,
            memory_mib: 2048,
            max_input_mib: 64,
            ocr: true,
            ocr_languages: "eng".into(),
        }
    }
}

impl ExtractConfig {
    fn is_default(&self) -> bool {
        *self == ExtractConfig::default()
    }

    /// Worker processes to run.
    pub fn worker_count(&self) -> usize {
        self.workers
            .unwrap_or_else(|| {
                std::thread::available_parallelism().map_or(1, |n| n.get().div_ceil(2))
            })
            .clamp(1, 64)
    }
}

/// The storage backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Backend {
    /// Reed-Solomon over disk directories.
    Native {
        /// The disk directories.
        disks: Vec<PathBuf>,
        /// Data shards.
        k: usize,
        /// Parity shards.
        m: usize,
    },
    /// A Tahoe-LAFS grid.
    Tahoe {
        /// The gateway's web API URL.
        gateway: String,
        /// The root pointer's write cap (`URI:SSK:…`): with the gateway, all
        /// a new server needs to rebuild its index.
        root_cap: String,
        /// Storage servers to wait for before the first request (default 1).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_servers: Option<usize>,
        /// Pack uploads in flight at once (default 4).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parallel_uploads: Option<usize>,
        /// Largest pack of chunks, in bytes (default 16 MiB); 0 stores a
        /// Tahoe file per chunk, the layout of earlier builds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pack_max: Option<u64>,
        /// Bytes of a pack fetched per read and kept for the chunks after
        /// (default 16 MiB).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        readahead: Option<u64>,
    },
}

/// Paths inside a data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    /// The directory.
    pub root: PathBuf,
}

impl DataDir {
    /// The data directory at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DataDir { root: root.into() }
    }

    /// `server.toml`.
    pub fn config_path(&self) -> PathBuf {
        self.root.join("server.toml")
    }

    /// `admin.token`.
    pub fn admin_token_path(&self) -> PathBuf {
        self.root.join("admin.token")
    }

    /// `tokens.db`.
    pub fn tokens_db(&self) -> PathBuf {
        self.root.join("tokens.db")
    }

    /// `index/`.
    pub fn index_dir(&self) -> PathBuf {
        self.root.join("index")
    }

    /// Reads `server.toml`, `None` if the directory holds no store yet.
    pub fn read_config(&self) -> Result<Option<ServerConfig>> {
        let path = self.config_path();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let cfg: ServerConfig =
            toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        if cfg.version != 1 {
            bail!(
                "{} has version {}, this build reads 1",
                path.display(),
                cfg.version
            );
        }
        Ok(Some(cfg))
    }

    /// Writes `server.toml`; refuses to overwrite an existing one.
    pub fn write_config(&self, cfg: &ServerConfig) -> Result<()> {
        std::fs::create_dir_all(&self.root)
            .with_context(|| format!("creating {}", self.root.display()))?;
        let path = self.config_path();
        if path.exists() {
            bail!(
                "{} already exists: this directory already holds a docgrid store",
                path.display()
            );
        }
        std::fs::write(&path, toml::to_string_pretty(cfg)?)
            .with_context(|| format!("writing {}", path.display()))
    }

    /// The embedded default: native, `DIR/disks/0..5`, 4+2.
    pub fn default_config(&self) -> ServerConfig {
        ServerConfig {
            version: 1,
            backend: Backend::Native {
                disks: docgrid_core::store::native::default_disks(&self.root, 6),
                k: 4,
                m: 2,
            },
            extract: ExtractConfig::default(),
        }
    }
}

/// Writes `secret` to `path` with mode 0600.
pub fn write_secret(path: &Path, secret: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    writeln!(f, "{secret}")?;
    Ok(())
}

pub use docgrid_core::config::{ClientConfig, client_config_path};

/// Writes the client config when none exists; returns where, if written.
pub fn write_client_config_if_absent(cfg: &ClientConfig) -> Result<Option<PathBuf>> {
    let Some(path) = client_config_path() else {
        return Ok(None);
    };
    if path.exists() {
        return Ok(None);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    write_secret(&path, &toml::to_string_pretty(cfg)?)?;
    Ok(Some(path))
}

/// Creates the store `cfg` describes in `dir`, writes `server.toml`, and
/// makes the first admin token (in `tokens.db` and `admin.token`, mode
/// 0600). Returns the token.
pub fn init_store(dir: &DataDir, cfg: &ServerConfig) -> Result<String> {
    if dir.config_path().exists() {
        bail!("{} already holds a docgrid store", dir.root.display());
    }
    match &cfg.backend {
        Backend::Native { disks, k, m } => {
            docgrid_core::store::native::NativeStore::create(disks, *k, *m)
                .context("creating the native store")?;
        }
        Backend::Tahoe { .. } => {
            // Reading the root proves the gateway answers and the cap is a
            // docgrid root (empty, or written by docgrid).
            let store = tahoe_store(dir, &cfg.backend)?;
            docgrid_core::store::BlobStore::root(&store)
                .context("reading the root pointer through the gateway")?;
        }
    }
    dir.write_config(cfg)?;
    let secret = crate::auth::new_secret();
    crate::auth::Tokens::open(&dir.tokens_db())?
        .insert("admin", docgrid_core::api::Role::Admin, &secret)
        .map_err(|e| anyhow::anyhow!(e.message))?;
    write_secret(&dir.admin_token_path(), &secret)?;
    Ok(secret)
}

/// The Tahoe store `backend` describes, its catalog in `DIR/tahoe/`.
/// Panics if `backend` is not Tahoe.
pub fn tahoe_store(dir: &DataDir, backend: &Backend) -> Result<docgrid_backend_tahoe::TahoeStore> {
    let Backend::Tahoe {
        gateway,
        root_cap,
        min_servers,
        parallel_uploads,
        pack_max,
        readahead,
    } = backend
    else {
        bail!("not a Tahoe backend");
    };
    let mut opts = docgrid_backend_tahoe::TahoeOptions::new(gateway, root_cap);
    opts.state_dir = Some(dir.root.join("tahoe"));
    if let Some(n) = min_servers {
        opts.min_servers = *n;
    }
    if let Some(n) = parallel_uploads {
        opts.parallel_uploads = *n;
    }
    if let Some(n) = pack_max {
        opts.pack_max = *n;
    }
    if let Some(n) = readahead {
        opts.readahead = *n;
    }
    docgrid_backend_tahoe::TahoeStore::open(opts).context("opening the Tahoe store")
}

/// Creates a new root pointer on the grid behind `gateway`; returns its cap.
pub fn create_tahoe_root(gateway: &str, min_servers: Option<usize>) -> Result<String> {
    let mut opts = docgrid_backend_tahoe::TahoeOptions::new(gateway, "");
    if let Some(n) = min_servers {
        opts.min_servers = n;
    }
    docgrid_backend_tahoe::TahoeStore::create_root(&opts)
        .with_context(|| format!("creating a root pointer through the gateway {gateway}"))
}
