//! Weights kept quantized in memory and multiplied quantized, as llama.cpp does: a matrix's rows
//! are blocks of 32 values with their scale, each token's activations are quantized to signed
//! 8-bit blocks of 32 with theirs, and a dot product is a sum of 8-bit integer products per block
//! scaled once per block: AVX-512 VNNI's `vpdpbusd` where the CPU has it (two blocks an
//! instruction), AVX2 where it has that, portable code otherwise.
//!
//! Two stored forms: GGML's `Q4_1` as the file holds it (`d·q + m`, `q` 4-bit), and signed 8-bit
//! (`d·q`) — GGML's `Q8_0`, and what `Q4_0` (exactly), `F16` and `F32` (rounded) become. A decode
//! step reads each weight once, 0.75 or 1.125 bytes a value instead of `f32`'s 4.

use std::sync::{Mutex, PoisonError};

use crate::{
	gguf::{self, half, GgufError, RawTensor},
	team::team,
};

/// Values per block.
pub const BLOCK: usize = 32;

enum Blocks {
	/// value = `scales[b]` · `quants[i]`.
	Eight { scales: Vec<f32>, quants: Vec<i8> },
	/// value = `scales[b]` · q + `mins[b]`, q the low nibble of `nibbles[i]` for the block's first
	/// 16 values and the high nibble for its last 16 (GGML's `Q4_1` layout).
	Four { scales: Vec<f32>, mins: Vec<f32>, nibbles: Vec<u8> },
}

/// A `[rows, cols]` matrix of quantized blocks, row by row.
pub struct QMatrix {
	rows: usize,
	cols: usize,
	blocks: Blocks,
}

/// One token's (or several tokens') activations quantized for [`matmul`].
pub struct Activations {
	tokens: usize,
	cols: usize,
	/// Per block: its scale, and scale × the sum of its quants (what a `Q4_1` minimum multiplies).
	scales: Vec<f32>,
	sums: Vec<f32>,
	quants: Vec<i8>,
	/// Each block's scale eight times over, as the VNNI kernel multiplies a block's eight sums.
	wide: Vec<f32>,
}

/// The kernels a product runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Kernel {
	Portable,
	/// AVX2 and FMA.
	Avx2,
	/// AVX-512 (F and BW) with VNNI.
	Vnni,
}

/// Signed 8-bit blocks of `values` (whole blocks): scales, scale × sums, quants.
fn quantize_blocks(values: &[f32]) -> (Vec<f32>, Vec<f32>, Vec<i8>) {
	#[cfg(target_arch = "x86_64")]
	if simd() {
		// SAFETY: `simd()` is true only where the CPU has AVX2 and FMA (VNNI's CPUs have both).
		return unsafe { avx2::quantize_blocks(values) };
	}
	quantize_blocks_portable(values)
}

#[inline(always)]
fn quantize_blocks_portable(values: &[f32]) -> (Vec<f32>, Vec<f32>, Vec<i8>) {
	let blocks = values.len() / BLOCK;
	let mut scales = vec![0f32; blocks];
	let mut sums = vec![0f32; blocks];
	let mut quants = vec![0i8; blocks * BLOCK];
	// Loops over slices of known length, written in place, so they vectorize.
	for (((block, quants), scale), sum) in values
		.chunks_exact(BLOCK)
		.zip(quants.chunks_exact_mut(BLOCK))
		.zip(&mut scales)
		.zip(&mut sums)
	{
		let block: &[f32; BLOCK] = block.try_into().unwrap_or_else(|_| unreachable!("a block"));
		let largest = block.iter().fold(0f32, |m, v| m.max(v.abs()));
		*scale = largest / 127.0;
		let inverse = if *scale > 0.0 { 1.0 / *scale } else { 0.0 };
		let mut total = 0i32;
		for (q, v) in quants.iter_mut().zip(block) {
			// Ties to even, as the CPU rounds (and llama.cpp's SIMD quantizers do): `round`'s
			// ties away from zero is a library call a value.
			*q = (v * inverse).round_ties_even().clamp(-127.0, 127.0) as i8;
			total += i32::from(*q);
		}
		*sum = *scale * total as f32;
	}
	(scales, sums, quants)
}

impl QMatrix {
	/// The matrix a GGUF tensor holds (GGML dims `[cols, rows]`), kept in its stored form where
	/// this module multiplies it, converted to 8-bit otherwise.
	pub fn from_gguf(name: &str, raw: RawTensor<'_>) -> Result<Self, GgufError> {
		let malformed = |reason: String| GgufError::Malformed { what: name.into(), reason };
		let [cols, rows] = raw.dims else {
			return Err(malformed(format!("{} dimensions, not a matrix", raw.dims.len())));
		};
		let (cols, rows) = (*cols as usize, *rows as usize);
		if cols == 0 || !cols.is_multiple_of(BLOCK) {
			return Err(malformed(format!("{cols} columns, not whole blocks of {BLOCK}")));
		}
		let blocks = match raw.kind {
			gguf::Q4_1 => {
				let count = raw.bytes.len() / 20;
				let mut scales = Vec::with_capacity(count);
				let mut mins = Vec::with_capacity(count);
				let mut nibbles = Vec::with_capacity(count * 16);
				for block in raw.bytes.chunks_exact(20) {
					scales.push(half(&block[0..2]));
					mins.push(half(&block[2..4]));
					nibbles.extend_from_slice(&block[4..20]);
				}
				Blocks::Four { scales, mins, nibbles }
			},
			// A half scale, then 32 signed bytes (Q8_0) or 16 bytes of 4-bit quants, offset by
			// 8, low nibbles first (Q4_0): both signed 8-bit here, exactly.
			kind @ (gguf::Q8_0 | gguf::Q4_0) => {
				let size = if kind == gguf::Q8_0 { 34 } else { 18 };
				let count = raw.bytes.len() / size;
				let mut scales = Vec::with_capacity(count);
				let mut quants = Vec::with_capacity(count * BLOCK);
				for block in raw.bytes.chunks_exact(size) {
					scales.push(half(&block[0..2]));
					let data = &block[2..];
					if kind == gguf::Q8_0 {
						quants.extend(data.iter().map(|q| *q as i8));
					} else {
						quants.extend(data.iter().map(|q| (q & 0x0f) as i8 - 8));
						quants.extend(data.iter().map(|q| (q >> 4) as i8 - 8));
					}
				}
				Blocks::Eight { scales, quants }
			},
			kind => {
				let values = gguf::dequantize(kind, raw.bytes, raw.count)
					.ok_or(GgufError::UnsupportedType { name: name.into(), kind })?;
				return Ok(Self::quantize(rows, cols, &values));
			},
		};
		let matrix = Self { rows, cols, blocks };
		if matrix.block_count() != rows * cols / BLOCK {
			return Err(malformed("its data is not rows × columns values".into()));
		}
		Ok(matrix)
	}

	/// `values` (`rows × cols`, row by row; `cols` whole blocks) rounded to signed 8-bit blocks.
	pub fn quantize(rows: usize, cols: usize, values: &[f32]) -> Self {
		assert!(cols.is_multiple_of(BLOCK) && values.len() == rows * cols, "whole blocks");
		let (scales, _, quants) = quantize_blocks(values);
		Self { rows, cols, blocks: Blocks::Eight { scales, quants } }
	}

	fn block_count(&self) -> usize {
		match &self.blocks {
			Blocks::Eight { scales, quants } if quants.len() == scales.len() * BLOCK => {
				scales.len()
			},
			Blocks::Four { scales, mins, nibbles }
				if mins.len() == scales.len() && nibbles.len() == scales.len() * BLOCK / 2 =>
			{
				scales.len()
			},
			_ => usize::MAX,
		}
	}

	pub fn rows(&self) -> usize {
		self.rows
	}

	pub fn cols(&self) -> usize {
		self.cols
	}

	/// Bytes its weights take in memory.
	pub fn bytes(&self) -> usize {
		match &self.blocks {
			Blocks::Eight { scales, quants } => scales.len() * 4 + quants.len(),
			Blocks::Four { scales, mins, nibbles } => {
				(scales.len() + mins.len()) * 4 + nibbles.len()
			},
		}
	}

	/// Row `r` dequantized (an embedding lookup); `None` past the last row.
	pub fn row(&self, r: usize) -> Option<Vec<f32>> {
		if r >= self.rows {
			return None;
		}
		let per_row = self.cols / BLOCK;
		let mut out = Vec::with_capacity(self.cols);
		for b in r * per_row..(r + 1) * per_row {
			match &self.blocks {
				Blocks::Eight { scales, quants } => out.extend(
					quants[b * BLOCK..(b + 1) * BLOCK].iter().map(|q| f32::from(*q) * scales[b]),
				),
				Blocks::Four { scales, mins, nibbles } => {
					let block = &nibbles[b * 16..(b + 1) * 16];
					out.extend(block.iter().map(|q| f32::from(q & 0x0f) * scales[b] + mins[b]));
					out.extend(block.iter().map(|q| f32::from(q >> 4) * scales[b] + mins[b]));
				},
			}
		}
		Some(out)
	}

	/// Rows `first..` into `out` (`[row][token]`, as many rows as `out` holds), on `kernel`
	/// or, where this CPU lacks it, the best it has.
	fn rows_into(&self, first: usize, out: &mut [f32], x: &Activations, kernel: Kernel) {
		#[cfg(target_arch = "x86_64")]
		match kernel.min(cpu_kernel()) {
			// SAFETY: `cpu_kernel()` is VNNI only where the CPU has AVX-512 F, BW and VNNI.
			Kernel::Vnni => return unsafe { vnni::rows_into(self, first, out, x) },
			// SAFETY: `cpu_kernel()` is AVX2 (or VNNI) only where the CPU has AVX2 and FMA.
			Kernel::Avx2 => return unsafe { avx2::rows_into(self, first, out, x) },
			Kernel::Portable => {},
		}
		let _ = kernel;
		self.rows_with(first, out, x, 0, dot8, dot4)
	}

	/// [`rows_into`](Self::rows_into) for the tokens from `from` on, by the given block kernels
	/// (inlined into each caller, so the AVX2 one's loops are compiled for AVX2 too).
	#[inline(always)]
	fn rows_with(
		&self,
		first: usize,
		out: &mut [f32],
		x: &Activations,
		from: usize,
		dot8: impl Fn(&[f32], &[i8], &[f32], &[i8]) -> f32,
		dot4: impl Fn(&[f32], &[f32], &[u8], &[f32], &[f32], &[i8]) -> f32,
	) {
		let per_row = self.cols / BLOCK;
		let tokens = x.tokens;
		let activations = |t: usize| {
			let a = t * per_row..(t + 1) * per_row;
			(&x.scales[a.clone()], &x.sums[a.clone()], &x.quants[a.start * BLOCK..a.end * BLOCK])
		};
		for (i, row_out) in out.chunks_exact_mut(tokens).enumerate() {
			let b = (first + i) * per_row..(first + i + 1) * per_row;
			match &self.blocks {
				Blocks::Eight { scales, quants } => {
					let (w_scales, w_quants) =
						(&scales[b.clone()], &quants[b.start * BLOCK..b.end * BLOCK]);
					for (t, value) in (from..).zip(&mut row_out[from..]) {
						let (a_scales, _, a_quants) = activations(t);
						*value = dot8(w_scales, w_quants, a_scales, a_quants);
					}
				},
				Blocks::Four { scales, mins, nibbles } => {
					let (w_scales, w_mins) = (&scales[b.clone()], &mins[b.clone()]);
					let w_nibbles = &nibbles[b.start * BLOCK / 2..b.end * BLOCK / 2];
					for (t, value) in (from..).zip(&mut row_out[from..]) {
						let (a_scales, a_sums, a_quants) = activations(t);
						*value = dot4(w_scales, w_mins, w_nibbles, a_scales, a_sums, a_quants);
					}
				},
			}
		}
	}
}

impl Activations {
	/// `values` (`tokens × cols`, token by token; `cols` whole blocks) quantized.
	pub fn quantize(values: &[f32], cols: usize) -> Self {
		assert!(cols > 0 && cols.is_multiple_of(BLOCK) && values.len().is_multiple_of(cols));
		let (scales, sums, quants) = quantize_blocks(values);
		let wide = scales.iter().flat_map(|s| [*s; 8]).collect();
		Self { tokens: values.len() / cols, cols, scales, sums, quants, wide }
	}

	pub fn tokens(&self) -> usize {
		self.tokens
	}
}

/// Whether this CPU runs AVX2 code (the VNNI kernels' CPUs do too).
pub(crate) fn simd() -> bool {
	kernel() != Kernel::Portable
}

/// The fastest kernels this CPU has (checked once): `MEMBRIA_NO_SIMD` set, the portable ones;
/// `MEMBRIA_NO_AVX512` set, AVX2 at most.
pub(crate) fn kernel() -> Kernel {
	static KERNEL: std::sync::OnceLock<Kernel> = std::sync::OnceLock::new();
	*KERNEL.get_or_init(|| {
		let no = |name: &str| std::env::var_os(name).is_some();
		best_kernel(no("MEMBRIA_NO_SIMD"), no("MEMBRIA_NO_AVX512"))
	})
}

/// The CPU's best kernels (checked once), whatever the environment says.
fn cpu_kernel() -> Kernel {
	static KERNEL: std::sync::OnceLock<Kernel> = std::sync::OnceLock::new();
	*KERNEL.get_or_init(|| best_kernel(false, false))
}

/// The CPU's best kernels, short of those refused.
fn best_kernel(no_simd: bool, no_avx512: bool) -> Kernel {
	#[cfg(target_arch = "x86_64")]
	{
		let avx2 = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
		let vnni = is_x86_feature_detected!("avx512f")
			&& is_x86_feature_detected!("avx512bw")
			&& is_x86_feature_detected!("avx512vnni");
		match () {
			_ if no_simd || !avx2 => Kernel::Portable,
			_ if no_avx512 || !vnni => Kernel::Avx2,
			_ => Kernel::Vnni,
		}
	}
	#[cfg(not(target_arch = "x86_64"))]
	{
		let _ = (no_simd, no_avx512);
		Kernel::Portable
	}
}

/// Multiply-adds a task does (at least four rows): a task costs its taking and its lock, tens of
/// nanoseconds, and a row of ten tokens is a microsecond.
const TASK_WORK: usize = 1 << 18;

/// `x · mᵀ` for each matrix of `parts` (all of `x`'s width), on every core: per matrix, its
/// outputs token by token (`[tokens, rows]`).
pub fn matmul(parts: &[&QMatrix], x: &Activations) -> Vec<Vec<f32>> {
	matmul_on(parts, x, kernel())
}

/// [`matmul`] on `kernel` (one this CPU has).
fn matmul_on(parts: &[&QMatrix], x: &Activations, kernel: Kernel) -> Vec<Vec<f32>> {
	let tokens = x.tokens;
	let mut outs: Vec<Vec<f32>> = parts
		.iter()
		.map(|m| {
			assert_eq!(m.cols, x.cols, "activations as wide as the matrix");
			vec![0f32; m.rows * tokens]
		})
		.collect();
	if tokens == 0 {
		return outs;
	}
	let cols = x.cols.max(1);
	let rows_per_task = (TASK_WORK / (cols * tokens)).max(4);
	// Tasks: a run of rows of one matrix, with the part of its output they write.
	let mut tasks: Vec<(&QMatrix, usize, Mutex<&mut [f32]>)> = Vec::new();
	for (m, out) in parts.iter().zip(outs.iter_mut()) {
		for (i, o) in out.chunks_mut(rows_per_task * tokens).enumerate() {
			tasks.push((m, i * rows_per_task, Mutex::new(o)));
		}
	}
	let work = parts.iter().map(|m| m.rows * m.cols).sum::<usize>() * tokens;
	team().for_each_sized(tasks.len(), work, |i| {
		let (m, first, out) = &tasks[i];
		m.rows_into(*first, &mut out.lock().unwrap_or_else(PoisonError::into_inner), x, kernel);
	});
	drop(tasks);
	if tokens > 1 {
		for (m, out) in parts.iter().zip(outs.iter_mut()) {
			let mut by_token = vec![0f32; out.len()];
			for (r, row) in out.chunks_exact(tokens).enumerate() {
				for (t, v) in row.iter().enumerate() {
					by_token[t * m.rows + r] = *v;
				}
			}
			*out = by_token;
		}
	}
	outs
}

/// `a · b` in eight lanes (so a caller compiled for AVX2 gets one vector sum).
#[inline(always)]
pub(crate) fn lanes_dot(a: &[f32], b: &[f32]) -> f32 {
	let mut lanes = [0f32; 8];
	let (a_chunks, b_chunks) = (a.chunks_exact(8), b.chunks_exact(8));
	let tail: f32 = a_chunks.remainder().iter().zip(b_chunks.remainder()).map(|(x, y)| x * y).sum();
	for (x, y) in a_chunks.zip(b_chunks) {
		for i in 0..8 {
			lanes[i] += x[i] * y[i];
		}
	}
	lanes.iter().sum::<f32>() + tail
}

fn dot8(w_scales: &[f32], w_quants: &[i8], a_scales: &[f32], a_quants: &[i8]) -> f32 {
	let mut total = 0f32;
	for (b, (w, a)) in w_quants.chunks_exact(BLOCK).zip(a_quants.chunks_exact(BLOCK)).enumerate() {
		let sum: i32 = w.iter().zip(a).map(|(w, a)| i32::from(*w) * i32::from(*a)).sum();
		total += sum as f32 * (w_scales[b] * a_scales[b]);
	}
	total
}

fn dot4(
	w_scales: &[f32],
	w_mins: &[f32],
	w_nibbles: &[u8],
	a_scales: &[f32],
	a_sums: &[f32],
	a_quants: &[i8],
) -> f32 {
	let mut total = 0f32;
	for (b, (w, a)) in w_nibbles.chunks_exact(16).zip(a_quants.chunks_exact(BLOCK)).enumerate() {
		let mut sum = 0i32;
		for (i, q) in w.iter().enumerate() {
			sum += i32::from(q & 0x0f) * i32::from(a[i]) + i32::from(q >> 4) * i32::from(a[i + 16]);
		}
		total += sum as f32 * (w_scales[b] * a_scales[b]) + w_mins[b] * a_sums[b];
	}
	total
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
	use std::arch::x86_64::*;

	use super::{Activations, QMatrix, BLOCK};

	/// Tokens multiplied together by [`rows_by_four`].
	const TOKENS: usize = 4;

	/// [`rows_into`] for the most tokens a multiple of four: each weight block is loaded (and
	/// unpacked) once for four tokens, four sums kept in registers. Returns how many tokens it
	/// did (the first ones).
	///
	/// # Safety
	/// The CPU has AVX2 and FMA.
	#[target_feature(enable = "avx2,fma")]
	unsafe fn rows_by_four(m: &QMatrix, first: usize, out: &mut [f32], x: &Activations) -> usize {
		let per_row = m.cols / BLOCK;
		let tokens = x.tokens;
		let rows = out.len() / tokens;
		assert!(
			x.cols == m.cols
				&& x.scales.len() == tokens * per_row
				&& x.sums.len() == tokens * per_row
				&& x.quants.len() == tokens * per_row * BLOCK
				&& first + rows <= m.rows
		);
		let grouped = tokens / TOKENS * TOKENS;
		// SAFETY (both): as this function's; the matrix holds rows `first..first + rows`.
		match &m.blocks {
			super::Blocks::Eight { scales, quants } => unsafe {
				four_tokens::<false>(scales, &[], bytes(quants), first, out, x, grouped)
			},
			super::Blocks::Four { scales, mins, nibbles } => unsafe {
				four_tokens::<true>(scales, mins, nibbles, first, out, x, grouped)
			},
		}
		grouped
	}

	/// The first `grouped` tokens (a multiple of four) of rows `first..` into `out`, for 8-bit
	/// weights (`FOUR` false: `weights` holds their bytes, 32 a block) or `Q4_1` ones (`FOUR`:
	/// 16 bytes of nibbles a block, and `mins`).
	///
	/// # Safety
	/// The CPU has AVX2 and FMA; the matrix (`scales`, `weights`) holds the rows `out` asks for,
	/// as wide as `x`.
	#[target_feature(enable = "avx2,fma")]
	#[allow(clippy::too_many_arguments)]
	unsafe fn four_tokens<const FOUR: bool>(
		scales: &[f32],
		mins: &[f32],
		weights: &[u8],
		first: usize,
		out: &mut [f32],
		x: &Activations,
		grouped: usize,
	) {
		let per_row = x.cols / BLOCK;
		let tokens = x.tokens;
		let block_bytes = if FOUR { BLOCK / 2 } else { BLOCK };
		let rows = out.len() / tokens;
		assert!(
			scales.len() >= (first + rows) * per_row
				&& weights.len() >= (first + rows) * per_row * block_bytes
				&& (!FOUR || mins.len() >= (first + rows) * per_row)
				&& x.quants.len() == tokens * per_row * BLOCK
				&& x.scales.len() == tokens * per_row
				&& x.sums.len() == tokens * per_row
				&& grouped <= tokens
				&& grouped.is_multiple_of(TOKENS)
		);
		let ones = _mm256_set1_epi16(1);
		let low = _mm_set1_epi8(0x0f);
		for (i, row_out) in out.chunks_exact_mut(tokens).enumerate() {
			let row = (first + i) * per_row;
			for t in (0..grouped).step_by(TOKENS) {
				let mut acc = [_mm256_setzero_ps(); TOKENS];
				for b in 0..per_row {
					let w_block = row + b;
					let w_scale = _mm256_set1_ps(scales[w_block]);
					// SAFETY: block `w_block` of the weights (checked above).
					let (unsigned, sign) = unsafe {
						if FOUR {
							let raw =
								_mm_loadu_si128(weights.as_ptr().add(w_block * block_bytes).cast());
							let q = _mm256_set_m128i(
								_mm_and_si128(_mm_srli_epi16(raw, 4), low),
								_mm_and_si128(raw, low),
							);
							(q, q)
						} else {
							let w = _mm256_loadu_si256(
								weights.as_ptr().add(w_block * block_bytes).cast(),
							);
							(_mm256_sign_epi8(w, w), w)
						}
					};
					for (k, acc) in acc.iter_mut().enumerate() {
						let a_block = (t + k) * per_row + b;
						// SAFETY: block `a_block` of `x`'s quants (checked above).
						let a = unsafe {
							_mm256_loadu_si256(x.quants.as_ptr().add(a_block * BLOCK).cast())
						};
						// Unsigned × signed, as `maddubs` multiplies: 4-bit quants as they are,
						// 8-bit ones as |w| against a with w's sign.
						let a = if FOUR { a } else { _mm256_sign_epi8(a, sign) };
						let sums = _mm256_cvtepi32_ps(_mm256_madd_epi16(
							_mm256_maddubs_epi16(unsigned, a),
							ones,
						));
						let a_scale = _mm256_set1_ps(x.scales[a_block]);
						*acc = _mm256_fmadd_ps(_mm256_mul_ps(sums, w_scale), a_scale, *acc);
					}
				}
				for (k, acc) in acc.iter().enumerate() {
					let minimums = if FOUR {
						let a = (t + k) * per_row..(t + k + 1) * per_row;
						super::lanes_dot(&mins[row..row + per_row], &x.sums[a])
					} else {
						0.0
					};
					row_out[t + k] = sum(*acc) + minimums;
				}
			}
		}
	}

	/// Blocks whose scale products are computed ahead, eight at a time.
	const SCALES: usize = 64;

	/// `out[i] = a[i] · b[i]` (vectorized here).
	#[target_feature(enable = "avx2,fma")]
	#[inline]
	fn products(out: &mut [f32], a: &[f32], b: &[f32]) {
		for ((o, a), b) in out.iter_mut().zip(a).zip(b) {
			*o = a * b;
		}
	}

	/// [`QMatrix::rows_into`] through the AVX2 kernels.
	///
	/// # Safety
	/// The CPU has AVX2 and FMA.
	#[target_feature(enable = "avx2,fma")]
	pub unsafe fn rows_into(m: &QMatrix, first: usize, out: &mut [f32], x: &Activations) {
		// Four tokens at a time per weight block, then the rest one by one.
		// SAFETY: as this function's.
		let grouped =
			if x.tokens >= TOKENS { unsafe { rows_by_four(m, first, out, x) } } else { 0 };
		m.rows_with(
			first,
			out,
			x,
			grouped,
			// SAFETY (both): as this function's.
			|ws, wq, a_scales, aq| unsafe { dot::<false>(ws, &[], bytes(wq), a_scales, &[], aq) },
			|ws, wm, wn, a_scales, sums, aq| unsafe { dot::<true>(ws, wm, wn, a_scales, sums, aq) },
		)
	}

	/// [`super::quantize_blocks_portable`] compiled for AVX2 (its rounding and largest values
	/// vectorized).
	///
	/// # Safety
	/// The CPU has AVX2 and FMA.
	#[target_feature(enable = "avx2,fma")]
	pub unsafe fn quantize_blocks(values: &[f32]) -> (Vec<f32>, Vec<f32>, Vec<i8>) {
		super::quantize_blocks_portable(values)
	}

	#[target_feature(enable = "avx2,fma")]
	fn sum(v: __m256) -> f32 {
		let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
		let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
		let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
		_mm_cvtss_f32(s)
	}

	/// The weights' bytes as stored (two's complement).
	pub(super) fn bytes(quants: &[i8]) -> &[u8] {
		// SAFETY: `i8` and `u8` have the same size and alignment, and every bit pattern is a
		// valid `u8`; the slice borrows `quants`.
		unsafe { std::slice::from_raw_parts(quants.as_ptr().cast::<u8>(), quants.len()) }
	}

	/// One row of weights · one token's activations, block by block: 8-bit weights (`FOUR`
	/// false: `weights` holds their bytes, 32 a block) or `Q4_1` ones (`FOUR`: 16 bytes of
	/// nibbles a block, and `w_mins`).
	///
	/// # Safety
	/// The CPU has AVX2 and FMA.
	#[target_feature(enable = "avx2,fma")]
	#[inline]
	unsafe fn dot<const FOUR: bool>(
		w_scales: &[f32],
		w_mins: &[f32],
		weights: &[u8],
		a_scales: &[f32],
		a_sums: &[f32],
		a_quants: &[i8],
	) -> f32 {
		let blocks = w_scales.len();
		let block_bytes = if FOUR { BLOCK / 2 } else { BLOCK };
		assert!(
			a_scales.len() == blocks
				&& weights.len() == blocks * block_bytes
				&& a_quants.len() == blocks * BLOCK
				&& (!FOUR || (w_mins.len() == blocks && a_sums.len() == blocks))
		);
		let ones = _mm256_set1_epi16(1);
		let low = _mm_set1_epi8(0x0f);
		let mut acc = _mm256_setzero_ps();
		let mut scales = [0f32; SCALES];
		for first in (0..blocks).step_by(SCALES) {
			let n = (blocks - first).min(SCALES);
			products(&mut scales[..n], &w_scales[first..first + n], &a_scales[first..first + n]);
			for (i, scale) in scales[..n].iter().enumerate() {
				let b = first + i;
				// SAFETY: block b of the weights and of the activations (checked above).
				let (unsigned, a) = unsafe {
					let a = _mm256_loadu_si256(a_quants.as_ptr().add(b * BLOCK).cast());
					if FOUR {
						let raw = _mm_loadu_si128(weights.as_ptr().add(b * block_bytes).cast());
						let q = _mm256_set_m128i(
							_mm_and_si128(_mm_srli_epi16(raw, 4), low),
							_mm_and_si128(raw, low),
						);
						(q, a)
					} else {
						// |w| · (a with w's sign): unsigned × signed, as `maddubs` multiplies.
						let w = _mm256_loadu_si256(weights.as_ptr().add(b * block_bytes).cast());
						(_mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w))
					}
				};
				let sums = _mm256_madd_epi16(_mm256_maddubs_epi16(unsigned, a), ones);
				acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), _mm256_set1_ps(*scale), acc);
			}
		}
		// Σ minimum · Σ activations, the `Q4_1` blocks' second term, eight blocks at a time.
		sum(acc) + if FOUR { super::lanes_dot(w_mins, a_sums) } else { 0.0 }
	}
}

#[cfg(target_arch = "x86_64")]
mod vnni {
	//! AVX-512 VNNI: `vpdpbusd` multiplies 64 unsigned bytes by 64 signed ones and adds each
	//! four products into one of 16 sums, so one instruction does two blocks' products (eight
	//! sums each), where AVX2 takes two (`maddubs`, `madd`) per block.

	use std::arch::x86_64::*;

	use super::{Activations, Blocks, QMatrix, BLOCK};

	/// Tokens multiplied together: each pair of weight blocks is loaded (and unpacked) once
	/// for up to this many tokens, a sum for each kept in a register.
	const TILE: usize = 8;

	/// One matrix's blocks, `FOUR` or 8-bit (as in [`super::avx2`]).
	struct Weights<'a> {
		scales: &'a [f32],
		mins: &'a [f32],
		bytes: &'a [u8],
	}

	/// [`QMatrix::rows_into`] through the VNNI kernels.
	///
	/// # Safety
	/// The CPU has AVX-512 F, BW and VNNI.
	#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
	pub unsafe fn rows_into(m: &QMatrix, first: usize, out: &mut [f32], x: &Activations) {
		let per_row = m.cols / BLOCK;
		let tokens = x.tokens;
		let rows = out.len() / tokens;
		let blocks = (first + rows) * per_row;
		assert!(
			x.cols == m.cols
				&& out.len() == rows * tokens
				&& x.scales.len() == tokens * per_row
				&& x.sums.len() == tokens * per_row
				&& x.wide.len() == tokens * per_row * 8
				&& x.quants.len() == tokens * per_row * BLOCK
				&& first + rows <= m.rows
		);
		let (weights, four) = match &m.blocks {
			Blocks::Eight { scales, quants } => {
				(Weights { scales, mins: &[], bytes: super::avx2::bytes(quants) }, false)
			},
			Blocks::Four { scales, mins, nibbles } => {
				(Weights { scales, mins, bytes: nibbles }, true)
			},
		};
		let block_bytes = if four { BLOCK / 2 } else { BLOCK };
		assert!(
			weights.scales.len() >= blocks
				&& weights.bytes.len() >= blocks * block_bytes
				&& (!four || weights.mins.len() >= blocks)
		);
		for (i, row_out) in out.chunks_exact_mut(tokens).enumerate() {
			// The row after next on its way from memory while this one is multiplied.
			if i + 2 < rows {
				let ahead = (first + i + 2) * per_row;
				let bytes = &weights.bytes[ahead * block_bytes..(ahead + per_row) * block_bytes];
				for line in bytes.chunks(64) {
					_mm_prefetch::<_MM_HINT_T0>(line.as_ptr().cast());
				}
				for scales in [weights.scales, weights.mins] {
					for line in scales.get(ahead..ahead + per_row).unwrap_or_default().chunks(16) {
						_mm_prefetch::<_MM_HINT_T0>(line.as_ptr().cast());
					}
				}
			}
			for (tile, sums) in row_out.chunks_mut(TILE).enumerate() {
				let (row, t) = (first + i, tile * TILE);
				// SAFETY (each): as this function's; the row and the tokens are in bounds
				// (checked above).
				unsafe {
					match four {
						true => tiles::<true>(&weights, row, x, t, sums),
						false => tiles::<false>(&weights, row, x, t, sums),
					}
				}
			}
		}
	}

	/// [`tile`] for as many tokens as `out` holds (at most [`TILE`]).
	///
	/// # Safety
	/// As [`tile`]'s.
	#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
	unsafe fn tiles<const FOUR: bool>(
		weights: &Weights<'_>,
		row: usize,
		x: &Activations,
		t: usize,
		out: &mut [f32],
	) {
		// SAFETY (each): as this function's.
		unsafe {
			match out.len() {
				8 => tile::<FOUR, 8>(weights, row, x, t, out),
				7 => tile::<FOUR, 7>(weights, row, x, t, out),
				6 => tile::<FOUR, 6>(weights, row, x, t, out),
				5 => tile::<FOUR, 5>(weights, row, x, t, out),
				4 => tile::<FOUR, 4>(weights, row, x, t, out),
				3 => tile::<FOUR, 3>(weights, row, x, t, out),
				2 => tile::<FOUR, 2>(weights, row, x, t, out),
				_ => tile::<FOUR, 1>(weights, row, x, t, out),
			}
		}
	}

	/// Row `row` of the weights · tokens `t..t + N` into `out` (N values).
	///
	/// # Safety
	/// The CPU has AVX-512 F, BW and VNNI; `weights` holds row `row` and `x` tokens
	/// `t..t + N`, as wide as each other ([`rows_into`] checks both).
	#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
	unsafe fn tile<const FOUR: bool, const N: usize>(
		weights: &Weights<'_>,
		row: usize,
		x: &Activations,
		t: usize,
		out: &mut [f32],
	) {
		let per_row = x.cols / BLOCK;
		let mut acc = [_mm512_setzero_ps(); N];
		// Where each token's quants and wide scales start.
		// SAFETY (both): the tokens are in `x` (this function's contract).
		let tokens = Tokens {
			quants: std::array::from_fn(|k| unsafe {
				x.quants.as_ptr().add((t + k) * per_row * BLOCK)
			}),
			wide: std::array::from_fn(|k| unsafe { x.wide.as_ptr().add((t + k) * per_row * 8) }),
		};
		let mut b = 0;
		// SAFETY (both): blocks `b..b + 2` (`b` alone) of the row and of each token.
		while b + 2 <= per_row {
			unsafe { pair::<FOUR, N, true>(weights, row * per_row + b, &tokens, b, &mut acc) };
			b += 2;
		}
		if b < per_row {
			unsafe { pair::<FOUR, N, false>(weights, row * per_row + b, &tokens, b, &mut acc) };
		}
		for (k, (value, acc)) in out.iter_mut().zip(acc).enumerate() {
			// Σ minimum · Σ activations, the `Q4_1` blocks' second term.
			let minimums = if FOUR {
				let a = (t + k) * per_row..(t + k + 1) * per_row;
				super::lanes_dot(&weights.mins[row * per_row..(row + 1) * per_row], &x.sums[a])
			} else {
				0.0
			};
			*value = _mm512_reduce_add_ps(acc) + minimums;
		}
	}

	/// Where each of a tile's tokens starts in the activations.
	struct Tokens<const N: usize> {
		quants: [*const i8; N],
		wide: [*const f32; N],
	}

	/// Weight blocks `w, w + 1` (`BOTH`; `w` alone otherwise, the upper half zero) times
	/// blocks `a, a + 1` of each of the `N` tokens, added to `acc`.
	///
	/// # Safety
	/// As [`tile`]'s: the blocks exist.
	#[inline(always)]
	unsafe fn pair<const FOUR: bool, const N: usize, const BOTH: bool>(
		weights: &Weights<'_>,
		w: usize,
		tokens: &Tokens<N>,
		a: usize,
		acc: &mut [__m512; N],
	) {
		// SAFETY: the blocks exist (this function's contract); a masked load reads only its
		// lanes.
		unsafe {
			// The weights as 64 unsigned bytes in the activations' order, and (8-bit) which
			// are negative.
			let (unsigned, negative) = if FOUR {
				let p = weights.bytes.as_ptr().add(w * BLOCK / 2);
				let raw = if BOTH {
					_mm256_loadu_si256(p.cast())
				} else {
					_mm256_zextsi128_si256(_mm_loadu_si128(p.cast()))
				};
				// Lanes of 16 bytes: [block w, block w, block w + 1, block w + 1]; the low
				// nibbles of the first copy are values 0..16 of the block, the high ones of
				// the second values 16..32.
				let v = _mm512_castsi256_si512(raw);
				let v = _mm512_shuffle_i64x2::<0b01_01_00_00>(v, v);
				let v = _mm512_mask_srli_epi16(v, 0xff00_ff00, v, 4);
				(_mm512_and_si512(v, _mm512_set1_epi8(0x0f)), 0)
			} else {
				let p = weights.bytes.as_ptr().add(w * BLOCK);
				let v = if BOTH {
					_mm512_loadu_si512(p.cast())
				} else {
					_mm512_zextsi256_si512(_mm256_loadu_si256(p.cast()))
				};
				// |w| against a with w's sign: unsigned × signed, as `vpdpbusd` multiplies.
				(_mm512_abs_epi8(v), _mm512_movepi8_mask(v))
			};
			let scale = if BOTH {
				_mm512_mask_blend_ps(
					0xff00,
					_mm512_set1_ps(weights.scales[w]),
					_mm512_set1_ps(weights.scales[w + 1]),
				)
			} else {
				_mm512_maskz_mov_ps(0x00ff, _mm512_set1_ps(weights.scales[w]))
			};
			let (bytes, lanes) =
				if BOTH { (u64::MAX, 0xffff) } else { (u64::from(u32::MAX), 0x00ff) };
			for (k, acc) in acc.iter_mut().enumerate() {
				let q = _mm512_maskz_loadu_epi8(bytes, tokens.quants[k].add(a * BLOCK).cast());
				let q = if FOUR {
					q
				} else {
					_mm512_mask_sub_epi8(q, negative, _mm512_setzero_si512(), q)
				};
				let sums = _mm512_dpbusd_epi32(_mm512_setzero_si512(), unsigned, q);
				let a_scale = _mm512_maskz_loadu_ps(lanes, tokens.wide[k].add(a * 8));
				*acc =
					_mm512_fmadd_ps(_mm512_cvtepi32_ps(sums), _mm512_mul_ps(scale, a_scale), *acc);
			}
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	/// The kernels this CPU runs (the portable ones always; printed, so a log shows which ran).
	fn kernels() -> impl Iterator<Item = Kernel> {
		let best = best_kernel(false, false);
		eprintln!("this CPU's best kernels: {best:?}");
		[Kernel::Portable, Kernel::Avx2, Kernel::Vnni]
			.into_iter()
			.filter(move |k| *k <= best)
	}

	/// A deterministic spread of values in [-1, 1).
	fn values(n: usize, seed: u64) -> Vec<f32> {
		let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
		(0..n)
			.map(|_| {
				state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
				((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
			})
			.collect()
	}

	fn exact(w: &[f32], x: &[f32], rows: usize, cols: usize) -> Vec<f32> {
		let tokens = x.len() / cols;
		let mut out = vec![0f32; tokens * rows];
		for t in 0..tokens {
			for r in 0..rows {
				out[t * rows + r] =
					(0..cols).map(|c| w[r * cols + c] * x[t * cols + c]).sum::<f32>();
			}
		}
		out
	}

	/// A `Q4_1` matrix as a GGUF file holds it, read back, and the values it stands for.
	fn q4_1(rows: usize, cols: usize, seed: u64) -> (QMatrix, Vec<f32>) {
		let mut raw = Vec::new();
		let mut values = Vec::new();
		for block in values_of_blocks(rows * cols / BLOCK, seed) {
			// d, m as halves: d = 1/16 (0x2c00), m = -0.5 (0xb800).
			raw.extend([0x00, 0x2c, 0x00, 0xb8]);
			raw.extend((0..16).map(|i| block[i] | (block[i + 16] << 4)));
			values.extend(block.iter().map(|q| f32::from(*q) / 16.0 - 0.5));
		}
		let dims = [cols as u64, rows as u64];
		let raw = RawTensor { kind: gguf::Q4_1, dims: &dims, count: rows * cols, bytes: &raw };
		(QMatrix::from_gguf("q4", raw).unwrap(), values)
	}

	fn values_of_blocks(blocks: usize, seed: u64) -> Vec<[u8; BLOCK]> {
		let noise = values(blocks * BLOCK, seed);
		noise
			.chunks_exact(BLOCK)
			.map(|c| std::array::from_fn(|i| ((c[i] + 1.0) * 8.0).min(15.0) as u8))
			.collect()
	}

	#[test]
	fn quantized_products_match_exact_ones_within_rounding() {
		let (rows, cols) = (70, 96);
		let w = values(rows * cols, 1);
		let matrix = QMatrix::quantize(rows, cols, &w);
		let (four, q4_values) = q4_1(rows, cols, 2);
		assert_eq!(four.row(3).unwrap(), q4_values[3 * cols..4 * cols]);
		// Three blocks a row (a pair and one alone for VNNI); tokens in and past whole tiles.
		for (tokens, kernel) in
			[1, 3, 4, 6, 9, 17].into_iter().flat_map(|t| kernels().map(move |k| (t, k)))
		{
			let x = values(tokens * cols, 3 + tokens as u64);
			let activations = Activations::quantize(&x, cols);
			let outs = matmul_on(&[&matrix, &four], &activations, kernel);
			for (out, reference) in
				outs.iter().zip([exact(&w, &x, rows, cols), exact(&q4_values, &x, rows, cols)])
			{
				assert_eq!(out.len(), reference.len());
				for (got, want) in out.iter().zip(&reference) {
					// 8-bit rounding of both sides: well under 2% of a typical |dot| of ~5.
					assert!((got - want).abs() < 0.1, "{kernel:?}: {got} vs {want}");
				}
			}
			// The SIMD kernels and the portable ones agree (the integer sums are exact).
			for r in 0..rows {
				for t in 0..tokens {
					let per_row = cols / BLOCK;
					let (b, a) = (r * per_row..(r + 1) * per_row, t * per_row..(t + 1) * per_row);
					let aq = &activations.quants[a.start * BLOCK..a.end * BLOCK];
					let Blocks::Eight { scales, quants } = &matrix.blocks else { unreachable!() };
					let portable = dot8(
						&scales[b.clone()],
						&quants[b.start * BLOCK..b.end * BLOCK],
						&activations.scales[a.clone()],
						aq,
					);
					assert!((outs[0][t * rows + r] - portable).abs() < 1e-4);
					let Blocks::Four { scales, mins, nibbles } = &four.blocks else {
						unreachable!()
					};
					let portable = dot4(
						&scales[b.clone()],
						&mins[b.clone()],
						&nibbles[b.start * 16..b.end * 16],
						&activations.scales[a.clone()],
						&activations.sums[a.clone()],
						aq,
					);
					assert!((outs[1][t * rows + r] - portable).abs() < 1e-4);
				}
			}
		}
	}

	#[test]
	fn stored_forms_read_back_as_the_file_says() {
		// One row of 32 values per form; Q8_0 and Q4_0 are held exactly, F32 rounded to 8 bits.
		let mut q8 = vec![0x00, 0x40]; // d = 2
		q8.extend((0..32u8).map(|i| i.wrapping_mul(9)));
		let mut q4 = vec![0x00, 0x3c]; // d = 1
		q4.extend((0..16u8).map(|i| i | ((15 - i) << 4)));
		let f32s: Vec<u8> = values(32, 5).iter().flat_map(|v| v.to_le_bytes()).collect();
		let dims = [32u64, 1];
		for (kind, bytes, exact) in
			[(gguf::Q8_0, q8, true), (gguf::Q4_0, q4, true), (gguf::F32, f32s, false)]
		{
			let raw = RawTensor { kind, dims: &dims, count: 32, bytes: &bytes };
			let row = QMatrix::from_gguf("m", raw).unwrap().row(0).unwrap();
			let want = gguf::dequantize(kind, &bytes, 32).unwrap();
			for (got, want) in row.iter().zip(&want) {
				let error = if exact { 0.0 } else { 1.0 / 127.0 };
				assert!((got - want).abs() <= error, "{kind}: {got} vs {want}");
			}
		}
	}

	#[test]
	fn a_task_s_rows_from_the_middle_match_the_portable_kernels() {
		// As a task of `matmul` computes them: rows `first..` of a matrix, for one block a row
		// (VNNI's lone block) and for five, in both stored forms.
		for cols in [32, 160] {
			let rows = 9;
			let eight = QMatrix::quantize(rows, cols, &values(rows * cols, 11));
			let (four, _) = q4_1(rows, cols, 12);
			for tokens in [1, 5, 11] {
				let x = Activations::quantize(&values(tokens * cols, 13), cols);
				for m in [&eight, &four] {
					let (first, count) = (3, 5);
					let mut reference = vec![0f32; count * tokens];
					m.rows_into(first, &mut reference, &x, Kernel::Portable);
					for kernel in kernels() {
						let mut out = vec![0f32; count * tokens];
						m.rows_into(first, &mut out, &x, kernel);
						for (got, want) in out.iter().zip(&reference) {
							assert!((got - want).abs() < 1e-4, "{kernel:?}: {got} vs {want}");
						}
					}
				}
			}
		}
	}

	#[test]
	fn extreme_quants_do_not_saturate() {
		// -128 weights (a Q8_0 file may hold them) against ±127 activations.
		let cols = 64;
		let mut raw = Vec::new();
		for _ in 0..cols / BLOCK {
			raw.extend([0x00, 0x3c]); // d = 1
			raw.extend([0x80u8; BLOCK]);
		}
		let dims = [cols as u64, 1];
		let m = QMatrix::from_gguf(
			"q8",
			RawTensor { kind: gguf::Q8_0, dims: &dims, count: cols, bytes: &raw },
		)
		.unwrap();
		let x = vec![-1.0f32; cols];
		for kernel in kernels() {
			let out = matmul_on(&[&m], &Activations::quantize(&x, cols), kernel);
			assert!((out[0][0] - 128.0 * cols as f32).abs() < 0.1, "{kernel:?}: {}", out[0][0]);
		}
	}

	#[test]
	fn malformed_matrices_are_errors() {
		let raw = vec![0u8; 34];
		let dims = [33u64, 1];
		assert!(QMatrix::from_gguf(
			"odd",
			RawTensor { kind: gguf::Q8_0, dims: &dims, count: 33, bytes: &raw }
		)
		.is_err());
		let dims = [32u64, 2];
		assert!(QMatrix::from_gguf(
			"short",
			RawTensor { kind: gguf::Q8_0, dims: &dims, count: 64, bytes: &raw }
		)
		.is_err());
		let dims = [32u64];
		assert!(QMatrix::from_gguf(
			"vector",
			RawTensor { kind: gguf::Q8_0, dims: &dims, count: 32, bytes: &raw }
		)
		.is_err());
	}
}
