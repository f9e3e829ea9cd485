//! Making one original's variants for one purpose: checked, decoded within the
//! budget, resized and encoded; or, for an animation, copied as it is.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use image::DynamicImage;

use super::budget::{DecodeBudget, footprint};
use super::codec::{self, Header};
use super::files::{short_hash, write_variant};
use super::resize::{crops, fit, widths};
use super::types::{ICON_SIDE, ImageSet, Original, Processed, Purpose, Role, Variant, WIDE_RATIO};
use crate::config::ImagesConfig;

const MIB: u64 = 1024 * 1024;

/// Decodes, orients, resizes and encodes; returns the sets and how many files it
/// encoded. A refused or broken image is an `Err` with the reason, never a crash:
/// sizes are checked before anything is allocated (a failed allocation aborts and
/// cannot be caught), and a panic in a decoder or encoder is caught here.
pub(super) fn process(
    dir: &Path,
    original: &Original,
    purpose: Purpose,
    settings: &ImagesConfig,
    budget: &DecodeBudget,
) -> Result<(Processed, usize), String> {
    catch_unwind(AssertUnwindSafe(|| {
        make_variants(dir, original, purpose, settings, budget)
    }))
    .unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("a panic");
        Err(format!(
            "cannot process the image (the image library failed: {what})"
        ))
    })
}

fn make_variants(
    dir: &Path,
    original: &Original,
    purpose: Purpose,
    settings: &ImagesConfig,
    budget: &DecodeBudget,
) -> Result<(Processed, usize), String> {
    let bytes = std::fs::read(&original.path)
        .map_err(|e| format!("cannot read the cached original ({e})"))?;
    let format = codec::sniff(&bytes)?;
    if !codec::is_complete(&bytes, format) {
        return Err("the file is truncated (it ends before the image does)".into());
    }
    let header = codec::inspect(&bytes, format, settings)?;
    let out_dir = dir.join("variants");
    let prefix = &original.content_hash[..16];
    // An icon is the first frame, decoded like a still.
    if header.is_animated() && purpose != Purpose::Icon {
        return animation(&bytes, &header, &out_dir, prefix, purpose, settings);
    }

    // Held until the picture and its variants are dropped, at the end of this function.
    let _reserved = budget.reserve(footprint(&header, bytes.len() as u64, purpose, settings))?;
    let img = codec::decode(&bytes, &header, settings)?;
    let alpha = codec::has_transparency(&img);
    let mut encoded = 0;
    let mut sets = BTreeMap::new();
    let mut make_set = |role: Role, frames: Vec<DynamicImage>| -> Result<(), String> {
        let set = encode_set(
            &out_dir,
            prefix,
            role,
            frames,
            alpha,
            settings,
            &mut encoded,
        )?;
        sets.insert(role, set);
        Ok(())
    };
    match purpose {
        Purpose::Inline => make_set(Role::Inline, widths(&img, &settings.widths)),
        Purpose::Card => {
            make_set(
                Role::Wide,
                crops(&img, WIDE_RATIO, settings.card_wide_width),
            )?;
            make_set(Role::Square, crops(&img, 1.0, settings.card_square_width))
        }
        Purpose::Icon => make_set(Role::Icon, vec![fit(&img, ICON_SIDE)]),
    }?;
    Ok((Processed { sets }, encoded))
}

/// Writes each frame as the fallback format and (except icons) WebP.
fn encode_set(
    out_dir: &Path,
    prefix: &str,
    role: Role,
    frames: Vec<DynamicImage>,
    alpha: bool,
    settings: &ImagesConfig,
    encoded: &mut usize,
) -> Result<ImageSet, String> {
    let mut set = ImageSet {
        fallback_type: if alpha { "image/png" } else { "image/jpeg" }.into(),
        fallback: vec![],
        webp: vec![],
    };
    for frame in frames {
        let (w, h) = (frame.width(), frame.height());
        let base = short_hash(prefix, &format!("{role}-{w}x{h}"));
        // Writes one encoding of the frame; returns the variant naming it.
        let mut write = |ext: &str, bytes: Vec<u8>| -> Result<Variant, String> {
            let name = format!("{base}-{w}.{ext}");
            write_variant(out_dir, &name, &bytes)?;
            *encoded += 1;
            Ok(Variant {
                name,
                width: w,
                height: h,
            })
        };
        let fallback_ext = if alpha { "png" } else { "jpg" };
        let fallback = codec::encode_fallback(&frame, alpha, settings)?;
        set.fallback.push(write(fallback_ext, fallback)?);
        if role != Role::Icon {
            let webp = codec::encode_webp(&frame, alpha, settings)?;
            set.webp.push(write("webp", webp)?);
        }
    }
    Ok(set)
}

/// An animated GIF is served as it is, once its frames fit the animation cap.
fn animation(
    bytes: &[u8],
    header: &Header,
    out_dir: &Path,
    prefix: &str,
    purpose: Purpose,
    settings: &ImagesConfig,
) -> Result<(Processed, usize), String> {
    check_animation(header, settings)?;
    let (w, h) = (header.width, header.height);
    let name = format!("{}-{w}.gif", short_hash(prefix, "animated"));
    write_variant(out_dir, &name, bytes)?;
    let set = ImageSet {
        fallback_type: "image/gif".into(),
        fallback: vec![Variant {
            name,
            width: w,
            height: h,
        }],
        webp: vec![],
    };
    let mut sets = BTreeMap::new();
    if purpose == Purpose::Card {
        sets.insert(Role::Square, set.clone());
        sets.insert(Role::Wide, set);
    } else {
        sets.insert(Role::Inline, set);
    }
    Ok((Processed { sets }, 1))
}

/// Frames × screen pixels an animation may have: what a viewer composes, counted at a
/// GIF's own one byte a pixel, must fit in `max_alloc_mb` (512 MiB: 250 frames at
/// 1920×1080, 4000 at 480×270).
pub(super) fn animation_pixel_cap(settings: &ImagesConfig) -> u64 {
    settings.max_alloc_mb.saturating_mul(MIB)
}

fn check_animation(header: &Header, settings: &ImagesConfig) -> Result<(), String> {
    let cap = animation_pixel_cap(settings);
    let total = header.frames.saturating_mul(header.pixels());
    if total > cap {
        return Err(format!(
            "the animation is too large to serve safely ({} frames of {}×{} pixels; \
             at most {} million frame pixels, from max_alloc_mb = {})",
            header.frames,
            header.width,
            header.height,
            cap / 1_000_000,
            settings.max_alloc_mb
        ));
    }
    Ok(())
}
