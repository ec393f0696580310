//! XXH3-64 of a stream (seed 0, the default secret), for the content of a file that arrives
//! in several pieces; a piece that is a whole file is hashed by twox-hash in one call.
//!
//! Why not twox-hash's streaming hasher: in some builds of the same source it was compiled with
//! its two AVX2 accumulators stored to memory and loaded back on every 64-byte stripe (`perf
//! annotate`: `vpaddq 0x120(%r14)` and two stores in the loop), in others with them in
//! registers; which one a build got followed unrelated code, and the slow loop made a layer of
//! large files pay twice for its content hashes (XXH3 47-50 % of `bigfile --no-verify`'s
//! samples against 19-25 %). Here the accumulators are locals of the loop, in AVX2 registers
//! (through pulp's safe intrinsics, picked at run time) or in eight integers without AVX2.
//!
//! The algorithm is the reference's (xxhash.h, `XXH3_hashLong_64` and its streaming form):
//! 64-byte stripes accumulated with the secret shifted 8 bytes per stripe, the accumulators
//! scrambled after every 16 stripes, the last stripe (the input's final 64 bytes) accumulated
//! with its own part of the secret, and the eight accumulators merged. The tests compare it
//! with xxhash-rust, an implementation of its own, for every length class and many splits.

use twox_hash::XxHash3_64;

const STRIPE: usize = 64;
const SECRET: [u8; 192] = [
    0xb8, 0xfe, 0x6c, 0x39, 0x23, 0xa4, 0x4b, 0xbe, 0x7c, 0x01, 0x81, 0x2c, 0xf7, 0x21, 0xad, 0x1c,
    0xde, 0xd4, 0x6d, 0xe9, 0x83, 0x90, 0x97, 0xdb, 0x72, 0x40, 0xa4, 0xa4, 0xb7, 0xb3, 0x67, 0x1f,
    0xcb, 0x79, 0xe6, 0x4e, 0xcc, 0xc0, 0xe5, 0x78, 0x82, 0x5a, 0xd0, 0x7d, 0xcc, 0xff, 0x72, 0x21,
    0xb8, 0x08, 0x46, 0x74, 0xf7, 0x43, 0x24, 0x8e, 0xe0, 0x35, 0x90, 0xe6, 0x81, 0x3a, 0x26, 0x4c,
    0x3c, 0x28, 0x52, 0xbb, 0x91, 0xc3, 0x00, 0xcb, 0x88, 0xd0, 0x65, 0x8b, 0x1b, 0x53, 0x2e, 0xa3,
    0x71, 0x64, 0x48, 0x97, 0xa2, 0x0d, 0xf9, 0x4e, 0x38, 0x19, 0xef, 0x46, 0xa9, 0xde, 0xac, 0xd8,
    0xa8, 0xfa, 0x76, 0x3f, 0xe3, 0x9c, 0x34, 0x3f, 0xf9, 0xdc, 0xbb, 0xc7, 0xc7, 0x0b, 0x4f, 0x1d,
    0x8a, 0x51, 0xe0, 0x4b, 0xcd, 0xb4, 0x59, 0x31, 0xc8, 0x9f, 0x7e, 0xc9, 0xd9, 0x78, 0x73, 0x64,
    0xea, 0xc5, 0xac, 0x83, 0x34, 0xd3, 0xeb, 0xc3, 0xc5, 0x81, 0xa0, 0xff, 0xfa, 0x13, 0x63, 0xeb,
    0x17, 0x0d, 0xdd, 0x51, 0xb7, 0xf0, 0xda, 0x49, 0xd3, 0x16, 0x55, 0x26, 0x29, 0xd4, 0x68, 0x9e,
    0x2b, 0x16, 0xbe, 0x58, 0x7d, 0x47, 0xa1, 0xfc, 0x8f, 0xf8, 0xb8, 0xd1, 0x7a, 0xd0, 0x31, 0xce,
    0x45, 0xcb, 0x3a, 0x8f, 0x95, 0x16, 0x04, 0x28, 0xaf, 0xd7, 0xfb, 0xca, 0xbb, 0x4b, 0x40, 0x7e,
];
/// Stripes between two scrambles: (secret length - stripe) / 8.
const STRIPES_PER_BLOCK: usize = (SECRET.len() - STRIPE) / 8;
/// Bytes kept back: the reference's internal buffer (4 stripes).
const BUFFER: usize = 256;
/// Inputs up to this length hash another way (no accumulators), all of them in the buffer.
const SHORT: u64 = 240;

const PRIME32_1: u64 = 0x9E37_79B1;
const PRIME32_2: u64 = 0x85EB_CA77;
const PRIME32_3: u64 = 0xC2B2_AE3D;
const PRIME64_1: u64 = 0x9E37_79B1_85EB_CA87;
const PRIME64_2: u64 = 0xC2B2_AE3D_27D4_EB4F;
const PRIME64_3: u64 = 0x1656_67B1_9E37_79F9;
const PRIME64_4: u64 = 0x85EB_CA77_C2B2_AE63;
const PRIME64_5: u64 = 0x27D4_EB2F_1656_67C5;

/// The XXH3-64 of bytes given in pieces of any size.
pub struct Xxh3 {
    acc: [u64; 8],
    /// Stripes accumulated since the last scramble.
    stripes: usize,
    /// The bytes not accumulated yet (at the front, `buffered` of them), and at the back the
    /// last stripe accumulated straight from the input: the input's last 64 bytes may begin
    /// there.
    buffer: [u8; BUFFER],
    buffered: usize,
    total: u64,
}

impl Default for Xxh3 {
    fn default() -> Self {
        Xxh3::new()
    }
}

impl Xxh3 {
    pub fn new() -> Xxh3 {
        Xxh3 {
            acc: [
                PRIME32_3, PRIME64_1, PRIME64_2, PRIME64_3, PRIME64_4, PRIME32_2, PRIME64_5,
                PRIME32_1,
            ],
            stripes: 0,
            buffer: [0; BUFFER],
            buffered: 0,
            total: 0,
        }
    }

    /// The stream's next bytes. Stripes are accumulated only once a byte follows them, so the
    /// input's last stripe is always at hand for [`Xxh3::digest`].
    pub fn update(&mut self, mut input: &[u8]) {
        self.total += input.len() as u64;
        if self.buffered + input.len() <= BUFFER {
            self.buffer[self.buffered..self.buffered + input.len()].copy_from_slice(input);
            self.buffered += input.len();
            return;
        }
        if self.buffered > 0 {
            let (head, rest) = input.split_at(BUFFER - self.buffered);
            self.buffer[self.buffered..].copy_from_slice(head);
            consume(&mut self.acc, &mut self.stripes, &self.buffer);
            self.buffered = 0;
            input = rest;
        }
        if input.len() > BUFFER {
            let whole = (input.len() - 1) / STRIPE * STRIPE;
            let (stripes, rest) = input.split_at(whole);
            consume(&mut self.acc, &mut self.stripes, stripes);
            self.buffer[BUFFER - STRIPE..].copy_from_slice(&stripes[whole - STRIPE..]);
            input = rest;
        }
        self.buffer[..input.len()].copy_from_slice(input);
        self.buffered = input.len();
    }

    /// The XXH3-64 of every byte given so far.
    pub fn digest(&self) -> u64 {
        if self.total <= SHORT {
            // Nothing was accumulated: the whole input is in the buffer.
            return XxHash3_64::oneshot(&self.buffer[..self.buffered]);
        }
        let (mut acc, mut stripes) = (self.acc, self.stripes);
        let mut last = [0u8; STRIPE];
        if self.buffered >= STRIPE {
            let whole = (self.buffered - 1) / STRIPE * STRIPE;
            consume(&mut acc, &mut stripes, &self.buffer[..whole]);
            last.copy_from_slice(&self.buffer[self.buffered - STRIPE..self.buffered]);
        } else {
            let before = STRIPE - self.buffered;
            last[..before].copy_from_slice(&self.buffer[BUFFER - before..]);
            last[before..].copy_from_slice(&self.buffer[..self.buffered]);
        }
        // The last stripe takes the secret 7 bytes before the scramble's part (one stripe: the
        // scalar loop is as good as any).
        accumulate(&mut acc, &last, SECRET.len() - STRIPE - 7);
        merge(&acc, self.total.wrapping_mul(PRIME64_1))
    }
}

/// Accumulates whole stripes, scrambling after every [`STRIPES_PER_BLOCK`] of them: with the
/// accumulators in AVX2 registers from the first stripe to the last where the CPU has AVX2.
fn consume(acc: &mut [u64; 8], stripes: &mut usize, data: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    if let Some(v3) = pulp::x86::V3::try_new() {
        return v3.vectorize(
            #[inline(always)]
            || avx2::consume(v3, acc, stripes, data),
        );
    }
    consume_scalar(acc, stripes, data);
}

/// [`consume`] without SIMD.
fn consume_scalar(acc: &mut [u64; 8], stripes: &mut usize, data: &[u8]) {
    blocks(acc, stripes, data, accumulate, scramble);
}

/// The walk over blocks both loops share: the stripes to the end of the current block from
/// the secret's byte `8 × stripes so far`, a scramble whenever a block is full.
#[inline(always)]
fn blocks<T>(
    state: &mut T,
    stripes: &mut usize,
    mut data: &[u8],
    mut accumulate: impl FnMut(&mut T, &[u8], usize),
    mut scramble: impl FnMut(&mut T),
) {
    debug_assert_eq!(data.len() % STRIPE, 0, "whole stripes only");
    loop {
        let n = (STRIPES_PER_BLOCK - *stripes).min(data.len() / STRIPE);
        if n == 0 {
            return;
        }
        let (now, rest) = data.split_at(n * STRIPE);
        accumulate(state, now, *stripes * 8);
        *stripes += n;
        data = rest;
        if *stripes == STRIPES_PER_BLOCK {
            scramble(state);
            *stripes = 0;
        }
    }
}

/// Accumulates the stripes of `data`, the first with the secret from byte `at`, each next
/// one 8 bytes further.
fn accumulate(acc: &mut [u64; 8], data: &[u8], at: usize) {
    for (i, stripe) in data.chunks_exact(STRIPE).enumerate() {
        let secret = &SECRET[at + i * 8..];
        for lane in 0..8 {
            let value = read64(stripe, lane * 8);
            let key = value ^ read64(secret, lane * 8);
            acc[lane ^ 1] = acc[lane ^ 1].wrapping_add(value);
            acc[lane] = acc[lane].wrapping_add((key & 0xFFFF_FFFF) * (key >> 32));
        }
    }
}

fn scramble(acc: &mut [u64; 8]) {
    let secret = &SECRET[SECRET.len() - STRIPE..];
    for (lane, a) in acc.iter_mut().enumerate() {
        let mut x = *a;
        x ^= x >> 47;
        x ^= read64(secret, lane * 8);
        *a = x.wrapping_mul(PRIME32_1);
    }
}

fn merge(acc: &[u64; 8], start: u64) -> u64 {
    let secret = &SECRET[11..];
    let mut h = start;
    for pair in 0..4 {
        let a = acc[2 * pair] ^ read64(secret, 16 * pair);
        let b = acc[2 * pair + 1] ^ read64(secret, 16 * pair + 8);
        let product = u128::from(a) * u128::from(b);
        h = h.wrapping_add(product as u64 ^ (product >> 64) as u64);
    }
    h ^= h >> 37;
    h = h.wrapping_mul(0x1656_6791_9E37_79F9);
    h ^ (h >> 32)
}

fn read64(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use pulp::x86::V3;
    use std::arch::x86_64::__m256i;

    use super::{PRIME32_1, SECRET, STRIPE};

    fn load(bytes: &[u8]) -> __m256i {
        let mut v = [0u8; 32];
        v.copy_from_slice(&bytes[..32]);
        pulp::cast(v)
    }

    /// [`super::consume`] with the eight accumulators in two AVX2 registers throughout
    /// (`vpmuludq` multiplies the low and high halves of each 64-bit lane).
    #[inline(always)]
    pub(super) fn consume(simd: V3, acc: &mut [u64; 8], stripes: &mut usize, data: &[u8]) {
        let x = simd.avx2;
        let prime = simd.avx._mm256_set1_epi32(PRIME32_1 as i32);
        let last = &SECRET[SECRET.len() - STRIPE..];
        let mut state: [__m256i; 2] = [
            pulp::cast([acc[0], acc[1], acc[2], acc[3]]),
            pulp::cast([acc[4], acc[5], acc[6], acc[7]]),
        ];
        super::blocks(
            &mut state,
            stripes,
            data,
            |state, data, at| {
                for (i, stripe) in data.chunks_exact(STRIPE).enumerate() {
                    let secret = &SECRET[at + i * 8..];
                    for (half, a) in state.iter_mut().enumerate() {
                        let value = load(&stripe[half * 32..]);
                        let key = x._mm256_xor_si256(value, load(&secret[half * 32..]));
                        // (key & 0xffffffff) * (key >> 32) in each lane.
                        let product = x._mm256_mul_epu32(key, x._mm256_shuffle_epi32::<0x31>(key));
                        // The value, its two 64-bit halves swapped, goes to the neighbouring
                        // lane.
                        let swapped = x._mm256_shuffle_epi32::<0x4E>(value);
                        *a = x._mm256_add_epi64(product, x._mm256_add_epi64(*a, swapped));
                    }
                }
            },
            |state| {
                for (half, a) in state.iter_mut().enumerate() {
                    let mixed = x._mm256_xor_si256(*a, x._mm256_srli_epi64::<47>(*a));
                    let key = x._mm256_xor_si256(mixed, load(&last[half * 32..]));
                    // key * PRIME32_1, a 64-bit product from two 32-bit ones.
                    let low = x._mm256_mul_epu32(key, prime);
                    let high = x._mm256_mul_epu32(x._mm256_shuffle_epi32::<0x31>(key), prime);
                    *a = x._mm256_add_epi64(low, x._mm256_slli_epi64::<32>(high));
                }
            },
        );
        let low: [u64; 4] = pulp::cast(state[0]);
        let high: [u64; 4] = pulp::cast(state[1]);
        acc[..4].copy_from_slice(&low);
        acc[4..].copy_from_slice(&high);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes that are not a pattern a wrong stripe or secret offset could hash alike.
    fn bytes(n: usize) -> Vec<u8> {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    #[test]
    fn every_length_class_and_split_gives_the_reference_hash() {
        let data = bytes(5 * 1024 + 100);
        // Around every boundary: short forms, 240, the buffer (256), stripes (64), blocks
        // (1024 = 16 stripes), and the input's last stripe reaching back before the buffer.
        let mut lengths: Vec<usize> = (0..=300).collect();
        for edge in [512, 1024, 2048, 3072, 4096, 5120] {
            lengths.extend(edge - 70..edge + 70);
        }
        lengths.push(data.len());
        for &len in &lengths {
            let content = &data[..len];
            // xxhash-rust, an implementation of its own, is the reference.
            let want = xxhash_rust::xxh3::xxh3_64(content);
            for piece in [1usize, 7, 63, 64, 65, 255, 256, 257, 1000, len.max(1)] {
                let mut h = Xxh3::new();
                for chunk in content.chunks(piece) {
                    h.update(chunk);
                }
                assert_eq!(h.digest(), want, "{len} bytes in pieces of {piece}");
            }
        }
    }

    /// The scalar loop (for CPUs without AVX2) against the one this machine runs, which the
    /// tests above compare with the reference: from every stripe of a block, over several
    /// blocks, so that both scramble.
    #[test]
    fn the_scalar_loop_agrees_with_the_one_in_use() {
        let data = bytes(STRIPE * STRIPES_PER_BLOCK * 3);
        for from in 0..STRIPES_PER_BLOCK {
            for n in [1, 2, STRIPES_PER_BLOCK - from, STRIPES_PER_BLOCK, 40] {
                let start: [u64; 8] =
                    std::array::from_fn(|i| (i as u64 + 1) * 0x0123_4567_89AB_CDEF);
                let (mut used, mut scalar) = ((start, from), (start, from));
                consume(&mut used.0, &mut used.1, &data[..n * STRIPE]);
                consume_scalar(&mut scalar.0, &mut scalar.1, &data[..n * STRIPE]);
                assert_eq!(scalar, used, "{n} stripes after {from}");
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn any_split_of_any_content_gives_the_reference_hash(
            content in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..6000),
            cuts in proptest::collection::vec(0usize..6000, 0..12),
        ) {
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(content.len())).collect();
            cuts.push(content.len());
            cuts.sort_unstable();
            let mut h = Xxh3::new();
            let mut from = 0;
            for cut in cuts {
                h.update(&content[from..cut]);
                from = cut;
            }
            proptest::prop_assert_eq!(h.digest(), xxhash_rust::xxh3::xxh3_64(&content));
        }
    }
}
