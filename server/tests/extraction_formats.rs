//! Automatic metadata from real files made by the tools people use:
//! ImageMagick and exiftool for a photo, sox, lame and flac for songs,
//! gzip for compressed text (all installed by scripts/setup).

mod common;

use std::path::Path;
use std::process::Command;

use common::Server;
use docgrid_core::api::DocInfo;

/// Runs `cmd ARGS` in `dir`, failing the test with its stderr.
fn run(dir: &Path, cmd: &str, args: &[&str]) {
    let out = Command::new(cmd)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e} (scripts/setup installs it)"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn skip() -> bool {
    let skip = std::env::var("DOCGRID_SKIP_SYSTEM_TESTS").as_deref() == Ok("1");
    if skip {
        eprintln!("skipped: DOCGRID_SKIP_SYSTEM_TESTS=1");
    }
    skip
}

fn values(d: &DocInfo, key: &str) -> Vec<String> {
    d.meta.get(key).cloned().unwrap_or_default()
}

fn upload_file(s: &Server, dir: &Path, name: &str, extra: &str) -> DocInfo {
    let bytes = std::fs::read(dir.join(name)).unwrap();
    s.upload(&format!("name={name}{extra}"), bytes)
}

#[test]
fn a_photo_gets_its_camera_date_place_and_size() {
    if skip() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    run(
        w,
        "convert",
        &["-size", "640x480", "xc:skyblue", "photo.jpg"],
    );
    run(
        w,
        "exiftool",
        &[
            "-q",
            "-overwrite_original",
            "-Make=Canon",
            "-Model=Canon EOS 5D",
            "-DateTimeOriginal=2021:07:04 18:30:05",
            "-Orientation#=6",
            "-GPSLatitude=48.8584",
            "-GPSLatitudeRef=N",
            "-GPSLongitude=2.2945",
            "-GPSLongitudeRef=E",
            "photo.jpg",
        ],
    );
    run(w, "convert", &["-size", "300x200", "xc:red", "plain.png"]);
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create(dir.path());
    let photo = upload_file(&s, w, "photo.jpg", "");
    let png = upload_file(&s, w, "plain.png", "");
    assert_eq!(s.settle().failed, 0);
    let d: DocInfo = s.get_json(&format!("/v1/docs/{}", photo.id));
    assert_eq!(values(&d, "camera"), ["Canon EOS 5D"]);
    assert_eq!(values(&d, "taken"), ["2021-07-04T18:30:05"]);
    assert_eq!(values(&d, "orientation"), ["6"]);
    assert_eq!(values(&d, "gps"), ["48.858400,2.294500"]);
    assert_eq!(
        (values(&d, "width"), values(&d, "height")),
        (vec!["640".into()], vec!["480".into()])
    );
    let p: DocInfo = s.get_json(&format!("/v1/docs/{}", png.id));
    assert_eq!(
        (values(&p, "width"), values(&p, "height")),
        (vec!["300".into()], vec!["200".into()])
    );
    assert!(values(&p, "camera").is_empty());
    assert_eq!(s.search_ids("camera:Canon*"), vec![photo.id.to_string()]);
    assert_eq!(
        s.search_ids("taken>=2021-01-01 width>600"),
        vec![photo.id.to_string()]
    );
}

#[test]
fn songs_get_their_tags_and_are_listed_by_artist() {
    if skip() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    run(
        w,
        "sox",
        &[
            "-n", "-r", "44100", "-c", "1", "tone.wav", "synth", "3", "sine", "440",
        ],
    );
    run(
        w,
        "lame",
        &[
            "--quiet",
            "--ta",
            "Miles Davis",
            "--tl",
            "Kind of Blue",
            "--tt",
            "So What",
            "--tn",
            "1",
            "--ty",
            "1959",
            "--tg",
            "Jazz",
            "tone.wav",
            "so-what.mp3",
        ],
    );
    run(w, "flac", &["--silent", "-o", "blue.flac", "tone.wav"]);
    run(
        w,
        "metaflac",
        &[
            "--set-tag=ARTIST=John Coltrane",
            "--set-tag=ALBUM=Blue Train",
            "--set-tag=TITLE=Blue Train",
            "--set-tag=TRACKNUMBER=1",
            "--set-tag=DATE=1958-01-01",
            "--set-tag=GENRE=Jazz",
            "blue.flac",
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create(dir.path());
    let mp3 = upload_file(&s, w, "so-what.mp3", "");
    let flac = upload_file(&s, w, "blue.flac", "&artist=Trane");
    assert_eq!(s.settle().failed, 0);
    let d: DocInfo = s.get_json(&format!("/v1/docs/{}", mp3.id));
    assert_eq!(values(&d, "artist"), ["Miles Davis"]);
    assert_eq!(values(&d, "album"), ["Kind of Blue"]);
    assert_eq!(values(&d, "title"), ["So What"]);
    assert_eq!(values(&d, "track"), ["1"]);
    assert_eq!(values(&d, "year"), ["1959"]);
    assert_eq!(values(&d, "genre"), ["Jazz"]);
    assert_eq!(values(&d, "duration"), ["3"]);
    let listed = s.ls("/by/artist/Miles Davis/");
    assert!(listed.contains(&"so-what.mp3".to_string()), "{listed:?}");
    let f: DocInfo = s.get_json(&format!("/v1/docs/{}", flac.id));
    assert_eq!(values(&f, "artist"), ["Trane"], "the user's value stands");
    assert_eq!(values(&f, "album"), ["Blue Train"]);
    assert_eq!(values(&f, "year"), ["1958"]);
    assert_eq!(values(&f, "duration"), ["3"]);
    assert_eq!(
        s.search_ids("year>=1959 genre:Jazz"),
        vec![mp3.id.to_string()]
    );
}

#[test]
fn gzipped_text_is_searchable_and_a_bomb_is_stopped() {
    if skip() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    std::fs::write(w.join("notes.txt"), "the ocelot sleeps at noon\n").unwrap();
    run(w, "gzip", &["-k", "notes.txt"]);
    // 200 MiB of zeros: about 200 KiB compressed.
    let zeros = std::fs::File::create(w.join("bomb.txt")).unwrap();
    zeros.set_len(200 << 20).unwrap();
    run(w, "gzip", &["bomb.txt"]);
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create(dir.path());
    let notes = upload_file(&s, w, "notes.txt.gz", "");
    let bomb = upload_file(&s, w, "bomb.txt.gz", "");
    let settled = s.settle();
    assert_eq!(s.search_ids("ocelot"), vec![notes.id.to_string()]);
    assert_eq!(settled.failed, 1, "{settled:?}");
    let f = &settled.failures[0];
    assert_eq!(f.id, bomb.id);
    assert!(f.reason.contains("decompression bomb"), "{f:?}");
}

#[test]
fn office_documents_get_their_text_title_and_author() {
    if skip() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let md = "---\ntitle: Tax Notes\nauthor: Ann Lee\n---\n\nThe pangolin forgot its receipt.\n\n\
              # Second\n\nThe quokka kept it.\n";
    std::fs::write(w.join("notes.md"), md).unwrap();
    for out in ["notes.docx", "notes.odt", "notes.pptx"] {
        run(w, "pandoc", &["notes.md", "-o", out]);
    }
    // A DOCX whose one part expands from about 200 KiB to 200 MiB.
    let bomb = "import zipfile\n\
        with zipfile.ZipFile('bomb.docx', 'w', zipfile.ZIP_DEFLATED) as z:\n\
        \x20   z.writestr('[Content_Types].xml', '<Types/>')\n\
        \x20   z.writestr('word/document.xml', '<w:document>' + ' ' * (200 << 20) + '</w:document>')\n";
    run(w, "python3", &["-c", bomb]);
    // A workbook with the parts a spreadsheet's text and title live in.
    let xlsx = "import zipfile\n\
        ns = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main'\n\
        with zipfile.ZipFile('book.xlsx', 'w', zipfile.ZIP_DEFLATED) as z:\n\
        \x20   z.writestr('[Content_Types].xml', '<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"/>')\n\
        \x20   z.writestr('xl/workbook.xml', f'<workbook xmlns=\"{ns}\"/>')\n\
        \x20   z.writestr('xl/sharedStrings.xml', f'<sst xmlns=\"{ns}\"><si><t>narwhal</t></si><si><t>budget lines</t></si></sst>')\n\
        \x20   z.writestr('docProps/core.xml', '<cp:coreProperties xmlns:cp=\"http://schemas.openxmlformats.org/package/2006/metadata/core-properties\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><dc:title>Budget</dc:title><dc:creator>Ann Lee</dc:creator></cp:coreProperties>')\n";
    run(w, "python3", &["-c", xlsx]);
    // An OpenDocument spreadsheet and presentation: the mimetype entry
    // first and stored, then meta.xml and content.xml.
    let odf = "import zipfile\n\
        o = 'urn:oasis:names:tc:opendocument:xmlns:'\n\
        def odf(name, mime, body):\n\
        \x20   with zipfile.ZipFile(name, 'w') as z:\n\
        \x20       z.writestr(zipfile.ZipInfo('mimetype'), mime)\n\
        \x20       z.writestr('meta.xml', f'<office:document-meta xmlns:office=\"{o}office:1.0\" xmlns:meta=\"{o}meta:1.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><office:meta><dc:title>Q3 Figures</dc:title><meta:initial-creator>Bo Chen</meta:initial-creator></office:meta></office:document-meta>', zipfile.ZIP_DEFLATED)\n\
        \x20       z.writestr('content.xml', f'<office:document-content xmlns:office=\"{o}office:1.0\" xmlns:text=\"{o}text:1.0\" xmlns:table=\"{o}table:1.0\" xmlns:draw=\"{o}drawing:1.0\"><office:body>{body}</office:body></office:document-content>', zipfile.ZIP_DEFLATED)\n\
        odf('sheet.ods', 'application/vnd.oasis.opendocument.spreadsheet', '<office:spreadsheet><table:table><table:table-row><table:table-cell><text:p>okapi</text:p></table:table-cell><table:table-cell><text:p>ledger</text:p></table:table-cell></table:table-row></table:table></office:spreadsheet>')\n\
        odf('deck.odp', 'application/vnd.oasis.opendocument.presentation', '<office:presentation><draw:page><draw:frame><draw:text-box><text:p>axolotl roadmap</text:p></draw:text-box></draw:frame></draw:page></office:presentation>')\n";
    run(w, "python3", &["-c", odf]);
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create(dir.path());
    let docs: Vec<DocInfo> = ["notes.docx", "notes.odt", "notes.pptx"]
        .iter()
        .map(|n| upload_file(&s, w, n, ""))
        .collect();
    let bomb = upload_file(&s, w, "bomb.docx", "");
    let book = upload_file(&s, w, "book.xlsx", "");
    let sheet = upload_file(&s, w, "sheet.ods", "");
    let deck = upload_file(&s, w, "deck.odp", "");
    let settled = s.settle();
    for (d, word) in [(&sheet, "okapi"), (&deck, "axolotl")] {
        let got: DocInfo = s.get_json(&format!("/v1/docs/{}", d.id));
        assert_eq!(values(&got, "title"), ["Q3 Figures"], "{}", d.name);
        assert_eq!(values(&got, "author"), ["Bo Chen"], "{}", d.name);
        assert_eq!(s.search_ids(word), vec![d.id.to_string()], "{}", d.name);
    }
    assert_eq!(
        s.search_ids("\"okapi ledger\""),
        vec![sheet.id.to_string()],
        "cells are words apart"
    );
    let b: DocInfo = s.get_json(&format!("/v1/docs/{}", book.id));
    assert_eq!(values(&b, "title"), ["Budget"]);
    assert_eq!(values(&b, "author"), ["Ann Lee"]);
    assert_eq!(s.search_ids("narwhal"), vec![book.id.to_string()]);
    for d in &docs {
        let d: DocInfo = s.get_json(&format!("/v1/docs/{}", d.id));
        assert_eq!(values(&d, "title"), ["Tax Notes"], "{}", d.name);
        assert_eq!(values(&d, "author"), ["Ann Lee"], "{}", d.name);
        assert!(!values(&d, "date").is_empty(), "{}", d.name);
    }
    let mut ids: Vec<String> = docs.iter().map(|d| d.id.to_string()).collect();
    ids.sort();
    assert_eq!(s.search_ids("pangolin"), ids, "the text of all three");
    assert_eq!(s.search_ids("\"quokka kept\""), ids);
    assert_eq!(s.search_ids("title:\"Tax Notes\"").len(), 3);
    assert_eq!(settled.failed, 1, "{settled:?}");
    assert_eq!(settled.failures[0].id, bomb.id);
    assert!(
        settled.failures[0].reason.contains("decompression bomb"),
        "{settled:?}"
    );
}

#[test]
fn a_photographed_receipt_and_a_scanned_pdf_are_found_by_their_words() {
    if skip() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let label = |text: &str, out: &str| {
        run(
            w,
            "convert",
            &[
                "-size",
                "1400x300",
                "xc:white",
                "-pointsize",
                "72",
                "-fill",
                "black",
                "-annotate",
                "+40+170",
                text,
                out,
            ],
        )
    };
    label("Receipt pangolin marmalade", "receipt.png");
    label("Invoice wombat lighthouse", "page.png");
    // A PDF holding only a picture of the page: no text layer.
    run(w, "img2pdf", &["page.png", "-o", "scan.pdf"]);
    label("ignored", "icon.png");
    run(w, "convert", &["icon.png", "-resize", "60x13!", "icon.png"]);
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create(dir.path());
    let receipt = upload_file(&s, w, "receipt.png", "");
    let scan = upload_file(&s, w, "scan.pdf", "");
    upload_file(&s, w, "icon.png", "");
    let settled = s.settle();
    assert_eq!(settled.failed, 0, "{settled:?}");
    assert_eq!(
        s.search_ids("pangolin marmalade"),
        vec![receipt.id.to_string()]
    );
    assert_eq!(s.search_ids("wombat"), vec![scan.id.to_string()]);
    assert_eq!(s.search_ids("lighthouse").len(), 1);
    let text: docgrid_core::api::DocText = s.get_json(&format!("/v1/docs/{}/text", scan.id));
    assert!(text.text.contains("Invoice wombat lighthouse"), "{text:?}");
}
