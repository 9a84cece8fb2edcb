//! The few calls of a Tahoe-LAFS gateway's web API the store makes.
//!
//! Every request sends `Accept: text/plain` so that errors come back as
//! text (Tahoe renders HTML otherwise). Idle connections are dropped after
//! 30 s, below Twisted's 60 s idle timeout, so the pool never hands out a
//! connection the gateway is closing. Timeouts grow with the body's size.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::blocking::{Client, Response};
use serde::Deserialize;

/// What went wrong talking to the gateway.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The gateway answered with an error status; `body` is its text.
    #[error("gateway answered {status}: {}", first_line(body))]
    Status {
        /// The HTTP status.
        status: StatusCode,
        /// The error text.
        body: String,
    },
    /// No answer: connection refused, reset, timed out.
    #[error("gateway unreachable: {0}")]
    Transport(String),
}

impl GatewayError {
    /// Whether retrying may succeed: the grid had too few servers for an
    /// upload (Tahoe's `UploadUnhappinessError`, `NoServersError`), or the
    /// gateway could not be reached.
    pub fn is_retryable(&self) -> bool {
        match self {
            GatewayError::Transport(_) => true,
            GatewayError::Status { status, body } => {
                *status == StatusCode::INTERNAL_SERVER_ERROR
                    && (body.contains("UploadUnhappinessError")
                        || body.contains("NoServersError")
                        || body.contains("NotEnoughSharesError"))
                    || *status == StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }

    /// Whether the gateway said the object cannot be recovered (410 Gone).
    pub fn is_gone(&self) -> bool {
        matches!(self, GatewayError::Status { status, .. } if *status == StatusCode::GONE)
    }
}

/// The telling line of an error text: the first, or for a Python
/// traceback the last (the exception).
fn first_line(body: &str) -> &str {
    let mut lines = body.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("(no text)");
    if first.starts_with("Traceback") {
        return lines.next_back().unwrap_or(first);
    }
    first
}

/// One storage server as the gateway sees it (`GET /?t=json`).
#[derive(Debug, Clone, Deserialize)]
pub struct ServerStatus {
    /// The node's nickname.
    #[serde(default)]
    pub nickname: Option<String>,
    /// The node id.
    #[serde(default)]
    pub nodeid: Option<String>,
    /// "Connected to … via …", "Trying to connect", "Reconnecting in …".
    #[serde(default)]
    pub connection_status: String,
}

impl ServerStatus {
    /// Whether the gateway has a live connection to it.
    pub fn connected(&self) -> bool {
        self.connection_status
            .to_ascii_lowercase()
            .starts_with("connected")
    }

    /// The nickname, or the node id.
    pub fn name(&self) -> String {
        self.nickname
            .clone()
            .filter(|n| !n.is_empty())
            .or_else(|| self.nodeid.clone())
            .unwrap_or_else(|| "(unnamed)".into())
    }
}

#[derive(Debug, Deserialize)]
struct Welcome {
    #[serde(default)]
    servers: Vec<ServerStatus>,
}

/// A gateway's web API.
#[derive(Debug, Clone)]
pub struct Gateway {
    base: String,
    http: Client,
}

/// The time a transfer of `len` bytes may take: a minute plus 1 s per MiB.
fn timeout_for(len: usize) -> Duration {
    Duration::from_secs(60) + Duration::from_millis(len as u64 / 1024)
}

impl Gateway {
    /// A client of the gateway at `base` (`http://127.0.0.1:3456`).
    pub fn new(base: &str) -> Result<Gateway, GatewayError> {
        let http = Client::builder()
            .pool_idle_timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(10))
            .timeout(None)
            .build()
            .map_err(|e| GatewayError::Transport(e.to_string()))?;
        Ok(Gateway {
            base: base.trim_end_matches('/').to_string(),
            http,
        })
    }

    /// The gateway's URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn send(&self, req: reqwest::blocking::RequestBuilder) -> Result<Response, GatewayError> {
        let resp = req
            .header(reqwest::header::ACCEPT, "text/plain")
            .send()
            .map_err(|e| GatewayError::Transport(docgrid_core::error_chain(&e)))?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status();
        let body = resp.text().unwrap_or_default();
        Err(GatewayError::Status { status, body })
    }

    fn text(resp: Response) -> Result<String, GatewayError> {
        resp.text()
            .map_err(|e| GatewayError::Transport(docgrid_core::error_chain(&e)))
    }

    /// The storage servers the gateway knows, connected or not.
    pub fn servers(&self) -> Result<Vec<ServerStatus>, GatewayError> {
        let resp = self.send(
            self.http
                .get(format!("{}/?t=json", self.base))
                .timeout(Duration::from_secs(30)),
        )?;
        let text = Self::text(resp)?;
        let w: Welcome = serde_json::from_str(&text).map_err(|e| GatewayError::Status {
            status: StatusCode::OK,
            body: format!("unreadable /?t=json: {e}"),
        })?;
        Ok(w.servers)
    }

    /// Uploads `data` as an immutable file (CHK, or LIT when tiny); returns
    /// its cap. `Bytes`: a retry sends the same buffer, no copy.
    pub fn put_immutable(&self, data: bytes::Bytes) -> Result<String, GatewayError> {
        let resp = self.send(
            self.http
                .put(format!("{}/uri", self.base))
                .timeout(timeout_for(data.len()))
                .body(data),
        )?;
        Ok(Self::text(resp)?.trim().to_string())
    }

    /// Creates an SDMF mutable file holding `data`; returns its write cap.
    pub fn create_mutable(&self, data: &[u8]) -> Result<String, GatewayError> {
        let resp = self.send(
            self.http
                .put(format!("{}/uri?format=SDMF", self.base))
                .timeout(timeout_for(data.len()))
                .body(data.to_vec()),
        )?;
        Ok(Self::text(resp)?.trim().to_string())
    }

    /// Replaces a mutable file's contents.
    pub fn replace_mutable(&self, cap: &str, data: &[u8]) -> Result<(), GatewayError> {
        self.send(
            self.http
                .put(format!("{}/uri/{cap}", self.base))
                .timeout(timeout_for(data.len()))
                .body(data.to_vec()),
        )?;
        Ok(())
    }

    /// A file's bytes; `expected_len` sizes the timeout.
    pub fn get(&self, cap: &str, expected_len: usize) -> Result<Vec<u8>, GatewayError> {
        let resp = self.send(
            self.http
                .get(format!("{}/uri/{cap}", self.base))
                .timeout(timeout_for(expected_len)),
        )?;
        let bytes = resp
            .bytes()
            .map_err(|e| GatewayError::Transport(docgrid_core::error_chain(&e)))?;
        Ok(bytes.to_vec())
    }

    /// Bytes `start..end` of an immutable file (a Range GET; a gateway
    /// that answers with the whole file is sliced here).
    pub fn get_range(&self, cap: &str, start: u64, end: u64) -> Result<Vec<u8>, GatewayError> {
        let len = end.saturating_sub(start);
        if len == 0 {
            return Ok(Vec::new());
        }
        let resp = self.send(
            self.http
                .get(format!("{}/uri/{cap}", self.base))
                .header(reqwest::header::RANGE, format!("bytes={start}-{}", end - 1))
                .timeout(timeout_for(len as usize)),
        )?;
        let partial = resp.status() == StatusCode::PARTIAL_CONTENT;
        // Read into a buffer of the range's size: no growing by doubling.
        let mut resp = resp;
        let mut bytes = Vec::with_capacity(if partial { len as usize } else { 0 });
        std::io::Read::read_to_end(&mut resp, &mut bytes)
            .map_err(|e| GatewayError::Transport(docgrid_core::error_chain(&e)))?;
        if partial {
            return Ok(bytes);
        }
        let (a, b) = (start as usize, (end as usize).min(bytes.len()));
        Ok(bytes.get(a..b).map(<[u8]>::to_vec).unwrap_or_default())
    }

    /// `GET /uri/CAP?t=json`: what the gateway knows of a cap (for a
    /// mutable file, `[kind, {rw_uri, ro_uri, …}]`).
    pub fn info(&self, cap: &str) -> Result<serde_json::Value, GatewayError> {
        let resp = self.send(
            self.http
                .get(format!("{}/uri/{cap}?t=json", self.base))
                .timeout(Duration::from_secs(60)),
        )?;
        let text = Self::text(resp)?;
        serde_json::from_str(&text).map_err(|e| GatewayError::Status {
            status: StatusCode::OK,
            body: format!("unreadable t=json: {e}"),
        })
    }

    /// `POST /uri/CAP?t=check&output=JSON`, renewing the lease and
    /// repairing if asked. Returns the JSON result.
    pub fn check(
        &self,
        cap: &str,
        add_lease: bool,
        repair: bool,
    ) -> Result<serde_json::Value, GatewayError> {
        let resp = self.send(
            self.http
                .post(format!(
                    "{}/uri/{cap}?t=check&output=JSON&add-lease={add_lease}&repair={repair}",
                    self.base
                ))
                .timeout(Duration::from_secs(if repair { 600 } else { 120 })),
        )?;
        let text = Self::text(resp)?;
        serde_json::from_str(&text).map_err(|e| GatewayError::Status {
            status: StatusCode::OK,
            body: format!("unreadable check result: {e}"),
        })
    }
}
