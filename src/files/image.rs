//! What an uploaded image is, read from its bytes and never from its name
//! or declared type: PNG, JPEG or WebP, with its dimensions.

/// The image kinds accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Png,
    Jpeg,
    Webp,
}

impl Format {
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Webp => "image/webp",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Jpeg => "jpg",
            Self::Webp => "webp",
        }
    }

    /// The format a stored file's extension names.
    pub fn of_extension(extension: &str) -> Option<Self> {
        [Self::Png, Self::Jpeg, Self::Webp]
            .into_iter()
            .find(|f| f.extension() == extension)
    }
}

/// An image's format and size in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sniffed {
    pub format: Format,
    pub width: u32,
    pub height: u32,
}

/// Largest side accepted, in pixels.
pub const MAX_SIDE: u32 = 10_000;

fn be16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_be_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
    ])))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ]))
}

fn le24(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        0,
    ]))
}

fn png(b: &[u8]) -> Option<(u32, u32)> {
    if !b.starts_with(b"\x89PNG\r\n\x1a\n") || b.get(12..16)? != b"IHDR" {
        return None;
    }
    Some((be32(b, 16)?, be32(b, 20)?))
}

fn jpeg(b: &[u8]) -> Option<(u32, u32)> {
    if !b.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut at = 2;
    loop {
        while *b.get(at)? != 0xFF {
            at += 1;
        }
        while *b.get(at)? == 0xFF {
            at += 1;
        }
        let marker = *b.get(at)?;
        at += 1;
        match marker {
            // Markers that carry no length.
            0x01 | 0xD0..=0xD8 => continue,
            // Start of frame (not DHT, JPG or DAC): height then width.
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                return Some((be16(b, at + 5)?, be16(b, at + 3)?));
            }
            // Start of scan or end of image before any frame: not an image.
            0xD9 | 0xDA => return None,
            _ => at += usize::try_from(be16(b, at)?).ok()?,
        }
    }
}

fn webp(b: &[u8]) -> Option<(u32, u32)> {
    if b.get(0..4)? != b"RIFF" || b.get(8..12)? != b"WEBP" {
        return None;
    }
    match b.get(12..16)? {
        b"VP8 " => {
            // A key frame: its start code, then 14-bit width and height.
            if b.get(23..26)? != [0x9D, 0x01, 0x2A] {
                return None;
            }
            let w = u32::from(u16::from_le_bytes([*b.get(26)?, *b.get(27)?])) & 0x3FFF;
            let h = u32::from(u16::from_le_bytes([*b.get(28)?, *b.get(29)?])) & 0x3FFF;
            Some((w, h))
        }
        b"VP8L" => {
            if *b.get(20)? != 0x2F {
                return None;
            }
            let bits = u32::from_le_bytes([*b.get(21)?, *b.get(22)?, *b.get(23)?, *b.get(24)?]);
            Some(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
        }
        b"VP8X" => Some((le24(b, 24)? + 1, le24(b, 27)? + 1)),
        _ => None,
    }
}

/// The image these bytes hold, or None when they are not a PNG, JPEG or
/// WebP of a sensible size.
pub fn sniff(bytes: &[u8]) -> Option<Sniffed> {
    let (format, (width, height)) = if let Some(size) = png(bytes) {
        (Format::Png, size)
    } else if let Some(size) = jpeg(bytes) {
        (Format::Jpeg, size)
    } else {
        (Format::Webp, webp(bytes)?)
    };
    let sensible = |side: u32| (1..=MAX_SIDE).contains(&side);
    (sensible(width) && sensible(height)).then_some(Sniffed {
        format,
        width,
        height,
    })
}
