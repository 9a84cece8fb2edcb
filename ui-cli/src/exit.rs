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

/// Writes to stdout; a closed pipe ends the program with status 0 (the
/// reader wanted no more), another failure with status 1.
pub fn out_line(args: std::fmt::Arguments<'_>, newline: bool) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let written = if newline {
        writeln!(out, "{args}")
    } else {
        write!(out, "{args}")
    };
    if let Err(e) = written {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("docgrid: writing to standard output: {e}");
            std::process::exit(1);
        }
        std::process::exit(0);
    }
}

/// Whether `e` is standard output closed under us (`docgrid cat | head`):
/// not an error to report.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<ClientError>().is_some_and(|ce| {
                matches!(ce, ClientError::Io { source, .. }
                    if source.kind() == std::io::ErrorKind::BrokenPipe)
            })
    })
}

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
            || cause.downcast_ref::<Refused>().is_some()
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

/// A verb docgrid refuses because it does not apply (`cp`): exit 7, the
/// reason and what to do instead.
#[derive(Debug)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}
