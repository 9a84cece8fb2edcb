//! Pictures and sound: image dimensions (`width`, `height`), a photo's
//! EXIF (`camera`, `lens`, `taken`, `orientation`, `gps`), and an audio
//! file's tags and length (`artist`, `album`, `title`, `track`, `year`,
//! `genre`, `duration`).

use std::io::Cursor;

use exif::{In, Tag, Value};

use super::{Meta, put};

/// Width and height from an image's header (PNG, JPEG, GIF, WebP, ...);
/// nothing is decoded.
pub fn image_meta(bytes: &[u8], out: &mut Meta) {
    let reader = image::ImageReader::new(Cursor::new(bytes)).with_guessed_format();
    if let Ok((w, h)) = reader
        .map_err(image::ImageError::from)
        .and_then(|r| r.into_dimensions())
    {
        put(out, "width", w.to_string());
        put(out, "height", h.to_string());
    }
}

/// A photo's EXIF: `camera` (make and model), `lens`, `taken` (RFC 3339,
/// local time as recorded, with its offset when given), `orientation`
/// (1–8), `gps` (`lat,lon` in degrees), and `width`/`height` when the
/// header gave none.
pub fn exif_meta(bytes: &[u8], out: &mut Meta) {
    let Ok(exif) = exif::Reader::new().read_from_container(&mut Cursor::new(bytes)) else {
        return;
    };
    let text = |tag| {
        exif.get_field(tag, In::PRIMARY)
            .and_then(|f| match &f.value {
                Value::Ascii(parts) => parts
                    .first()
                    .map(|p| String::from_utf8_lossy(p).trim().to_string()),
                _ => None,
            })
    };
    let make = text(Tag::Make).unwrap_or_default();
    let model = text(Tag::Model).unwrap_or_default();
    // "Canon Canon EOS 5D" reads "Canon EOS 5D".
    let camera = if model.to_lowercase().starts_with(&make.to_lowercase()) {
        model
    } else {
        format!("{make} {model}")
    };
    put(out, "camera", camera.trim().to_string());
    if let Some(lens) = text(Tag::LensModel) {
        put(out, "lens", lens);
    }
    let taken = text(Tag::DateTimeOriginal).or_else(|| text(Tag::DateTime));
    if let Some(t) = taken.and_then(|t| exif_date(&t, text(Tag::OffsetTimeOriginal))) {
        put(out, "taken", t);
    }
    if let Some(o) = exif
        .get_field(Tag::Orientation, In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
    {
        put(out, "orientation", o.to_string());
    }
    if let Some(gps) = gps(&exif) {
        put(out, "gps", gps);
    }
    for (tag, key) in [
        (Tag::PixelXDimension, "width"),
        (Tag::PixelYDimension, "height"),
    ] {
        if !out.contains_key(key)
            && let Some(n) = exif
                .get_field(tag, In::PRIMARY)
                .and_then(|f| f.value.get_uint(0))
        {
            put(out, key, n.to_string());
        }
    }
}

/// An audio file's tags (MP3's ID3, FLAC's and Ogg's Vorbis comments,
/// M4A's atoms, WAV's INFO/ID3) and its length in whole seconds.
pub fn audio_meta(bytes: &[u8], out: &mut Meta) {
    use lofty::prelude::{Accessor, AudioFile, ItemKey, TaggedFileExt};
    let Ok(probe) = lofty::probe::Probe::new(Cursor::new(bytes)).guess_file_type() else {
        return;
    };
    let Ok(file) = probe.read() else { return };
    let secs = file.properties().duration().as_secs_f64();
    if secs >= 0.5 {
        put(out, "duration", format!("{}", secs.round() as u64));
    }
    let Some(tag) = file.primary_tag().or_else(|| file.first_tag()) else {
        return;
    };
    for (key, value) in [
        ("artist", tag.artist()),
        ("album", tag.album()),
        ("title", tag.title()),
        ("genre", tag.genre()),
    ] {
        if let Some(v) = value {
            put(out, key, v.to_string());
        }
    }
    if let Some(n) = tag.track() {
        put(out, "track", n.to_string());
    }
    let date = [
        ItemKey::Year,
        ItemKey::RecordingDate,
        ItemKey::OriginalReleaseDate,
    ]
    .into_iter()
    .find_map(|k| tag.get_string(k).map(str::to_string));
    if let Some(year) = date.as_deref().and_then(year_of) {
        put(out, "year", year);
    }
}

/// The year a date starts with (`1959`, `1959-08-17`, `1959-08-17T00:00`).
fn year_of(date: &str) -> Option<String> {
    let y: String = date.trim().chars().take(4).collect();
    (y.len() == 4 && y.chars().all(|c| c.is_ascii_digit())).then_some(y)
}

/// `YYYY:MM:DD HH:MM:SS` (and an offset like `+02:00`) as RFC 3339.
pub fn exif_date(s: &str, offset: Option<String>) -> Option<String> {
    let s = s.trim();
    let (date, time) = s.split_once(' ')?;
    let d: Vec<&str> = date.split(':').collect();
    let ok = d.len() == 3
        && d.iter().all(|p| p.chars().all(|c| c.is_ascii_digit()))
        && d[0].len() == 4
        && d[0] != "0000";
    if !ok || time.len() < 8 {
        return None;
    }
    let zone = offset
        .filter(|o| o.len() == 6 && (o.starts_with('+') || o.starts_with('-')))
        .unwrap_or_default();
    Some(format!("{}-{}-{}T{}{zone}", d[0], d[1], d[2], &time[..8]))
}

/// GPS position as `lat,lon` in signed decimal degrees (6 places).
fn gps(exif: &exif::Exif) -> Option<String> {
    let degrees = |tag, sign_tag, negative: u8| -> Option<f64> {
        let Value::Rational(parts) = &exif.get_field(tag, In::PRIMARY)?.value else {
            return None;
        };
        let [d, m, s] = parts.get(0..3)? else {
            return None;
        };
        let value = d.to_f64() + m.to_f64() / 60.0 + s.to_f64() / 3600.0;
        let sign = match &exif.get_field(sign_tag, In::PRIMARY)?.value {
            Value::Ascii(v) if v.first().and_then(|r| r.first()) == Some(&negative) => -1.0,
            _ => 1.0,
        };
        value.is_finite().then_some(sign * value)
    };
    let lat = degrees(Tag::GPSLatitude, Tag::GPSLatitudeRef, b'S')?;
    let lon = degrees(Tag::GPSLongitude, Tag::GPSLongitudeRef, b'W')?;
    Some(format!("{lat:.6},{lon:.6}"))
}

#[cfg(test)]
mod tests {
    use super::exif_date;

    #[test]
    fn exif_dates_become_rfc3339() {
        assert_eq!(
            exif_date("2021:07:04 18:30:05", None).unwrap(),
            "2021-07-04T18:30:05"
        );
        assert_eq!(
            exif_date("2021:07:04 18:30:05", Some("+02:00".into())).unwrap(),
            "2021-07-04T18:30:05+02:00"
        );
        assert_eq!(exif_date("0000:00:00 00:00:00", None), None);
        assert_eq!(exif_date("yesterday", None), None);
    }
}
