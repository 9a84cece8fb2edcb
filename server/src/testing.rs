//! Fixtures for tests, here and in `tests/`.

/// A one-page PDF 1.4 whose page runs the `content` operators with Helvetica as
/// `/F1`, with a correct xref table.
pub fn one_page_pdf(content: &str) -> Vec<u8> {
    let stream = format!(
        "<< /Length {} >>\nstream\n{content}\nendstream",
        content.len()
    );
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] \
         /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        &stream,
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ];
    let mut pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut entries = String::new();
    for (i, body) in objects.iter().enumerate() {
        entries.push_str(&format!("{:010} 00000 n \n", pdf.len()));
        pdf.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let (n, xref_at) = (objects.len() + 1, pdf.len());
    let tail = format!(
        "xref\n0 {n}\n0000000000 65535 f \n{entries}trailer\n<< /Size {n} /Root 1 0 R >>\n\
         startxref\n{xref_at}\n%%EOF\n"
    );
    pdf.extend_from_slice(tail.as_bytes());
    pdf
}
