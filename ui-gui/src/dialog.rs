//! The native file dialog of Import… (the desktop's file chooser portal,
//! else zenity), for where drops are unavailable (Wayland).

use std::path::PathBuf;

/// Asks the desktop for files to import into `dir`. Nothing picked
/// (cancelled, or no dialog could be shown) is an empty list.
pub async fn pick(dir: String) -> Result<Vec<PathBuf>, String> {
    let picked = rfd::AsyncFileDialog::new()
        .set_title(format!("Import into {dir}"))
        .pick_files()
        .await;
    Ok(picked
        .unwrap_or_default()
        .into_iter()
        .map(PathBuf::from)
        .collect())
}
