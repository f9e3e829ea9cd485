//! Bytes in, pixels out, bytes out: recognising a format, checking that a file is
//! whole, reading its header, decoding under limits, encoding.
//!
//! Nothing is decoded before its header has been read and its allocation estimated:
//! the `image` crate's decoders do not all honour `Limits::max_alloc` (JPEG and WebP
//! ignore it, PNG applies it to its own buffers only, and `DynamicImage::from_decoder`
//! allocates the output without asking), and an animated GIF's frames were once
//! decoded with no limit at all. So [`inspect`] reads dimensions from the header (for
//! GIF, by walking the blocks without decoding a pixel) and refuses what
//! `max_alloc_mb` does not allow; [`decode`] needs the resulting [`Header`].

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType as PngFilter, PngEncoder};
use image::metadata::Orientation;
use image::{ColorType, DynamicImage, ImageDecoder, ImageEncoder, ImageFormat, ImageReader};

use crate::config::ImagesConfig;

const MIB: u64 = 1024 * 1024;

/// The format from the bytes themselves; the Content-Type header is not trusted.
pub(crate) fn sniff(bytes: &[u8]) -> Result<ImageFormat, String> {
    match image::guess_format(bytes) {
        Ok(f @ (ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::Gif | ImageFormat::WebP)) => {
            Ok(f)
        }
        Ok(f) => Err(format!(
            "{f:?} images are not supported (JPEG, PNG, GIF and WebP are)"
        )),
        Err(_) => Err("not an image (the bytes are not JPEG, PNG, GIF or WebP)".into()),
    }
}

/// Whether the file ends where its format says it should. Decoders fill a cut-off
/// image with grey rather than fail, so this is checked before decoding.
pub(super) fn is_complete(bytes: &[u8], format: ImageFormat) -> bool {
    let find_last = |needle: &[u8]| bytes.windows(needle.len()).rposition(|w| w == needle);
    match format {
        // The end-of-image marker after the last start-of-scan (an EXIF thumbnail has
        // its own pair earlier in the file).
        ImageFormat::Jpeg => match (find_last(&[0xFF, 0xDA]), find_last(&[0xFF, 0xD9])) {
            (Some(sos), Some(eoi)) => eoi > sos,
            _ => false,
        },
        ImageFormat::Png => find_last(b"IEND").is_some_and(|at| at + 8 <= bytes.len()),
        ImageFormat::Gif => bytes.iter().rev().take(16).any(|&b| b == 0x3B),
        ImageFormat::WebP => bytes
            .get(4..8)
            .map(|n| u32::from_le_bytes([n[0], n[1], n[2], n[3]]) as usize + 8)
            .is_some_and(|len| len <= bytes.len()),
        _ => true,
    }
}

/// What an image's header promises, read without decoding a pixel.
#[derive(Debug, Clone)]
pub(super) struct Header {
    pub format: ImageFormat,
    /// As stored (for a GIF, the logical screen).
    pub width: u32,
    pub height: u32,
    /// Width and height once turned upright by the EXIF orientation.
    pub upright: (u32, u32),
    /// Bytes per pixel of the decoder's output, before it is brought to 8 bits.
    pub decoded_bpp: u64,
    /// Whether the decoded picture has an alpha channel (RGBA once brought to 8 bits).
    pub has_alpha: bool,
    /// What one decode allocates: the output plus the decoder's own buffers.
    pub decode_bytes: u64,
    /// A second buffer made beside the decoded one: turning it upright by a quarter
    /// turn, or bringing it to 8-bit RGB(A). Zero when neither is needed.
    pub copy_bytes: u64,
    /// Frames in the file (GIF; 1 for the other formats).
    pub frames: u64,
}

impl Header {
    pub fn is_animated(&self) -> bool {
        self.frames > 1
    }

    pub fn pixels(&self) -> u64 {
        self.width as u64 * self.height as u64
    }
}

/// Reads the header and refuses an image whose dimensions or decode allocation the
/// settings do not allow. Allocates nothing that grows with the picture's size.
pub(super) fn inspect(
    bytes: &[u8],
    format: ImageFormat,
    settings: &ImagesConfig,
) -> Result<Header, String> {
    let header = if format == ImageFormat::Gif {
        gif_header(bytes, settings)?
    } else {
        decoder_header(bytes, format, settings)?
    };
    let allowed = settings.max_alloc_mb.saturating_mul(MIB);
    if header.decode_bytes > allowed {
        return Err(format!(
            "the image is too large to decode safely ({}×{} pixels would need {} MiB; \
             max_alloc_mb is {})",
            header.width,
            header.height,
            header.decode_bytes.div_ceil(MIB),
            settings.max_alloc_mb
        ));
    }
    Ok(header)
}

/// The buffers a decoder keeps besides its output, for the formats whose decoder does
/// not count them against `Limits`.
fn working_bytes(bytes: &[u8], format: ImageFormat, pixels: u64) -> u64 {
    match format {
        // The decoder copies the file; a progressive one keeps every coefficient
        // (an i16 per pixel and component) until the last scan.
        ImageFormat::Jpeg => {
            let coefficients = match jpeg_frame(bytes) {
                Some((false, _)) => 0,
                Some((true, components)) => pixels * 2 * components as u64,
                None => pixels * 2 * 4,
            };
            bytes.len() as u64 + coefficients
        }
        // Lossless WebP decodes to 4 bytes a pixel (lossy to less); an animation adds
        // its canvas.
        ImageFormat::WebP => pixels * 4 * if webp_is_animated(bytes) { 2 } else { 1 },
        // The PNG decoder reads rows into the output; its own buffers are held to
        // `max_alloc` by the png crate.
        _ => 0,
    }
}

/// Whether a JPEG is progressive, and its number of components, from its frame header.
fn jpeg_frame(bytes: &[u8]) -> Option<(bool, u8)> {
    let mut at = 2;
    while at + 4 <= bytes.len() {
        if bytes[at] != 0xFF {
            return None;
        }
        let marker = bytes[at + 1];
        match marker {
            0xFF => at += 1,
            0x01 | 0xD0..=0xD8 => at += 2,
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                let progressive = matches!(marker, 0xC2 | 0xC6 | 0xCA | 0xCE);
                return bytes.get(at + 9).map(|&n| (progressive, n));
            }
            _ => at += 2 + u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]) as usize,
        }
    }
    None
}

/// The animation flag of an extended (VP8X) WebP.
fn webp_is_animated(bytes: &[u8]) -> bool {
    bytes.get(12..16) == Some(b"VP8X") && bytes.get(20).is_some_and(|&flags| flags & 0x02 != 0)
}

/// The header as the decoder reads it (every format but GIF).
fn decoder_header(
    bytes: &[u8],
    format: ImageFormat,
    settings: &ImagesConfig,
) -> Result<Header, String> {
    let mut decoder = decoder(bytes, format, settings)?;
    let (width, height) = decoder.dimensions();
    check_side(width, height, settings)?;
    let color = decoder.color_type();
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let pixels = width as u64 * height as u64;
    let decoded_bpp = color.bytes_per_pixel() as u64;
    let channels = if color.has_alpha() { 4 } else { 3 };
    let is_8bit = matches!(color, ColorType::Rgb8 | ColorType::Rgba8);
    // A half turn and flips happen in place; a quarter turn either way makes a new buffer.
    let quarter_turn = matches!(
        orientation,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    );
    Ok(Header {
        format,
        width,
        height,
        upright: if quarter_turn {
            (height, width)
        } else {
            (width, height)
        },
        decoded_bpp,
        has_alpha: color.has_alpha(),
        decode_bytes: decoder
            .total_bytes()
            .saturating_add(working_bytes(bytes, format, pixels)),
        copy_bytes: pixels
            * match (quarter_turn, is_8bit) {
                (true, _) => decoded_bpp.max(channels),
                (false, false) => channels,
                (false, true) => 0,
            },
        frames: 1,
    })
}

fn check_side(w: u32, h: u32, settings: &ImagesConfig) -> Result<(), String> {
    if w > settings.max_dimension || h > settings.max_dimension {
        return Err(format!(
            "the image is too large to decode safely ({w}×{h} pixels; the limit is {} on a side)",
            settings.max_dimension
        ));
    }
    Ok(())
}

/// A GIF's header from its blocks: the decoder's output is the logical screen as
/// RGBA, plus the first frame's own buffer when it does not cover the screen.
fn gif_header(bytes: &[u8], settings: &ImagesConfig) -> Result<Header, String> {
    let layout = gif_layout(bytes)?;
    let (width, height) = layout.screen;
    check_side(width, height, settings)?;
    check_side(layout.widest_frame, layout.tallest_frame, settings)?;
    let (fw, fh) = layout.first_frame;
    Ok(Header {
        format: ImageFormat::Gif,
        width,
        height,
        upright: (width, height),
        decoded_bpp: 4,
        has_alpha: true,
        decode_bytes: (width as u64 * height as u64 + fw as u64 * fh as u64) * 4,
        copy_bytes: 0,
        frames: layout.frames,
    })
}

/// What a GIF's blocks say.
#[derive(Debug, PartialEq)]
pub(super) struct GifLayout {
    pub screen: (u32, u32),
    pub frames: u64,
    pub first_frame: (u32, u32),
    pub widest_frame: u32,
    pub tallest_frame: u32,
}

/// Walks a GIF's blocks, skipping the compressed data: frames are counted and sized
/// without decoding any of them. Stops at the trailer, at the end of the bytes, or at
/// a block it does not know (where decoders stop too).
pub(super) fn gif_layout(bytes: &[u8]) -> Result<GifLayout, String> {
    let invalid = || "cannot decode the image (not a valid GIF)".to_string();
    if bytes.len() < 13 || !bytes.starts_with(b"GIF") {
        return Err(invalid());
    }
    let u16_at = |at: usize| {
        bytes
            .get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as u32)
    };
    let color_table = |flags: u8| {
        if flags & 0x80 != 0 {
            3 << ((flags & 7) + 1)
        } else {
            0
        }
    };
    let mut layout = GifLayout {
        screen: (
            u16_at(6).ok_or_else(invalid)?,
            u16_at(8).ok_or_else(invalid)?,
        ),
        frames: 0,
        first_frame: (0, 0),
        widest_frame: 0,
        tallest_frame: 0,
    };
    let mut at = 13 + color_table(bytes[10]);
    loop {
        match bytes.get(at) {
            // Extension: label, then data sub-blocks.
            Some(0x21) => at = skip_sub_blocks(bytes, at + 2),
            // Image descriptor: position and size, flags, an optional local colour
            // table, the LZW code size, then data sub-blocks.
            Some(0x2C) => {
                let (Some(w), Some(h), Some(&flags)) =
                    (u16_at(at + 5), u16_at(at + 7), bytes.get(at + 9))
                else {
                    break;
                };
                if layout.frames == 0 {
                    layout.first_frame = (w, h);
                }
                layout.frames += 1;
                layout.widest_frame = layout.widest_frame.max(w);
                layout.tallest_frame = layout.tallest_frame.max(h);
                at = skip_sub_blocks(bytes, at + 10 + color_table(flags) + 1);
            }
            _ => break,
        }
    }
    Ok(layout)
}

/// The position after a chain of sub-blocks (each a length byte and that many bytes,
/// ended by a zero length), or past the end when the chain is cut off.
fn skip_sub_blocks(bytes: &[u8], mut at: usize) -> usize {
    while let Some(&len) = bytes.get(at) {
        at += 1;
        if len == 0 {
            return at;
        }
        at += len as usize;
    }
    usize::MAX
}

/// The decoder's limits: `max_image_*` are enforced by every decoder; `max_alloc` by
/// some, which is why [`inspect`] estimates it first.
pub(super) fn limits(settings: &ImagesConfig) -> image::Limits {
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(settings.max_dimension);
    limits.max_image_height = Some(settings.max_dimension);
    limits.max_alloc = Some(settings.max_alloc_mb.saturating_mul(MIB));
    limits
}

pub(super) fn describe(e: image::ImageError) -> String {
    match e {
        image::ImageError::Limits(l) => format!("the image is too large to decode safely ({l})"),
        other => format!("cannot decode the image ({other})"),
    }
}

/// A decoder under [`limits`]; only the header has been read.
fn decoder<'a>(
    bytes: &'a [u8],
    format: ImageFormat,
    settings: &ImagesConfig,
) -> Result<impl ImageDecoder + 'a, String> {
    let mut r = ImageReader::new(Cursor::new(bytes));
    r.set_format(format);
    r.limits(limits(settings));
    r.into_decoder().map_err(describe)
}

/// Decoded under the limits, turned upright by its EXIF orientation, and brought to
/// 8-bit RGB or RGBA. `header` is what [`inspect`] allowed.
pub(super) fn decode(
    bytes: &[u8],
    header: &Header,
    settings: &ImagesConfig,
) -> Result<DynamicImage, String> {
    let mut decoder = decoder(bytes, header.format, settings)?;
    if (decoder.dimensions(), decoder.total_bytes())
        != (
            (header.width, header.height),
            header.pixels() * header.decoded_bpp,
        )
    {
        return Err("cannot decode the image (its header changed between two reads)".into());
    }
    // `from_decoder` allocates the output without asking the limits: reserve it, so
    // what the decoder allocates besides counts against what is left.
    let mut limits = limits(settings);
    limits.reserve(decoder.total_bytes()).map_err(describe)?;
    decoder.set_limits(limits).map_err(describe)?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(describe)?;
    img.apply_orientation(orientation);
    // 16-bit and float images are brought to 8 bits: that is what the web shows.
    Ok(match img {
        DynamicImage::ImageRgb8(_) | DynamicImage::ImageRgba8(_) => img,
        other if other.color().has_alpha() => DynamicImage::ImageRgba8(other.to_rgba8()),
        other => DynamicImage::ImageRgb8(other.to_rgb8()),
    })
}

pub(super) fn has_transparency(img: &DynamicImage) -> bool {
    match img {
        DynamicImage::ImageRgba8(buf) => buf.pixels().any(|p| p.0[3] < 255),
        _ => false,
    }
}

pub(super) fn encode_fallback(
    img: &DynamicImage,
    alpha: bool,
    settings: &ImagesConfig,
) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let result = if alpha {
        let rgba = img.to_rgba8();
        PngEncoder::new_with_quality(&mut out, CompressionType::Best, PngFilter::Adaptive)
            .write_image(
                &rgba,
                rgba.width(),
                rgba.height(),
                image::ExtendedColorType::Rgba8,
            )
    } else {
        let rgb = img.to_rgb8();
        JpegEncoder::new_with_quality(&mut out, settings.jpeg_quality).write_image(
            &rgb,
            rgb.width(),
            rgb.height(),
            image::ExtendedColorType::Rgb8,
        )
    };
    result.map_err(|e| format!("cannot encode ({e})"))?;
    Ok(out)
}

pub(super) fn encode_webp(
    img: &DynamicImage,
    alpha: bool,
    settings: &ImagesConfig,
) -> Result<Vec<u8>, String> {
    let memory = if alpha {
        let rgba = img.to_rgba8();
        webp::Encoder::from_rgba(&rgba, rgba.width(), rgba.height()).encode(settings.webp_quality)
    } else {
        let rgb = img.to_rgb8();
        webp::Encoder::from_rgb(&rgb, rgb.width(), rgb.height()).encode(settings.webp_quality)
    };
    Ok(memory.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A GIF with a `w`×`h` logical screen and `frames` 1×1 frames.
    pub(crate) fn gif(w: u16, h: u16, frames: usize) -> Vec<u8> {
        let mut out = b"GIF89a".to_vec();
        out.extend_from_slice(&w.to_le_bytes());
        out.extend_from_slice(&h.to_le_bytes());
        out.extend_from_slice(&[0x80, 0, 0, 0, 0, 0, 255, 255, 255]);
        for _ in 0..frames {
            out.extend_from_slice(&[0x21, 0xF9, 4, 0, 10, 0, 0, 0]);
            out.extend_from_slice(&[0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0]);
            out.extend_from_slice(&[2, 2, 0x44, 0x01, 0]);
        }
        out.push(0x3B);
        out
    }

    #[test]
    fn gif_frames_are_counted_without_decoding() {
        let bomb = gif(65535, 65535, 2);
        let layout = gif_layout(&bomb).unwrap();
        assert_eq!(
            layout,
            GifLayout {
                screen: (65535, 65535),
                frames: 2,
                first_frame: (1, 1),
                widest_frame: 1,
                tallest_frame: 1,
            }
        );
        let settings = ImagesConfig::default();
        let reason = inspect(&bomb, ImageFormat::Gif, &settings).unwrap_err();
        assert!(reason.contains("65535×65535 pixels"), "{reason}");
        // Cut off mid-frame: the frames seen so far.
        let cut = &bomb[..bomb.len() - 12];
        assert_eq!(gif_layout(cut).unwrap().frames, 1);
        assert!(gif_layout(b"GIF89a").is_err());
    }

    #[test]
    fn the_decode_allocation_is_refused_before_decoding() {
        let settings = ImagesConfig {
            max_alloc_mb: 1,
            ..ImagesConfig::default()
        };
        // 600×600 RGBA is 1.4 MiB of output.
        let big = gif(600, 600, 1);
        let reason = inspect(&big, ImageFormat::Gif, &settings).unwrap_err();
        assert!(reason.contains("would need 2 MiB"), "{reason}");
        let small = gif(300, 300, 1);
        let header = inspect(&small, ImageFormat::Gif, &settings).unwrap();
        assert_eq!(header.decode_bytes, (300 * 300 + 1) * 4);
        assert_eq!(decode(&small, &header, &settings).unwrap().width(), 300);
    }

    #[test]
    fn jpeg_frame_headers_are_found() {
        let mut out = Vec::new();
        let img = image::RgbImage::new(16, 8);
        JpegEncoder::new_with_quality(&mut out, 80)
            .write_image(&img, 16, 8, image::ExtendedColorType::Rgb8)
            .unwrap();
        assert_eq!(jpeg_frame(&out), Some((false, 3)));
        assert_eq!(
            jpeg_frame(b"\xFF\xD8\xFF\xC2\x00\x0B\x08\x00\x08\x00\x10\x01"),
            Some((true, 1))
        );
        assert_eq!(jpeg_frame(b"\xFF\xD8junk"), None);
    }

    /// Small real images of every format, for the property test to damage.
    fn seeds() -> Vec<Vec<u8>> {
        let img = image::DynamicImage::ImageRgba8(image::RgbaImage::from_fn(7, 5, |x, y| {
            image::Rgba([x as u8 * 30, y as u8 * 40, 99, 200])
        }));
        let mut out = vec![gif(9, 9, 3)];
        for format in [ImageFormat::Png, ImageFormat::Jpeg, ImageFormat::WebP] {
            let img = if format == ImageFormat::Jpeg {
                image::DynamicImage::ImageRgb8(img.to_rgb8())
            } else {
                img.clone()
            };
            let mut bytes = Vec::new();
            img.write_to(&mut std::io::Cursor::new(&mut bytes), format)
                .unwrap();
            out.push(bytes);
        }
        out
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 512,
            failure_persistence: None,
            ..Default::default()
        })]

        /// Damaged real images and random bytes behind each format's signature:
        /// sniffing, inspecting and decoding answer, and never panic or allocate
        /// past the limits (a small `max_alloc_mb` keeps every case quick).
        #[test]
        fn any_bytes_are_sniffed_inspected_and_decoded_without_panic(
            seed in 0usize..4,
            flips in proptest::collection::vec((0usize..4096, proptest::prelude::any::<u8>()), 0..12),
            cut in proptest::option::of(0usize..4096),
            tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
        ) {
            let mut bytes = seeds().swap_remove(seed);
            for (at, value) in flips {
                let len = bytes.len();
                bytes[at % len] = value;
            }
            if let Some(cut) = cut {
                bytes.truncate(cut.min(bytes.len()));
            }
            bytes.extend_from_slice(&tail);
            let settings = ImagesConfig {
                max_alloc_mb: 8,
                max_dimension: 2000,
                ..ImagesConfig::default()
            };
            if let Ok(format) = sniff(&bytes) {
                let _ = is_complete(&bytes, format);
                if format == ImageFormat::Gif {
                    let _ = gif_layout(&bytes);
                }
                if let Ok(header) = inspect(&bytes, format, &settings) {
                    proptest::prop_assert!(header.decode_bytes <= 8 * MIB);
                    let _ = decode(&bytes, &header, &settings);
                }
            }
        }
    }
}
