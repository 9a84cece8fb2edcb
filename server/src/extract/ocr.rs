//! OCR: the words in pictures of text and in PDFs without a text layer,
//! read by Tesseract (`tesseract`, Debian's tesseract-ocr) from pages that
//! poppler's `pdftoppm` renders. Both run as children of the extraction
//! worker, in its process group and under its limits: when the worker is
//! killed at its time limit, they go with it. Without the programs, OCR
//! is skipped (and said once in the log).

use std::io::{Read, Write};
use std::process::{Command, Stdio};

use super::{ExtractError, collapse};

/// Pages of a PDF read by OCR at most.
pub const MAX_PAGES: u32 = 20;
/// Most text read back from one Tesseract run.
const MAX_OUTPUT: u64 = 4 << 20;
/// Resolution pages are rendered at for OCR, in dots per inch.
const DPI: &str = "200";

/// OCR's settings, as the worker gets them (`--ocr LANGS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ocr {
    /// Tesseract's languages, `+`-joined (`eng`, `eng+deu`).
    pub languages: String,
}

impl Ocr {
    /// The text of an image (PNG, JPEG, TIFF, GIF, WebP, BMP, ...), `None`
    /// when Tesseract is not installed.
    pub fn image_text(&self, image: &[u8]) -> Result<Option<String>, ExtractError> {
        let mut tesseract = Command::new("tesseract");
        tesseract
            .args(["stdin", "stdout", "-l", &self.languages, "--psm", "3"])
            .env("OMP_THREAD_LIMIT", "1");
        Ok(
            pipe(tesseract, image, "tesseract")?
                .map(|out| collapse(&String::from_utf8_lossy(&out))),
        )
    }

    /// The text of the first [`MAX_PAGES`] of `pages` pages of a PDF,
    /// each rendered by `pdftoppm` and read by Tesseract; `None` when
    /// either program is missing.
    pub fn pdf_text(&self, pdf: &[u8], pages: u32) -> Result<Option<String>, ExtractError> {
        let mut text = String::new();
        for page in 1..=pages.clamp(1, MAX_PAGES) {
            let n = page.to_string();
            let mut render = Command::new("pdftoppm");
            render.args(["-f", &n, "-l", &n, "-r", DPI, "-png", "-"]);
            let Some(png) = pipe(render, pdf, "pdftoppm")? else {
                return Ok(None);
            };
            let Some(words) = self.image_text(&png)? else {
                return Ok(None);
            };
            text.push_str(&words);
            text.push(' ');
        }
        Ok(Some(collapse(&text)))
    }
}

/// Runs `cmd` with `input` on stdin; its stdout (at most [`MAX_OUTPUT`]),
/// `None` if the program is not installed.
fn pipe(
    mut cmd: Command,
    input: &[u8],
    what: &'static str,
) -> Result<Option<Vec<u8>>, ExtractError> {
    let failed = |message: String| ExtractError::Malformed {
        format: what,
        message,
    };
    let spawned = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("docgrid-server extract-worker: {what} is not installed: no OCR");
            return Ok(None);
        }
        Err(e) => return Err(failed(format!("cannot start {what}: {e}"))),
    };
    let mut stdin = child.stdin.take().expect("piped");
    let stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let output = std::thread::scope(|s| {
        s.spawn(move || {
            let _ = stdin.write_all(input);
        });
        let said = s.spawn(move || {
            let mut err = Vec::new();
            let _ = std::io::copy(&mut (&mut stderr).take(64 << 10), &mut err);
            let _ = std::io::copy(&mut stderr, &mut std::io::sink());
            String::from_utf8_lossy(&err).into_owned()
        });
        let mut out = Vec::new();
        let read = stdout.take(MAX_OUTPUT).read_to_end(&mut out);
        (read.map(|_| out), said.join().unwrap_or_default())
    });
    let status = child.wait().map_err(|e| failed(e.to_string()))?;
    let (out, err) = output;
    let out = out.map_err(|e| failed(e.to_string()))?;
    if !status.success() {
        let said = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Err(failed(format!("{what} failed ({status}): {said}")));
    }
    Ok(Some(out))
}
