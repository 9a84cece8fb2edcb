//! What the exit status of `docgrid` means: one mapping from the client
//! library's [`ErrorKind`], listed in `docgrid --help` and the man page.

use docgrid_client::{ClientError, ErrorKind};

/// The exit statuses, for `--help` and the man page.
pub const EXIT_CODES: &str = "\
Exit status:
  0  success
  1  any other failure (a local file, a bug)
  2  usage error (unknown command or option)
  3  not found (no such document, entry or revision)
  4  out of date: someone else committed first (update, then retry)
  5  the server or its storage is unreachable or unavailable
  6  permission denied (missing, unknown or too weak token)
  7  invalid input (a bad query, name or path; a directory that refuses the write)
  8  corrupt data (bytes that do not match their hash)";

/// The exit status for `e`: the first client or tree error in its chain.
pub fn code(e: &anyhow::Error) -> u8 {
    for cause in e.chain() {
        if let Some(c) = cause.downcast_ref::<ClientError>() {
            return of_kind(c.kind());
        }
        if cause
            .downcast_ref::<docgrid_core::tree::TreeError>()
            .is_some()
            || cause
                .downcast_ref::<docgrid_core::model::ModelError>()
                .is_some()
        {
            return 7;
        }
    }
    1
}

fn of_kind(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::NotFound => 3,
        ErrorKind::Conflict => 4,
        ErrorKind::Unavailable => 5,
        ErrorKind::Denied => 6,
        ErrorKind::Invalid
        | ErrorKind::ReadOnly
        | ErrorKind::NotEmpty
        | ErrorKind::Exists
        | ErrorKind::IsDir
        | ErrorKind::NotDir
        | ErrorKind::TooLarge => 7,
        ErrorKind::Corrupt => 8,
        ErrorKind::Io | ErrorKind::Internal => 1,
    }
}
