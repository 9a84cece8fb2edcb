//! Sending requests: failover between servers for reads, the primary for
//! writes, retries, and turning answers into values or [`ClientError`]s.
//! reqwest stays inside this module: nothing of it is public.

use std::io::Read;
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use docgrid_core::api::{ErrorBody, ErrorCode};
use reqwest::Method;
use reqwest::blocking::{RequestBuilder, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::client::Client;
use crate::error::ClientError;

/// One server and when it may be tried again.
#[derive(Debug)]
pub(crate) struct Endpoint {
    pub(crate) url: String,
    down_until: Mutex<Option<Instant>>,
}

impl Endpoint {
    pub(crate) fn new(url: &str) -> Endpoint {
        Endpoint {
            url: url.trim_end_matches('/').to_string(),
            down_until: Mutex::new(None),
        }
    }

    fn is_down(&self) -> bool {
        self.down_until
            .lock()
            .expect("poisoned")
            .is_some_and(|t| Instant::now() < t)
    }

    fn mark(&self, down_for: Option<Duration>) {
        *self.down_until.lock().expect("poisoned") = down_for.map(|d| Instant::now() + d);
    }
}

/// The server answered: which one, and its response.
pub(crate) struct Answer {
    pub(crate) server: String,
    pub(crate) response: Response,
}

/// An answer forwarded as it came (for the proxy): status, content type
/// and body.
#[derive(Debug, Clone)]
pub struct RawAnswer {
    /// The server that answered.
    pub server: String,
    /// The HTTP status.
    pub status: u16,
    /// Its `Content-Type`, if any.
    pub content_type: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

impl Client {
    fn request(&self, server: &str, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{server}{path}"))
            .bearer_auth(&self.token)
    }

    /// Sends a read (`GET`, or an idempotent `POST`/`PUT` to the primary
    /// when `primary_only`) to a healthy server, failing over and
    /// retrying. `build` adds headers and a body.
    pub(crate) fn send_read(
        &self,
        method: Method,
        path: &str,
        primary_only: bool,
        build: &dyn Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<Answer, ClientError> {
        let n = if primary_only { 1 } else { self.servers.len() };
        let mut last = String::new();
        for attempt in 0..=self.opts.retries {
            if attempt > 0 {
                std::thread::sleep(Duration::from_millis(100 << (attempt - 1).min(4)));
            }
            let start = if primary_only {
                0
            } else {
                self.preferred.load(Ordering::Relaxed) % n
            };
            let order: Vec<usize> = (0..n).map(|k| (start + k) % n).collect();
            // Healthy servers first; the ones marked down only if no other answered.
            let all_down = order.iter().all(|&i| self.servers[i].is_down());
            for &i in &order {
                let ep = &self.servers[i];
                if ep.is_down() && !all_down {
                    continue;
                }
                match build(self.request(&ep.url, method.clone(), path)).send() {
                    Ok(resp) if matches!(resp.status().as_u16(), 502 | 504) => {
                        last = format!("{} answered {}", ep.url, resp.status());
                        ep.mark(Some(self.opts.down_for));
                    }
                    // A 503 with an error body is the server speaking (its
                    // store lacks disks, it is reindexing): an answer to
                    // pass on, after the other servers had their chance.
                    Ok(resp) if resp.status().as_u16() == 503 && i != order[n - 1] => {
                        last = format!("{} answered {}", ep.url, resp.status());
                        ep.mark(Some(self.opts.down_for));
                    }
                    Ok(response) => {
                        ep.mark(None);
                        if !primary_only {
                            self.preferred.store(i, Ordering::Relaxed);
                        }
                        return Ok(Answer {
                            server: ep.url.clone(),
                            response,
                        });
                    }
                    Err(e) => {
                        last = format!("{}: {}", ep.url, docgrid_core::error_chain(&e));
                        ep.mark(Some(self.opts.down_for));
                    }
                }
            }
        }
        Err(ClientError::Unreachable {
            servers: self.servers.iter().take(n).map(|e| e.url.clone()).collect(),
            why: last,
        })
    }

    /// Sends a write to the primary, once.
    pub(crate) fn send_write(
        &self,
        method: Method,
        path: &str,
        build: &dyn Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<Answer, ClientError> {
        let ep = &self.servers[0];
        match build(self.request(&ep.url, method, path)).send() {
            Ok(response) => {
                ep.mark(None);
                // Reads after a write start at the primary, which has it
                // (a follower may not yet).
                self.preferred.store(0, Ordering::Relaxed);
                Ok(Answer {
                    server: ep.url.clone(),
                    response,
                })
            }
            Err(e) => {
                ep.mark(Some(self.opts.down_for));
                Err(ClientError::WriteFailed {
                    server: ep.url.clone(),
                    why: docgrid_core::error_chain(&e),
                })
            }
        }
    }

    pub(crate) fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        json(self.send_read(Method::GET, path, false, &|r| r)?, path)
    }

    pub(crate) fn write_json<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        json(self.send_write(method, path, &|r| r.json(body))?, path)
    }

    /// `GET path` forwarded as is, failing over between servers: the
    /// answer whatever its status (the proxy passes errors on).
    pub fn forward_read(&self, path: &str) -> Result<RawAnswer, ClientError> {
        raw(self.send_read(Method::GET, path, false, &|r| r)?, path)
    }

    /// A write forwarded as is to the primary, its body streamed from
    /// `body`: the answer whatever its status. A cut-short answer is
    /// [`ClientError::WriteFailed`] saying the write may have landed.
    pub fn forward_write(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Box<dyn Read + Send>,
    ) -> Result<RawAnswer, ClientError> {
        let method = Method::from_bytes(method.as_bytes())
            .map_err(|e| ClientError::Config(format!("method {method:?}: {e}")))?;
        let body = Mutex::new(Some(reqwest::blocking::Body::new(body)));
        let answer = self.send_write(method, path, &|r| {
            let r = match content_type {
                Some(ct) => r.header(reqwest::header::CONTENT_TYPE, ct),
                None => r,
            };
            r.body(
                body.lock()
                    .expect("poisoned")
                    .take()
                    .unwrap_or_else(|| Vec::<u8>::new().into()),
            )
        })?;
        let server = answer.server.clone();
        raw(answer, path).map_err(|e| ClientError::WriteFailed {
            server,
            why: format!("the answer was cut short ({e}): the write may or may not have landed"),
        })
    }
}

fn raw(answer: Answer, path: &str) -> Result<RawAnswer, ClientError> {
    let status = answer.response.status().as_u16();
    let content_type = answer
        .response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let (server, body) = body(answer, path)?;
    Ok(RawAnswer {
        server,
        status,
        content_type,
        body,
    })
}

/// The server that answered and the whole body of its answer.
pub(crate) fn body(answer: Answer, path: &str) -> Result<(String, Vec<u8>), ClientError> {
    let bytes = answer.response.bytes().map_err(|e| ClientError::Decode {
        url: format!("{}{path}", answer.server),
        why: docgrid_core::error_chain(&e),
    })?;
    Ok((answer.server, bytes.to_vec()))
}

/// A 2xx answer, or the server's error: [`ClientError::Conflict`] for a
/// 409 naming documents, [`ClientError::Api`] otherwise.
pub(crate) fn ok(answer: Answer, path: &str) -> Result<Answer, ClientError> {
    let status = answer.response.status();
    if status.is_success() {
        return Ok(answer);
    }
    let url = format!("{}{path}", answer.server);
    let text = answer.response.text().unwrap_or_default();
    Err(api_error(url, status.as_u16(), &text))
}

/// The error an error answer stands for.
pub(crate) fn api_error(url: String, status: u16, text: &str) -> ClientError {
    let body: Option<ErrorBody> = serde_json::from_str(text).ok();
    let (code, message) = match &body {
        Some(b) => (b.error.code, b.error.message.clone()),
        None => (ErrorCode::from_status(status), text.trim().to_string()),
    };
    if let Some(b) = &body
        && code == ErrorCode::Conflict
        && !b.error.conflicts.is_empty()
    {
        return ClientError::Conflict {
            conflicts: b.error.conflicts.clone(),
            message,
        };
    }
    ClientError::Api {
        url,
        status,
        code,
        message,
        detail: Box::new(body),
    }
}

pub(crate) fn json<T: DeserializeOwned>(answer: Answer, path: &str) -> Result<T, ClientError> {
    let answer = ok(answer, path)?;
    let url = format!("{}{path}", answer.server);
    let text = answer.response.text().map_err(|e| ClientError::Decode {
        url: url.clone(),
        why: docgrid_core::error_chain(&e),
    })?;
    serde_json::from_str(&text).map_err(|e| ClientError::Decode {
        url,
        why: e.to_string(),
    })
}

/// Percent-encodes a path segment or query value.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
