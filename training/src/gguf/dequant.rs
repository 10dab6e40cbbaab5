//! Expanding ggml tensor data to f32.
//!
//! Each quantized type is a sequence of fixed-size blocks; one block decodes to a fixed number of
//! values independently of every other block. The layouts and formulas below follow ggml's
//! `ggml-common.h` (`block_q4_0` …) and the scalar reference code in `ggml-quants.c`
//! (`dequantize_row_q4_0` …), including the order of float operations, so results match ggml's
//! reference path bit for bit. All multi-byte fields are little-endian; `f16` fields are IEEE
//! half floats.
//!
//! | type | values | bytes | layout                                     | value                      |
//! |------|--------|-------|--------------------------------------------|----------------------------|
//! | Q4_0 | 32     | 18    | d:f16, qs:[u8;16]                          | d·(q−8)                    |
//! | Q4_1 | 32     | 20    | d:f16, m:f16, qs:[u8;16]                   | d·q + m                    |
//! | Q5_0 | 32     | 22    | d:f16, qh:u32, qs:[u8;16]                  | d·(q−16)                   |
//! | Q5_1 | 32     | 24    | d:f16, m:f16, qh:u32, qs:[u8;16]           | d·q + m                    |
//! | Q8_0 | 32     | 34    | d:f16, qs:[i8;32]                          | d·q                        |
//! | Q4_K | 256    | 144   | d:f16, dmin:f16, scales:[u8;12], qs:[u8;128] | (d·sc)·q − dmin·m        |
//! | Q5_K | 256    | 176   | d, dmin, scales:[u8;12], qh:[u8;32], qs:[u8;128] | (d·sc)·q − dmin·m    |
//! | Q6_K | 256    | 210   | ql:[u8;128], qh:[u8;64], scales:[i8;16], d:f16 | (d·sc)·(q−32)          |
//!
//! In the 32-value types, byte `j` of `qs` holds value `j` in its low nibble and value `j + 16`
//! in its high nibble; for the 5-bit types bit `j` of `qh` is value `j`'s fifth bit.
//! K-quants are "super-blocks" of 256 values in sub-blocks with their own scales, themselves
//! quantized against the f16 super-scales `d` and `dmin`.

use super::{Error, GgmlType};

/// Converts IEEE 754 half-precision bits to f32, exactly (every f16 is representable).
pub fn f16_to_f32(h: u16) -> f32 {
    let negative = h & 0x8000 != 0;
    let exponent = u32::from((h >> 10) & 0x1f);
    let mantissa = u32::from(h & 0x3ff);
    let magnitude = match exponent {
        // Zero and subnormals: mantissa · 2⁻²⁴, exact in f32 (a power-of-two scaling of a
        // small integer). `mantissa` is below 2¹⁰, so the conversion to f32 is exact too.
        0 => f32::from(h & 0x3ff) * (1.0 / 16_777_216.0),
        // Infinity and NaN (keeping the payload).
        0x1f => f32::from_bits(0x7f80_0000 | (mantissa << 13)),
        // Normal: rebias the exponent from 15 to 127.
        _ => f32::from_bits(((exponent + 112) << 23) | (mantissa << 13)),
    };
    if negative { -magnitude } else { magnitude }
}

/// Converts bfloat16 bits (the top half of an f32) to f32.
pub fn bf16_to_f32(h: u16) -> f32 {
    f32::from_bits(u32::from(h) << 16)
}

/// Expands `src`, a whole number of `ty` blocks, into `dst`, which must hold exactly
/// `blocks × block_size` values.
///
/// Supports F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K and Q6_K
/// (see [`GgmlType::can_dequantize`]); other types give [`Error::UnsupportedType`].
pub fn dequantize_blocks(ty: GgmlType, src: &[u8], dst: &mut [f32]) -> Result<(), Error> {
    let block_size = ty.block_size();
    let type_size = ty.type_size();
    let whole_blocks = src.len().is_multiple_of(type_size);
    if !whole_blocks || (src.len() / type_size).checked_mul(block_size) != Some(dst.len()) {
        return Err(Error::BlockSizeMismatch {
            ty,
            src_len: src.len(),
            dst_len: dst.len(),
            block_size,
            type_size,
        });
    }
    // The const sizes below must equal `type_size`/`block_size` for each type; the unit tests
    // pin them against `GgmlType::traits`, and a mismatch could only drop values, never read
    // out of bounds (`as_chunks` ignores a remainder).
    match ty {
        GgmlType::F32 => {
            for (b, y) in src.as_chunks::<4>().0.iter().zip(dst.iter_mut()) {
                *y = f32::from_le_bytes(*b);
            }
        }
        GgmlType::F16 => {
            for (b, y) in src.as_chunks::<2>().0.iter().zip(dst.iter_mut()) {
                *y = f16_to_f32(u16::from_le_bytes(*b));
            }
        }
        GgmlType::BF16 => {
            for (b, y) in src.as_chunks::<2>().0.iter().zip(dst.iter_mut()) {
                *y = bf16_to_f32(u16::from_le_bytes(*b));
            }
        }
        GgmlType::Q4_0 => each_block(src, dst, block_q4_0),
        GgmlType::Q4_1 => each_block(src, dst, block_q4_1),
        GgmlType::Q5_0 => each_block(src, dst, block_q5_0),
        GgmlType::Q5_1 => each_block(src, dst, block_q5_1),
        GgmlType::Q8_0 => each_block(src, dst, block_q8_0),
        GgmlType::Q4_K => each_block(src, dst, block_q4_k),
        GgmlType::Q5_K => each_block(src, dst, block_q5_k),
        GgmlType::Q6_K => each_block(src, dst, block_q6_k),
        _ => return Err(Error::UnsupportedType { ty, tensor: None }),
    }
    Ok(())
}

/// Runs `decode` over corresponding input blocks and output chunks. Fixed-size arrays let the
/// compiler drop the bounds checks inside each block decoder.
#[inline]
fn each_block<const BYTES: usize, const VALUES: usize>(
    src: &[u8],
    dst: &mut [f32],
    decode: fn(&[u8; BYTES], &mut [f32; VALUES]),
) {
    for (block, out) in src
        .as_chunks::<BYTES>()
        .0
        .iter()
        .zip(dst.as_chunks_mut::<VALUES>().0)
    {
        decode(block, out);
    }
}

/// The f16 stored at `bytes[at..at + 2]`.
#[inline]
fn f16_at(bytes: &[u8], at: usize) -> f32 {
    match bytes.get(at..).and_then(<[u8]>::first_chunk::<2>) {
        Some(b) => f16_to_f32(u16::from_le_bytes(*b)),
        None => 0.0, // unreachable: callers pass constant in-block offsets
    }
}

/// Bit `i` of `bits` as 0 or 1.
#[inline]
fn bit(bits: u32, i: usize) -> u8 {
    u8::from((bits >> i) & 1 == 1)
}

/// `block_q4_0`: `d: f16, qs: [u8; 16]`; value = d·(q − 8).
fn block_q4_0(b: &[u8; 18], y: &mut [f32; 32]) {
    let d = f16_at(b, 0);
    let (lo, hi) = y.split_at_mut(16);
    for ((&q, lo), hi) in b[2..].iter().zip(lo).zip(hi) {
        *lo = f32::from(i16::from(q & 0x0F) - 8) * d;
        *hi = f32::from(i16::from(q >> 4) - 8) * d;
    }
}

/// `block_q4_1`: `d: f16, m: f16, qs: [u8; 16]`; value = d·q + m.
fn block_q4_1(b: &[u8; 20], y: &mut [f32; 32]) {
    let d = f16_at(b, 0);
    let m = f16_at(b, 2);
    let (lo, hi) = y.split_at_mut(16);
    for ((&q, lo), hi) in b[4..].iter().zip(lo).zip(hi) {
        *lo = f32::from(q & 0x0F) * d + m;
        *hi = f32::from(q >> 4) * d + m;
    }
}

/// `block_q5_0`: `d: f16, qh: u32, qs: [u8; 16]`; value = d·(q − 16) where value `j`'s fifth
/// bit is bit `j` of `qh`.
fn block_q5_0(b: &[u8; 22], y: &mut [f32; 32]) {
    let d = f16_at(b, 0);
    let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
    let (lo, hi) = y.split_at_mut(16);
    for (j, ((&q, lo), hi)) in b[6..].iter().zip(lo).zip(hi).enumerate() {
        let x0 = (q & 0x0F) | (bit(qh, j) << 4);
        let x1 = (q >> 4) | (bit(qh, j + 16) << 4);
        *lo = f32::from(i16::from(x0) - 16) * d;
        *hi = f32::from(i16::from(x1) - 16) * d;
    }
}

/// `block_q5_1`: `d: f16, m: f16, qh: u32, qs: [u8; 16]`; value = d·q + m.
fn block_q5_1(b: &[u8; 24], y: &mut [f32; 32]) {
    let d = f16_at(b, 0);
    let m = f16_at(b, 2);
    let qh = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
    let (lo, hi) = y.split_at_mut(16);
    for (j, ((&q, lo), hi)) in b[8..].iter().zip(lo).zip(hi).enumerate() {
        let x0 = (q & 0x0F) | (bit(qh, j) << 4);
        let x1 = (q >> 4) | (bit(qh, j + 16) << 4);
        *lo = f32::from(x0) * d + m;
        *hi = f32::from(x1) * d + m;
    }
}

/// `block_q8_0`: `d: f16, qs: [i8; 32]`; value = d·q.
fn block_q8_0(b: &[u8; 34], y: &mut [f32; 32]) {
    let d = f16_at(b, 0);
    for (&q, y) in b[2..].iter().zip(y.iter_mut()) {
        *y = f32::from(q.cast_signed()) * d;
    }
}

/// ggml's `get_scale_min_k4`: sub-block `j`'s 6-bit scale and min from the 12 packed bytes.
/// Sub-blocks 0–3 use the low 6 bits of bytes 0–3 (scales) and 4–7 (mins); sub-blocks 4–7 take
/// their low 4 bits from the nibbles of bytes 8–11 and their top 2 bits from the spare top bits
/// of bytes 0–3 (scales) and 4–7 (mins).
#[inline]
fn scale_min_k4(j: usize, q: &[u8; 12]) -> (u8, u8) {
    if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        (
            (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4),
            (q[j + 4] >> 4) | ((q[j] >> 6) << 4),
        )
    }
}

/// The 12 packed K-quant scale bytes at `b[4..16]` (shared by Q4_K and Q5_K).
#[inline]
fn k_scales(b: &[u8]) -> [u8; 12] {
    b.get(4..16)
        .and_then(|s| s.first_chunk::<12>())
        .copied()
        .unwrap_or([0; 12]) // unreachable: both block types are longer than 16 bytes
}

/// `block_q4_K`: `d: f16, dmin: f16, scales: [u8; 12], qs: [u8; 128]`. Each 64 values use 32
/// bytes of `qs`: low nibbles for the first 32 (sub-block 2i), high nibbles for the next 32
/// (sub-block 2i + 1); value = (d·sc)·q − dmin·m.
fn block_q4_k(b: &[u8; 144], y: &mut [f32; 256]) {
    let d = f16_at(b, 0);
    let dmin = f16_at(b, 2);
    let scales = k_scales(b);
    for (i, (qs, y)) in b[16..]
        .chunks_exact(32)
        .zip(y.chunks_exact_mut(64))
        .enumerate()
    {
        let (sc1, m1) = scale_min_k4(2 * i, &scales);
        let (sc2, m2) = scale_min_k4(2 * i + 1, &scales);
        let (d1, m1) = (d * f32::from(sc1), dmin * f32::from(m1));
        let (d2, m2) = (d * f32::from(sc2), dmin * f32::from(m2));
        let (lo, hi) = y.split_at_mut(32);
        for ((&q, lo), hi) in qs.iter().zip(lo).zip(hi) {
            *lo = d1 * f32::from(q & 0xF) - m1;
            *hi = d2 * f32::from(q >> 4) - m2;
        }
    }
}

/// `block_q5_K`: `d, dmin: f16, scales: [u8; 12], qh: [u8; 32], qs: [u8; 128]`. Like Q4_K,
/// plus a fifth bit for value `l` of each 32-value sub-block `s` at bit `s` of `qh[l]`.
fn block_q5_k(b: &[u8; 176], y: &mut [f32; 256]) {
    let d = f16_at(b, 0);
    let dmin = f16_at(b, 2);
    let scales = k_scales(b);
    let qh = &b[16..48];
    for (i, (ql, y)) in b[48..]
        .chunks_exact(32)
        .zip(y.chunks_exact_mut(64))
        .enumerate()
    {
        let (sc1, m1) = scale_min_k4(2 * i, &scales);
        let (sc2, m2) = scale_min_k4(2 * i + 1, &scales);
        let (d1, m1) = (d * f32::from(sc1), dmin * f32::from(m1));
        let (d2, m2) = (d * f32::from(sc2), dmin * f32::from(m2));
        let (u1, u2) = (1u8 << (2 * i), 2u8 << (2 * i));
        let (lo, hi) = y.split_at_mut(32);
        for (((&q, &h), lo), hi) in ql.iter().zip(qh).zip(lo).zip(hi) {
            let h1 = if h & u1 != 0 { 16 } else { 0 };
            let h2 = if h & u2 != 0 { 16 } else { 0 };
            *lo = d1 * f32::from((q & 0xF) + h1) - m1;
            *hi = d2 * f32::from((q >> 4) + h2) - m2;
        }
    }
}

/// `block_q6_K`: `ql: [u8; 128], qh: [u8; 64], scales: [i8; 16], d: f16`. Each half of 128
/// values uses 64 bytes of `ql`, 32 of `qh` and 8 scales; within it, value `l + 32k`
/// (`k` in 0..4) takes its low 4 bits from nibble `k / 2` of `ql[l + 32 (k % 2)]` and its top
/// 2 bits from bits `2k..2k+2` of `qh[l]`; value = (d·scale[(l + 32k) / 16])·(q − 32).
fn block_q6_k(b: &[u8; 210], y: &mut [f32; 256]) {
    let d = f16_at(b, 208);
    let (ql_all, rest) = b.split_at(128);
    let (qh_all, rest) = rest.split_at(64);
    let scales = &rest[..16];
    for (((ql, qh), sc), y) in ql_all
        .chunks_exact(64)
        .zip(qh_all.chunks_exact(32))
        .zip(scales.chunks_exact(8))
        .zip(y.chunks_exact_mut(128))
    {
        let (ql_lo, ql_hi) = ql.split_at(32);
        let (y01, y23) = y.split_at_mut(64);
        let (y0, y1) = y01.split_at_mut(32);
        let (y2, y3) = y23.split_at_mut(32);
        let rows = ql_lo
            .iter()
            .zip(ql_hi)
            .zip(qh)
            .zip(y0)
            .zip(y1)
            .zip(y2)
            .zip(y3);
        for (l, ((((((&a, &c), &h), y0), y1), y2), y3)) in rows.enumerate() {
            let q1 = i16::from((a & 0xF) | ((h & 3) << 4)) - 32;
            let q2 = i16::from((c & 0xF) | (((h >> 2) & 3) << 4)) - 32;
            let q3 = i16::from((a >> 4) | (((h >> 4) & 3) << 4)) - 32;
            let q4 = i16::from((c >> 4) | (((h >> 6) & 3) << 4)) - 32;
            let is = l / 16;
            let scale = |k: usize| f32::from(sc.get(is + k).copied().unwrap_or(0).cast_signed());
            *y0 = d * scale(0) * f32::from(q1);
            *y1 = d * scale(2) * f32::from(q2);
            *y2 = d * scale(4) * f32::from(q3);
            *y3 = d * scale(6) * f32::from(q4);
        }
    }
}
