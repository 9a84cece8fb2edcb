//! What the GUI's tests share: a tree over a real server, and running the
//! browser's effects until it settles.
#![allow(dead_code)]

use docgrid_client::tree::Tree;
use docgrid_client::{Client, ClientOptions};
use docgrid_gui::effects::{Desktop, settle_blocking};
use docgrid_gui::state::{Browser, Effect};
pub use docgrid_server::testing::TestServer;

/// A tree over `s`, as a second client would have.
pub fn tree(s: &TestServer) -> Tree {
    let c = Client::new(
        std::slice::from_ref(&s.url),
        &s.token,
        ClientOptions::default(),
    )
    .unwrap();
    Tree::new(c)
}

/// A fresh server with `docs` ((directory, name) pairs) created through
/// the tree, and a tree over it.
pub fn seeded(docs: &[(&str, &str)]) -> (tempfile::TempDir, TestServer, Tree) {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::create(dir.path());
    let t = tree(&s);
    for (d, n) in docs {
        t.create(d, n, n.as_bytes().into()).unwrap();
    }
    (dir, s, t)
}

/// A desktop whose opener does nothing, copies under the system's
/// temporary directory.
pub fn desktop() -> Desktop {
    Desktop {
        open_dir: std::env::temp_dir().join("docgrid-gui-tests-open"),
        opener: vec!["true".into()],
    }
}

/// Runs effects, and those their messages cause, until none are left.
pub fn settle(b: &mut Browser, t: &Tree, effects: Vec<Effect>) {
    settle_on(b, t, &desktop(), effects)
}

/// [`settle`] with the desktop `desk`.
pub fn settle_on(b: &mut Browser, t: &Tree, desk: &Desktop, effects: Vec<Effect>) {
    settle_blocking(b, t, desk, effects)
}

/// A one-page PDF (A6, Helvetica) whose page says `line`.
pub fn pdf_saying(line: &str) -> Vec<u8> {
    let stream = format!("BT /F1 18 Tf 20 200 Td ({line}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 298 420] \
         /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>"
            .to_string(),
        format!(
            "<< /Length {} >>\nstream\n{stream}\nendstream",
            stream.len()
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n{o}\nendobj\n", i + 1).bytes());
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).bytes());
    for o in offsets {
        out.extend(format!("{o:010} 00000 n \n").bytes());
    }
    out.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .bytes(),
    );
    out
}

/// A PNG of `w` × `h` pixels in one colour.
pub fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbaImage::from_pixel(w, h, image::Rgba([30, 120, 200, 255]));
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}
