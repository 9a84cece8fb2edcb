//! Where a client's settings come from: flags, then environment, then
//! `~/.config/docgrid/config.toml` ([`docgrid_core::config::ClientConfig`]).

use std::path::PathBuf;

use docgrid_core::config::{
    ClientConfig, DEFAULT_CACHE_SIZE, client_config_path, default_cache_dir,
};

use crate::error::ClientError;

/// Settings given on the command line (or by the caller); `None`: not given.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Server URLs (`--server`, repeatable).
    pub servers: Vec<String>,
    /// The token (`--token`).
    pub token: Option<String>,
    /// The cache directory (`--cache`).
    pub cache: Option<PathBuf>,
    /// The cache bound (`--cache-size`).
    pub cache_size: Option<u64>,
}

/// Resolves the settings: `over`, then `DOCGRID_URL` (comma-separated),
/// `DOCGRID_TOKEN`, `DOCGRID_CACHE`, `DOCGRID_CACHE_SIZE`, then the config
/// file. Names what is missing and where it may be given.
pub fn resolve(over: &Overrides) -> Result<ClientConfig, ClientError> {
    let file = read_file()?;
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let servers = if !over.servers.is_empty() {
        over.servers.clone()
    } else if let Some(v) = env("DOCGRID_URL") {
        v.split(',').map(|s| s.trim().to_string()).collect()
    } else {
        file.as_ref().map(|f| f.servers.clone()).unwrap_or_default()
    };
    let servers: Vec<String> = servers.iter().map(|s| server_url(s)).collect();
    if servers.is_empty() {
        return Err(ClientError::Config(format!(
            "no server: pass --server URL, set DOCGRID_URL, or write servers = [\"http://…\"] in {}",
            path_text()
        )));
    }
    let token = over
        .token
        .clone()
        .or_else(|| env("DOCGRID_TOKEN"))
        .or_else(|| file.as_ref().map(|f| f.token.clone()))
        .ok_or_else(|| {
            ClientError::Config(format!(
                "no token: pass --token, set DOCGRID_TOKEN, or write token = \"…\" in {}",
                path_text()
            ))
        })?;
    let cache = over
        .cache
        .clone()
        .or_else(|| env("DOCGRID_CACHE").map(PathBuf::from))
        .or_else(|| file.as_ref().and_then(|f| f.cache.clone()))
        .or_else(default_cache_dir);
    let cache_size = match over.cache_size {
        Some(n) => Some(n),
        None => match env("DOCGRID_CACHE_SIZE") {
            Some(v) => Some(
                parse_size(&v)
                    .map_err(|e| ClientError::Config(format!("DOCGRID_CACHE_SIZE={v}: {e}")))?,
            ),
            None => file.as_ref().and_then(|f| f.cache_size),
        },
    };
    Ok(ClientConfig {
        servers,
        token,
        cache,
        cache_size: Some(cache_size.unwrap_or(DEFAULT_CACHE_SIZE)),
    })
}

/// A client of `cfg`'s servers with the shared chunk cache in `cache`
/// (`cfg.cache` when `None`), bounded by `cfg.cache_size`. A cache that
/// cannot be opened is logged and left out: reads then need a server.
pub fn client_for(
    cfg: &ClientConfig,
    cache: Option<&std::path::Path>,
) -> Result<crate::Client, ClientError> {
    let client = crate::Client::new(&cfg.servers, &cfg.token, crate::ClientOptions::default())?;
    let Some(dir) = cache.or(cfg.cache.as_deref()) else {
        return Ok(client);
    };
    let size = cfg.cache_size.unwrap_or(DEFAULT_CACHE_SIZE);
    match crate::cache::ChunkCache::open(dir, size) {
        Ok(c) => Ok(client.with_cache(std::sync::Arc::new(c))),
        Err(e) => {
            tracing::warn!(
                "no chunk cache in {} ({e}): reads need a server",
                dir.display()
            );
            Ok(client)
        }
    }
}

/// A server as given: `127.0.0.1:8040` or `host:8040` (no scheme) means
/// `http://` (a server on loopback speaks plain HTTP); a trailing `/` goes.
pub fn server_url(given: &str) -> String {
    let given = given.trim().trim_end_matches('/');
    if given.contains("://") {
        given.to_string()
    } else {
        format!("http://{given}")
    }
}

fn path_text() -> String {
    client_config_path().map_or_else(
        || "the client config".to_string(),
        |p| p.display().to_string(),
    )
}

fn read_file() -> Result<Option<ClientConfig>, ClientError> {
    let Some(path) = client_config_path() else {
        return Ok(None);
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => toml::from_str(&text)
            .map(Some)
            .map_err(|e| ClientError::Config(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ClientError::Io {
            path: path.display().to_string(),
            source: e,
        }),
    }
}

/// `10G`, `500M`, `64K`, `1024` (bytes; binary multiples).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (num, mult) = match t.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => {
            let unit = t[i..].to_ascii_uppercase();
            let mult: u64 = match unit.trim_end_matches("IB").trim_end_matches('B') {
                "" => 1,
                "K" => 1 << 10,
                "M" => 1 << 20,
                "G" => 1 << 30,
                "T" => 1 << 40,
                _ => return Err(format!("unknown unit {:?} (use K, M, G or T)", &t[i..])),
            };
            (&t[..i], mult)
        }
        None => (t, 1),
    };
    let n: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a size (e.g. 10G, 500M)"))?;
    if n < 0.0 {
        return Err("a size cannot be negative".into());
    }
    Ok((n * mult as f64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("1024").unwrap(), 1024);
        assert_eq!(parse_size("64K").unwrap(), 64 << 10);
        assert_eq!(parse_size("500M").unwrap(), 500 << 20);
        assert_eq!(parse_size("10G").unwrap(), 10 << 30);
        assert_eq!(parse_size("1.5GiB").unwrap(), 3 << 29);
        assert!(parse_size("ten").is_err());
        assert!(parse_size("5Q").is_err());
    }

    #[test]
    fn a_server_without_a_scheme_is_http() {
        assert_eq!(server_url("127.0.0.1:8040"), "http://127.0.0.1:8040");
        assert_eq!(server_url("https://h:1/"), "https://h:1");
        assert_eq!(server_url(" http://h "), "http://h");
    }
}
