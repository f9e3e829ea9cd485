//! The sizes made of a picture: widths for `srcset`, centred crops for cards, a square
//! fit for icons. Never upscaled. Each size is also computed from the dimensions
//! alone, so the decode budget can be reserved before anything is decoded.

use image::imageops::{self, FilterType};
use image::{DynamicImage, ImageBuffer, Pixel};

const FILTER: FilterType = FilterType::CatmullRom;

/// The configured widths narrower than the image, plus the image's own width when it
/// is narrower than the widest one. Never upscaled.
pub(super) fn widths(img: &DynamicImage, wanted: &[u32]) -> Vec<DynamicImage> {
    let sizes = width_sizes(img.width(), img.height(), wanted);
    // Each width from the next larger one: cheaper than from the original, same result.
    let mut out: Vec<DynamicImage> = Vec::with_capacity(sizes.len());
    for &(w, h) in sizes.iter().rev() {
        let source = out.last().unwrap_or(img);
        let next = if w == source.width() {
            source.clone()
        } else {
            source.resize_exact(w, h, FILTER)
        };
        out.push(next);
    }
    out.reverse();
    out
}

/// The sizes [`widths`] makes of a `w`×`h` image, ascending.
pub(super) fn width_sizes(w: u32, h: u32, wanted: &[u32]) -> Vec<(u32, u32)> {
    let mut ws: Vec<u32> = wanted.iter().copied().filter(|&x| x > 0 && x < w).collect();
    let widest = wanted.iter().copied().max().unwrap_or(w);
    if w <= widest {
        ws.push(w);
    }
    ws.sort_unstable();
    ws.dedup();
    let mut sizes = Vec::with_capacity(ws.len());
    let (mut sw, mut sh) = (w, h);
    for &target in ws.iter().rev() {
        if target != sw {
            (sw, sh) = (target, scaled_height(sw, sh, target));
        }
        sizes.push((sw, sh));
    }
    sizes.reverse();
    sizes
}

pub(super) fn scaled_height(w: u32, h: u32, target_w: u32) -> u32 {
    ((h as f64 * target_w as f64 / w as f64).round() as u32).max(1)
}

/// A centred crop at `ratio` (width / height), at 1× and 2× of `width`, never upscaled.
pub(super) fn crops(img: &DynamicImage, ratio: f64, width: u32) -> Vec<DynamicImage> {
    let plan = crop_plan(img.width(), img.height(), ratio, width);
    let (x, y, cw, ch) = plan.region;
    let mut out: Vec<DynamicImage> = plan
        .sizes
        .iter()
        .map(|&(tw, th)| resize_region(img, plan.region, tw, th))
        .collect();
    if plan.keeps_crop {
        out.push(img.crop_imm(x, y, cw, ch));
    }
    out
}

/// What [`crops`] makes of a `w`×`h` image.
pub(super) struct CropPlan {
    /// x, y, width, height of the centred crop.
    pub region: (u32, u32, u32, u32),
    /// The resized sizes, ascending.
    pub sizes: Vec<(u32, u32)>,
    /// Whether the crop itself is the last size (when fewer than two are smaller).
    pub keeps_crop: bool,
}

pub(super) fn crop_plan(w: u32, h: u32, ratio: f64, width: u32) -> CropPlan {
    let (cw, ch) = if (w as f64 / h as f64) > ratio {
        (((h as f64 * ratio).round() as u32).clamp(1, w), h)
    } else {
        (w, ((w as f64 / ratio).round() as u32).clamp(1, h))
    };
    let sizes: Vec<(u32, u32)> = [width, width * 2]
        .into_iter()
        .filter(|&target| target < cw)
        .map(|target| (target, ((target as f64 / ratio).round() as u32).max(1)))
        .collect();
    CropPlan {
        region: ((w - cw) / 2, (h - ch) / 2, cw, ch),
        keeps_crop: sizes.len() < 2,
        sizes,
    }
}

/// Resizes a region of the image without copying the region first; the pixels read,
/// and so the result, are the same as cropping then resizing.
fn resize_region(
    img: &DynamicImage,
    (x, y, w, h): (u32, u32, u32, u32),
    tw: u32,
    th: u32,
) -> DynamicImage {
    fn view<P: Pixel + 'static>(
        buf: &ImageBuffer<P, Vec<P::Subpixel>>,
        (x, y, w, h): (u32, u32, u32, u32),
        tw: u32,
        th: u32,
    ) -> ImageBuffer<P, Vec<P::Subpixel>> {
        let region = imageops::crop_imm(buf, x, y, w, h);
        imageops::resize(&*region, tw, th, FILTER)
    }
    match img {
        DynamicImage::ImageRgb8(buf) => DynamicImage::ImageRgb8(view(buf, (x, y, w, h), tw, th)),
        DynamicImage::ImageRgba8(buf) => DynamicImage::ImageRgba8(view(buf, (x, y, w, h), tw, th)),
        other => other.crop_imm(x, y, w, h).resize_exact(tw, th, FILTER),
    }
}

/// Fits the image in a `side`×`side` square, never upscaled.
pub(super) fn fit(img: &DynamicImage, side: u32) -> DynamicImage {
    if img.width() <= side && img.height() <= side {
        img.clone()
    } else {
        img.resize(side, side, FILTER)
    }
}

/// The bytes a resize from `from` to `to` holds besides its input and output: the
/// vertical pass keeps `from.0 × to.1` pixels as four f32s (a same-size "resize" is a
/// plain copy).
pub(super) fn resize_scratch(from: (u32, u32), to: (u32, u32)) -> u64 {
    if from == to {
        0
    } else {
        from.0 as u64 * to.1 as u64 * 16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dims(images: &[DynamicImage]) -> Vec<(u32, u32)> {
        images.iter().map(|i| (i.width(), i.height())).collect()
    }

    #[test]
    fn widths_never_upscale() {
        let img = DynamicImage::new_rgb8(800, 400);
        assert_eq!(dims(&widths(&img, &[600, 1200])), [(600, 300), (800, 400)]);
        let big = DynamicImage::new_rgb8(4000, 3000);
        let ws: Vec<u32> = widths(&big, &[600, 1200])
            .iter()
            .map(|i| i.width())
            .collect();
        assert_eq!(ws, [600, 1200]);
        let small = DynamicImage::new_rgb8(300, 300);
        let ws: Vec<u32> = widths(&small, &[600, 1200])
            .iter()
            .map(|i| i.width())
            .collect();
        assert_eq!(ws, [300]);
    }

    #[test]
    fn crops_have_the_ratio() {
        let img = DynamicImage::new_rgb8(4000, 3000);
        assert_eq!(
            dims(&crops(&img, super::super::types::WIDE_RATIO, 240)),
            [(240, 126), (480, 251)]
        );
        assert_eq!(dims(&crops(&img, 1.0, 120)), [(120, 120), (240, 240)]);
        let tiny = DynamicImage::new_rgb8(100, 50);
        assert_eq!(dims(&crops(&tiny, 1.0, 120)), [(50, 50)]);
    }

    #[test]
    fn planned_sizes_are_the_sizes_made() {
        for (w, h) in [(4000, 3000), (1000, 5000), (700, 300), (1201, 7), (1, 1)] {
            let img = DynamicImage::new_rgb8(w, h);
            assert_eq!(
                dims(&widths(&img, &[600, 1200])),
                width_sizes(w, h, &[600, 1200])
            );
            for (ratio, width) in [(1.91, 240), (1.0, 120)] {
                let plan = crop_plan(w, h, ratio, width);
                let mut planned = plan.sizes.clone();
                if plan.keeps_crop {
                    planned.push((plan.region.2, plan.region.3));
                }
                assert_eq!(dims(&crops(&img, ratio, width)), planned);
            }
        }
    }

    #[test]
    fn resizing_a_region_equals_cropping_then_resizing() {
        let img = DynamicImage::ImageRgba8(image::RgbaImage::from_fn(90, 70, |x, y| {
            image::Rgba([
                (x * 3) as u8,
                (y * 3) as u8,
                ((x * y) % 256) as u8,
                (x + y) as u8,
            ])
        }));
        let region = (10, 5, 60, 40);
        let copied = img.crop_imm(10, 5, 60, 40).resize_exact(31, 17, FILTER);
        assert_eq!(resize_region(&img, region, 31, 17), copied);
    }
}
