//! `[bot] avatar` and `[bot] header`: the account's profile images.
//!
//! Each is `""` (the image shipped in the binary, served by the bot),
//! `"none"`, an `https://` URL of an image hosted elsewhere, or a file path
//! (relative to the config's folder) of a PNG, JPEG, GIF or WebP image that
//! the bot serves itself. Files are checked when the config is loaded (so
//! `feedwatch check` reports a missing or non-image file with its key) and
//! read again on every request, so replacing the file needs no restart.

use std::path::{Path, PathBuf};

use url::Url;

/// Largest profile image file we serve (Mastodon accepts up to 8 MB).
pub const MAX_IMAGE_BYTES: u64 = 8 * 1024 * 1024;

/// The shipped avatar (512×512 PNG): `assets/avatar.png`.
pub const DEFAULT_AVATAR: &[u8] = include_bytes!("../../assets/avatar.png");
/// The shipped header (1500×500 PNG): `assets/header.png`.
pub const DEFAULT_HEADER: &[u8] = include_bytes!("../../assets/header.png");

/// Where one profile image comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileImage {
    /// The image shipped with feedwatch.
    Default,
    /// No image.
    None,
    /// A file the bot serves; its media type as sniffed when loaded.
    File {
        path: PathBuf,
        media_type: &'static str,
    },
    /// An image hosted elsewhere; the media type from the URL's extension
    /// when it has a known one.
    Url {
        url: Url,
        media_type: Option<&'static str>,
    },
}

impl ProfileImage {
    /// The file extension of the bot's own URL for this image
    /// (`/avatar.png`), `None` when the bot does not serve it.
    pub fn served_extension(&self) -> Option<&'static str> {
        match self {
            ProfileImage::Default => Some("png"),
            ProfileImage::File { media_type, .. } => extension_of(media_type),
            ProfileImage::None | ProfileImage::Url { .. } => None,
        }
    }
}

/// The media type of image bytes by their magic numbers: PNG, JPEG, GIF or WebP.
pub fn sniff_image(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// `png`, `jpg`, `gif` or `webp` for a media type from [`sniff_image`].
pub fn extension_of(media_type: &str) -> Option<&'static str> {
    match media_type {
        "image/png" => Some("png"),
        "image/jpeg" => Some("jpg"),
        "image/gif" => Some("gif"),
        "image/webp" => Some("webp"),
        _ => None,
    }
}

fn media_type_of_path(path: &str) -> Option<&'static str> {
    let ext = path.rsplit('.').next()?.to_ascii_lowercase();
    match ext.as_str() {
        "png" => Some("image/png"),
        "jpg" | "jpeg" => Some("image/jpeg"),
        "gif" => Some("image/gif"),
        "webp" => Some("image/webp"),
        _ => None,
    }
}

/// Reads the start of `path` and returns its media type, or why it is unusable.
pub fn check_image_file(path: &Path) -> Result<&'static str, String> {
    use std::io::Read;
    let meta =
        std::fs::metadata(path).map_err(|e| format!("cannot read \"{}\": {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("\"{}\" is not a file", path.display()));
    }
    if meta.len() > MAX_IMAGE_BYTES {
        return Err(format!(
            "\"{}\" is {} bytes, over the {MAX_IMAGE_BYTES}-byte limit",
            path.display(),
            meta.len()
        ));
    }
    let mut head = [0u8; 16];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|e| format!("cannot read \"{}\": {e}", path.display()))?;
    sniff_image(&head[..n]).ok_or_else(|| {
        format!(
            "\"{}\" is not a PNG, JPEG, GIF or WebP image",
            path.display()
        )
    })
}

/// Parses one `[bot] avatar`/`header` value; files resolve against `base_dir`.
pub fn parse_profile_image(raw: &str, base_dir: &Path) -> Result<ProfileImage, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(ProfileImage::Default);
    }
    if raw.eq_ignore_ascii_case("none") {
        return Ok(ProfileImage::None);
    }
    if raw.contains("://") {
        let url = Url::parse(raw).map_err(|e| format!("\"{raw}\" is not a URL: {e}"))?;
        if url.scheme() != "https" && url.scheme() != "http" {
            return Err(format!("scheme \"{}\" is not https", url.scheme()));
        }
        if url.host_str().is_none() {
            return Err("has no host".to_string());
        }
        let media_type = media_type_of_path(url.path());
        return Ok(ProfileImage::Url { url, media_type });
    }
    let path = base_dir.join(raw);
    let media_type = check_image_file(&path)?;
    Ok(ProfileImage::File { path, media_type })
}

/// The URL and media type an actor's `icon`/`image` carries for `img`:
/// the bot's own `{base}/{name}.{ext}` for the shipped image and files,
/// the URL for a remote image, nothing for `none`.
pub fn actor_image(
    img: &ProfileImage,
    base: &Url,
    name: &str,
) -> Option<(Url, Option<&'static str>)> {
    match img {
        ProfileImage::None => None,
        ProfileImage::Url { url, media_type } => Some((url.clone(), *media_type)),
        ProfileImage::Default | ProfileImage::File { .. } => {
            let ext = img.served_extension()?;
            let media_type = match img {
                ProfileImage::File { media_type, .. } => *media_type,
                _ => "image/png",
            };
            let mut url = base.clone();
            let path = format!("{}/{name}.{ext}", url.path().trim_end_matches('/'));
            url.set_path(&path);
            Some((url, Some(media_type)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_images_are_png() {
        assert_eq!(sniff_image(DEFAULT_AVATAR), Some("image/png"));
        assert_eq!(sniff_image(DEFAULT_HEADER), Some("image/png"));
    }

    #[test]
    fn values() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(
            parse_profile_image("", dir.path()),
            Ok(ProfileImage::Default)
        );
        assert_eq!(
            parse_profile_image("None", dir.path()),
            Ok(ProfileImage::None)
        );
        match parse_profile_image("https://cdn.example/a/me.JPG", dir.path()) {
            Ok(ProfileImage::Url { media_type, .. }) => assert_eq!(media_type, Some("image/jpeg")),
            other => panic!("{other:?}"),
        }
        assert!(parse_profile_image("ftp://x/a.png", dir.path()).is_err());
        let missing = parse_profile_image("nope.png", dir.path());
        assert!(missing.is_err_and(|e| e.contains("nope.png")));
        std::fs::write(dir.path().join("text.png"), "not an image").expect("write");
        let text = parse_profile_image("text.png", dir.path());
        assert!(text.is_err_and(|e| e.contains("not a PNG, JPEG, GIF or WebP")));
        std::fs::write(dir.path().join("pic"), b"GIF89a....").expect("write");
        assert_eq!(
            parse_profile_image("pic", dir.path()),
            Ok(ProfileImage::File {
                path: dir.path().join("pic"),
                media_type: "image/gif"
            })
        );
        let webp = b"RIFF\x10\x00\x00\x00WEBPVP8 ";
        assert_eq!(sniff_image(webp), Some("image/webp"));
        assert_eq!(sniff_image(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
    }
}
