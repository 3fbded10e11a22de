//! Sources of choices: the seeded [`SplitMix`] and the fuzzer's bytes
//! ([`ByteChoices`]).

/// A source of choices: [`SplitMix`] for seeded generation, or (feature `arbitrary`)
/// the fuzzer's bytes.
pub trait Choices {
    /// A number in `0..n` (`n > 0`; returns 0 when `n == 0`).
    fn below(&mut self, n: u32) -> u32;
}

/// SplitMix64: a small, self-contained, deterministic PRNG.
#[derive(Clone, Debug)]
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

impl Choices for SplitMix {
    fn below(&mut self, n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        (self.next_u64() % u64::from(n)) as u32
    }
}

/// A byte string as choices, read the way arbitrary 1.x's `Unstructured::int_in_range`
/// reads it (so a fuzz input means the same trace either way). Once the bytes run out,
/// `int_in_range` would answer the lower bound forever, and the generator can spin on a
/// step kind it cannot emit (e.g. `setup` with five rings already): the choices then go
/// on from a [`SplitMix`] seeded by a hash of the whole input (computed only then), so
/// every input decodes in bounded expected time, deterministically. Used by
/// `Trace::arbitrary` and the fuzz targets' decoder (`fuzzing::generated_steps`).
pub struct ByteChoices<'a> {
    input: &'a [u8],
    /// The bytes not used yet.
    data: &'a [u8],
    rest: Option<SplitMix>,
}

impl<'a> ByteChoices<'a> {
    pub fn new(input: &'a [u8]) -> Self {
        ByteChoices {
            input,
            data: input,
            rest: None,
        }
    }

    /// `Unstructured::int_in_range(0..=delta)` of arbitrary 1.x, on the bytes:
    /// big-endian bytes, as many as `delta` needs (at most 4), modulo `delta + 1`; 0
    /// from no bytes.
    pub fn take(&mut self, delta: u32) -> u32 {
        if delta == 0 {
            return 0;
        }
        if delta < 0x100 {
            // One byte (the generator's choices are almost all below 256).
            return match self.data.split_first() {
                Some((&b, rest)) => {
                    self.data = rest;
                    u32::from(b) % (delta + 1)
                }
                None => 0,
            };
        }
        let mut x: u32 = 0;
        let mut used = 0;
        while used < 4 && (delta >> (used * 8)) > 0 {
            let Some((&b, rest)) = self.data.split_first() else {
                break;
            };
            self.data = rest;
            x = (x << 8) | u32::from(b);
            used += 1;
        }
        if delta == u32::MAX {
            x
        } else {
            x % (delta + 1)
        }
    }
}

impl Choices for ByteChoices<'_> {
    fn below(&mut self, n: u32) -> u32 {
        if n <= 1 {
            return 0;
        }
        if !self.data.is_empty() {
            return self.take(n - 1);
        }
        let input = self.input;
        self.rest
            .get_or_insert_with(|| {
                SplitMix(input.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                    (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
                }))
            })
            .below(n)
    }
}
