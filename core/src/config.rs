//! The client configuration, `~/.config/docgrid/config.toml`: written by
//! `docgrid-server run` on first start, read by every client (the client
//! library, the proxy, the CLI, FUSE, the GUI). One definition here; the
//! TOML parsing is the callers'.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// What a client needs to reach docgrid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientConfig {
    /// Server URLs; the first is the primary (writes go there), reads go to
    /// any healthy one.
    pub servers: Vec<String>,
    /// The bearer token.
    pub token: String,
    /// The chunk cache directory (default: the user's cache dir, `docgrid/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<PathBuf>,
    /// The cache's size bound in bytes (default 10 GiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_size: Option<u64>,
}

/// The default size bound of the chunk cache: 10 GiB.
pub const DEFAULT_CACHE_SIZE: u64 = 10 << 30;

/// Where the client config lives: `$DOCGRID_CONFIG`, else
/// `~/.config/docgrid/config.toml` (the platform's config dir).
pub fn client_config_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("DOCGRID_CONFIG") {
        return Some(PathBuf::from(p));
    }
    directories::ProjectDirs::from("", "", "docgrid").map(|d| d.config_dir().join("config.toml"))
}

/// The default chunk cache directory: the platform's cache dir, `docgrid/`.
pub fn default_cache_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "docgrid").map(|d| d.cache_dir().to_path_buf())
}
