//! Memory for decoding, shared by the parallel workers (`[images] decode_budget_mb`).
//! A worker reserves what its image will hold at the peak, estimated from the header
//! alone, before decoding, and gives it back when its variants are written.

use std::sync::{Condvar, Mutex, MutexGuard};

use super::codec::Header;
use super::resize::{crop_plan, resize_scratch, width_sizes};
use super::types::Purpose;
use crate::config::ImagesConfig;

const MIB: u64 = 1024 * 1024;
/// Encoding one variant: a converted copy (up to 4 bytes a pixel), the encoder's own
/// planes (libwebp's YUVA is 2.5) and its tokens and output, rounded up.
const ENCODE_BYTES_PER_PIXEL: u64 = 12;

/// A counter of reserved bytes that workers wait on.
pub(super) struct DecodeBudget {
    total: u64,
    used: Mutex<u64>,
    freed: Condvar,
}

/// Bytes held until dropped.
pub(super) struct Reservation<'a> {
    budget: &'a DecodeBudget,
    bytes: u64,
}

impl DecodeBudget {
    pub fn new(settings: &ImagesConfig) -> DecodeBudget {
        DecodeBudget::with_bytes(settings.decode_budget_mb.saturating_mul(MIB))
    }

    pub fn with_bytes(total: u64) -> DecodeBudget {
        DecodeBudget {
            total,
            used: Mutex::new(0),
            freed: Condvar::new(),
        }
    }

    /// Waits until `bytes` are free. An image that needs more than the whole budget is
    /// refused at once; anything smaller gets its turn, since every holder releases
    /// what it holds without waiting for anything.
    pub fn reserve(&self, bytes: u64) -> Result<Reservation<'_>, String> {
        if bytes > self.total {
            return Err(format!(
                "the image is too large to process safely (it would need {} MiB; \
                 decode_budget_mb is {})",
                bytes.div_ceil(MIB),
                self.total / MIB
            ));
        }
        let mut used = self.lock();
        while *used + bytes > self.total {
            used = self.freed.wait(used).unwrap_or_else(|e| e.into_inner());
        }
        *used += bytes;
        Ok(Reservation {
            budget: self,
            bytes,
        })
    }

    /// A worker that panicked released its bytes on the way out; the count is whole.
    fn lock(&self) -> MutexGuard<'_, u64> {
        self.used.lock().unwrap_or_else(|e| e.into_inner())
    }

    #[cfg(test)]
    fn in_use(&self) -> u64 {
        *self.lock()
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        *self.budget.lock() -= self.bytes;
        self.budget.freed.notify_all();
    }
}

/// The most memory making `purpose`'s variants of this image holds at once: the file,
/// then either the decode (output, decoder buffers, and a copy if it is turned upright
/// or brought to 8 bits) or the processing (the 8-bit picture, every variant of one
/// set, and the larger of one resize's scratch and one encode).
pub(super) fn footprint(
    header: &Header,
    file_len: u64,
    purpose: Purpose,
    settings: &ImagesConfig,
) -> u64 {
    let pixels = header.pixels();
    let channels: u64 = if header.has_alpha { 4 } else { 3 };
    let decoding = header.decode_bytes + header.copy_bytes;
    let (w, h) = header.upright;
    let sets: Vec<SetCost> = match purpose {
        Purpose::Inline => vec![widths_cost(w, h, &settings.widths)],
        Purpose::Card => vec![
            crops_cost(w, h, super::types::WIDE_RATIO, settings.card_wide_width),
            crops_cost(w, h, 1.0, settings.card_square_width),
        ],
        Purpose::Icon => vec![icon_cost(w, h, super::types::ICON_SIDE)],
    };
    // The sets are made one after the other.
    let processing = sets
        .iter()
        .map(|s| s.outputs * channels + s.scratch.max(s.largest * ENCODE_BYTES_PER_PIXEL))
        .max()
        .unwrap_or(0)
        + pixels * channels;
    file_len + decoding.max(processing)
}

/// Pixels of one set's variants, its largest variant, and its largest resize scratch.
struct SetCost {
    outputs: u64,
    largest: u64,
    scratch: u64,
}

fn area((w, h): (u32, u32)) -> u64 {
    w as u64 * h as u64
}

fn widths_cost(w: u32, h: u32, wanted: &[u32]) -> SetCost {
    let sizes = width_sizes(w, h, wanted);
    // Each size is made from the next larger one, the largest from the picture.
    let sources = sizes.iter().skip(1).copied().chain([(w, h)]);
    SetCost {
        outputs: sizes.iter().copied().map(area).sum(),
        largest: sizes.iter().copied().map(area).max().unwrap_or(0),
        scratch: sizes
            .iter()
            .zip(sources)
            .map(|(&to, from)| resize_scratch(from, to))
            .max()
            .unwrap_or(0),
    }
}

fn crops_cost(w: u32, h: u32, ratio: f64, width: u32) -> SetCost {
    let plan = crop_plan(w, h, ratio, width);
    let (_, _, cw, ch) = plan.region;
    let mut sizes = plan.sizes.clone();
    if plan.keeps_crop {
        sizes.push((cw, ch));
    }
    SetCost {
        outputs: sizes.iter().copied().map(area).sum(),
        largest: sizes.iter().copied().map(area).max().unwrap_or(0),
        scratch: plan
            .sizes
            .iter()
            .map(|&to| resize_scratch((cw, ch), to))
            .max()
            .unwrap_or(0),
    }
}

fn icon_cost(w: u32, h: u32, side: u32) -> SetCost {
    let fits = w <= side && h <= side;
    let out = if fits { (w, h) } else { (side, side) };
    SetCost {
        outputs: area(out),
        largest: area(out),
        scratch: if fits { 0 } else { resize_scratch((w, h), out) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    #[test]
    fn more_than_the_whole_budget_is_refused_at_once() {
        let budget = DecodeBudget::with_bytes(100 * MIB);
        let reason = budget.reserve(100 * MIB + 1).err().unwrap();
        assert!(reason.contains("decode_budget_mb is 100"), "{reason}");
        let all = budget.reserve(100 * MIB).unwrap();
        assert_eq!(budget.in_use(), 100 * MIB);
        drop(all);
        assert_eq!(budget.in_use(), 0);
    }

    /// Workers wanting more than is left (but less than the whole) wait, never
    /// together hold more than the budget, and all finish.
    #[test]
    fn workers_wait_for_room_and_all_finish() {
        let budget = Arc::new(DecodeBudget::with_bytes(100));
        let peak = Arc::new(AtomicU64::new(0));
        let held = Arc::new(AtomicU64::new(0));
        let workers: Vec<_> = [60u64, 70, 30, 100, 45, 55, 10, 90]
            .into_iter()
            .map(|need| {
                let (budget, peak, held) = (budget.clone(), peak.clone(), held.clone());
                std::thread::spawn(move || {
                    let _r = budget.reserve(need).unwrap();
                    let now = held.fetch_add(need, Ordering::SeqCst) + need;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(5));
                    held.fetch_sub(need, Ordering::SeqCst);
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        assert!(peak.load(Ordering::SeqCst) <= 100);
        assert_eq!(budget.in_use(), 0);
    }

    #[test]
    fn a_panicking_worker_gives_its_bytes_back() {
        let budget = Arc::new(DecodeBudget::with_bytes(100));
        let b = budget.clone();
        let _ = std::thread::spawn(move || {
            let _r = b.reserve(80).unwrap();
            panic!("decoder bug");
        })
        .join();
        assert_eq!(budget.in_use(), 0);
        drop(budget.reserve(100).unwrap());
    }

    #[test]
    fn the_footprint_counts_the_decode_and_the_resizes() {
        let settings = ImagesConfig::default();
        let header = Header {
            format: image::ImageFormat::Png,
            width: 12_000,
            height: 12_000,
            upright: (12_000, 12_000),
            decoded_bpp: 4,
            has_alpha: true,
            decode_bytes: 12_000 * 12_000 * 4,
            copy_bytes: 0,
            frames: 1,
        };
        let pixels = 12_000u64 * 12_000;
        // Processing: the picture, 1200×1200 and 600×600, and the scratch of
        // 12000 → 1200 (12000 × 1200 × 16 bytes).
        let inline = footprint(&header, 0, Purpose::Inline, &settings);
        let processing = pixels * 4 + (1200 * 1200 + 600 * 600) * 4 + 12_000 * 1200 * 16;
        assert_eq!(inline, processing);
        // Decoding a 16-bit picture and bringing it to 8 bits.
        let deep = Header {
            decoded_bpp: 8,
            decode_bytes: pixels * 8,
            copy_bytes: pixels * 4,
            ..header
        };
        let icon = footprint(&deep, 10, Purpose::Icon, &settings);
        assert_eq!(icon, 10 + pixels * 12);
    }
}
