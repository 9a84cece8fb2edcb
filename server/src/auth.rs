//! Bearer tokens with roles, kept in `DIR/tokens.db` (not derived from the
//! journal, so reindex keeps them). Only BLAKE3 hashes of tokens are stored.

use std::path::Path;
use std::sync::Mutex;

use docgrid_core::api::{Role, TokenInfo};
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::ApiError;

/// The token store.
pub struct Tokens {
    conn: Mutex<Connection>,
}

fn hash(token: &str) -> String {
    blake3::hash(token.trim().as_bytes()).to_hex().to_string()
}

fn role_str(r: Role) -> &'static str {
    match r {
        Role::Read => "read",
        Role::Write => "write",
        Role::Admin => "admin",
    }
}

fn parse_role(s: &str) -> Role {
    match s {
        "admin" => Role::Admin,
        "write" => Role::Write,
        _ => Role::Read,
    }
}

/// A fresh random token: `dg_` and 32 hex digits.
pub fn new_secret() -> String {
    format!("dg_{:032x}", rand::random::<u128>())
}

impl Tokens {
    /// Opens (creating) the token database.
    pub fn open(path: &Path) -> rusqlite::Result<Self> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS tokens (
                name TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, role TEXT NOT NULL, created TEXT NOT NULL
            )",
        )?;
        Ok(Tokens {
            conn: Mutex::new(conn),
        })
    }

    /// Adds a token with a given secret (used for the first admin token).
    pub fn insert(&self, name: &str, role: Role, secret: &str) -> Result<TokenInfo, ApiError> {
        if name.is_empty() || name.len() > 100 {
            return Err(ApiError::bad_request("token names are 1 to 100 characters"));
        }
        let created = crate::now_rfc3339();
        let conn = self.conn.lock().expect("poisoned");
        let exists: bool = conn
            .query_row("SELECT 1 FROM tokens WHERE name = ?1", [name], |_| Ok(true))
            .optional()?
            .unwrap_or(false);
        if exists {
            return Err(ApiError::conflict_msg(format!(
                "a token named {name:?} exists; revoke it first"
            )));
        }
        conn.execute(
            "INSERT INTO tokens(name, hash, role, created) VALUES (?1, ?2, ?3, ?4)",
            params![name, hash(secret), role_str(role), created],
        )?;
        Ok(TokenInfo {
            name: name.into(),
            role,
            created,
            token: Some(secret.into()),
        })
    }

    /// Creates a token with a fresh secret.
    pub fn create(&self, name: &str, role: Role) -> Result<TokenInfo, ApiError> {
        self.insert(name, role, &new_secret())
    }

    /// Revokes a token by name. The last admin token is kept: without it
    /// no one could administer the server over the API.
    pub fn revoke(&self, name: &str) -> Result<(), ApiError> {
        let mut conn = self.conn.lock().expect("poisoned");
        let tx = conn.transaction()?;
        let role: Option<String> = tx
            .query_row("SELECT role FROM tokens WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()?;
        let Some(role) = role else {
            return Err(ApiError::not_found(format!("no token named {name:?}")));
        };
        if role == role_str(Role::Admin) {
            let admins: i64 = tx.query_row(
                "SELECT COUNT(*) FROM tokens WHERE role = ?1",
                [role_str(Role::Admin)],
                |r| r.get(0),
            )?;
            if admins <= 1 {
                return Err(ApiError::conflict_msg(format!(
                    "token {name:?} is the last admin token: revoking it would leave no one \
                     able to administer this server. Create another admin token first \
                     (POST /v1/admin/tokens or docgrid-server token create)"
                )));
            }
        }
        tx.execute("DELETE FROM tokens WHERE name = ?1", [name])?;
        tx.commit()?;
        Ok(())
    }

    /// Every token (without secrets).
    pub fn list(&self) -> Result<Vec<TokenInfo>, ApiError> {
        let conn = self.conn.lock().expect("poisoned");
        let mut stmt = conn.prepare("SELECT name, role, created FROM tokens ORDER BY name")?;
        let rows = stmt.query_map([], |r| {
            Ok(TokenInfo {
                name: r.get(0)?,
                role: parse_role(&r.get::<_, String>(1)?),
                created: r.get(2)?,
                token: None,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The name and role of `secret`, if it is a valid token.
    pub fn check(&self, secret: &str) -> Result<Option<(String, Role)>, ApiError> {
        let conn = self.conn.lock().expect("poisoned");
        let row: Option<(String, String)> = conn
            .query_row(
                "SELECT name, role FROM tokens WHERE hash = ?1",
                [hash(secret)],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(row.map(|(n, r)| (n, parse_role(&r))))
    }
}
