//! Fixtures for tests, here and in `tests/`.

/// A one-page PDF 1.4 whose page runs the `content` operators with Helvetica as
/// `/F1`, with a correct xref table.
pub fn one_page_pdf(content: &str) -> Vec<u8> {
    pdf_of(&page_objects(content, ""), "")
}

/// [`one_page_pdf`] with a document information dictionary (`info`, e.g.
/// `<< /Title (Q3) /Author (Ann) >>`).
pub fn pdf_with_info(content: &str, info: &str) -> Vec<u8> {
    let mut objects = page_objects(content, "");
    objects.push(info.to_string());
    pdf_of(&objects, "/Info 6 0 R")
}

/// A hostile PDF: its page draws a form that draws itself, forever (a
/// parser that follows it recurses until its stack overflows).
pub fn self_drawing_pdf() -> Vec<u8> {
    let mut objects = page_objects("/X1 Do", "/XObject << /X1 6 0 R >>");
    objects.push(
        "<< /Type /XObject /Subtype /Form /BBox [0 0 10 10] \
         /Resources << /XObject << /X1 6 0 R >> >> /Length 6 >>\nstream\n/X1 Do\nendstream"
            .to_string(),
    );
    pdf_of(&objects, "")
}

/// Catalog, pages, one page with `content` and Helvetica as `/F1` (plus
/// `resources`), its content stream and the font: objects 1 to 5.
fn page_objects(content: &str, resources: &str) -> Vec<String> {
    vec![
        "<< /Type /Catalog /Pages 2 0 R >>".into(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".into(),
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] \
             /Resources << /Font << /F1 5 0 R >> {resources} >> /Contents 4 0 R >>"
        ),
        format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len()
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".into(),
    ]
}

/// A PDF 1.4 of `objects` (numbered from 1; the first is the catalog) with
/// `trailer` entries beyond `/Size` and `/Root`, with a correct xref table.
pub fn pdf_of(objects: &[String], trailer: &str) -> Vec<u8> {
    let mut pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut entries = String::new();
    for (i, body) in objects.iter().enumerate() {
        entries.push_str(&format!("{:010} 00000 n \n", pdf.len()));
        pdf.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let (n, xref_at) = (objects.len() + 1, pdf.len());
    let tail = format!(
        "xref\n0 {n}\n0000000000 65535 f \n{entries}trailer\n<< /Size {n} /Root 1 0 R {trailer} >>\n\
         startxref\n{xref_at}\n%%EOF\n"
    );
    pdf.extend_from_slice(tail.as_bytes());
    pdf
}

/// A server on 127.0.0.1:0 in a background thread with its own runtime,
/// for tests and benchmarks. Dropping it stops the server and waits; a
/// panic of the server thread is re-raised there.
pub struct Background {
    /// Where it listens.
    pub addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Background {
    /// Serves `app`; returns once the listener is bound.
    pub fn start(app: std::sync::Arc<crate::app::App>) -> std::io::Result<Background> {
        Background::start_on(app, "127.0.0.1:0".parse().expect("an address"))
    }

    /// Serves `app` on `addr` (a loopback address, port 0 for any).
    pub fn start_on(
        app: std::sync::Arc<crate::app::App>,
        addr: std::net::SocketAddr,
    ) -> std::io::Result<Background> {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a tokio runtime");
            rt.block_on(async move {
                let bound = tokio::net::TcpListener::bind(addr).await;
                let listener = match bound.and_then(|l| Ok((l.local_addr()?, l))) {
                    Ok((addr, l)) => {
                        let _ = addr_tx.send(Ok(addr));
                        l
                    }
                    Err(e) => {
                        let _ = addr_tx.send(Err(e));
                        return;
                    }
                };
                let shutdown = async {
                    let _ = stopped.await;
                };
                crate::launch(app, listener, shutdown)
                    .await
                    .expect("serving the API");
            });
        });
        let addr = addr_rx
            .recv()
            .map_err(|_| std::io::Error::other("server thread died"))??;
        Ok(Background {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Stops the server (releasing the store) and waits for it.
    pub fn stop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take()
            && let Err(panic) = t.join()
            && !std::thread::panicking()
        {
            // A server that panicked fails the test or benchmark that ran it.
            std::panic::resume_unwind(panic);
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A whole server for other crates' tests: a store in a directory, its
/// [`App`](crate::app::App) served on 127.0.0.1:0 in the background.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// An admin token.
    pub token: String,
    /// The running server's state (its counters, its store).
    pub app: std::sync::Arc<crate::app::App>,
    bg: Option<Background>,
}

impl TestServer {
    /// A fresh embedded default store (native, 4+2) in `dir`, served.
    pub fn create(dir: &std::path::Path) -> TestServer {
        let data = crate::config::DataDir::new(dir);
        let cfg = data.default_config();
        let token = crate::config::init_store(&data, &cfg).expect("creating a store");
        TestServer::open(dir, &cfg, &token, crate::app::ServerRole::Primary)
    }

    /// Serves the store in `dir` as `role`.
    pub fn open(
        dir: &std::path::Path,
        cfg: &crate::config::ServerConfig,
        token: &str,
        role: crate::app::ServerRole,
    ) -> TestServer {
        let app = crate::app::App::open_as(crate::config::DataDir::new(dir), cfg, role)
            .expect("opening the server");
        let bg = Background::start(app.clone()).expect("serving");
        TestServer {
            url: format!("http://{}", bg.addr),
            token: token.to_string(),
            app,
            bg: Some(bg),
        }
    }

    /// Stops it: its port refuses connections from now on.
    pub fn kill(&mut self) {
        if let Some(mut bg) = self.bg.take() {
            bg.stop();
        }
    }

    /// Serves again on the address it had before [`TestServer::kill`]
    /// (a server that comes back).
    pub fn revive(&mut self) {
        if self.bg.is_some() {
            return;
        }
        let addr: std::net::SocketAddr = self
            .url
            .trim_start_matches("http://")
            .parse()
            .expect("the old address");
        self.bg = Some(Background::start_on(self.app.clone(), addr).expect("serving again"));
    }

    /// Requests it has answered so far.
    pub fn requests(&self) -> u64 {
        self.app
            .counters()
            .requests
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Waits until extraction caught up with every commit (text searchable,
    /// extracted keys committed): [`settle_extraction`].
    pub fn settle(&self) -> docgrid_core::api::ExtractionStats {
        settle_extraction(&self.app)
    }

    /// Content bytes it has received so far.
    pub fn bytes_received(&self) -> u64 {
        self.app
            .counters()
            .bytes_received
            .load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Waits until `app`'s extraction queue is empty and its text searchable
/// (at most 60 s, then panics with the queue's state); returns its stats.
pub fn settle_extraction(app: &crate::app::App) -> docgrid_core::api::ExtractionStats {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        app.sync_fulltext().expect("committing the full-text index");
        let stats = app
            .index()
            .read(crate::extract::queue::stats)
            .expect("reading the extraction queue");
        if stats.queued == 0 {
            return stats;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "extraction did not settle in 60 s: {stats:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
