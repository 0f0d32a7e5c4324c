//! Plain f32 matrix products for the encoder. Weight matrices are packed in panels of 16 output columns
//! (`[panel][input][16]`), so the inner loop streams one contiguous panel while a block of input rows accumulates in
//! registers; with AVX2 and FMA (checked at run time) the compiler turns the 16 lanes into two 8-wide FMAs.

/// Lanes per panel.
const LANES: usize = 16;
/// Input rows per register block.
const BLOCK: usize = 4;

/// A `inputs × outputs` weight matrix in 16-column panels.
#[derive(Debug)]
pub struct Packed {
    inputs: usize,
    outputs: usize,
    data: Vec<f32>,
}

impl Packed {
    /// Packs a row-major `inputs × outputs` matrix; `outputs` must be a multiple of 16.
    pub fn new(row_major: &[f32], inputs: usize, outputs: usize) -> Option<Packed> {
        if !outputs.is_multiple_of(LANES) || row_major.len() != inputs * outputs {
            return None;
        }
        let mut data = Vec::with_capacity(row_major.len());
        for panel in 0..outputs / LANES {
            for row in 0..inputs {
                let start = row * outputs + panel * LANES;
                data.extend_from_slice(&row_major[start..start + LANES]);
            }
        }
        Some(Packed {
            inputs,
            outputs,
            data,
        })
    }

    pub fn inputs(&self) -> usize {
        self.inputs
    }

    pub fn outputs(&self) -> usize {
        self.outputs
    }
}

/// Where the left-hand rows are: `rows` rows of `width` values, row `r` at `data[r * stride..]`.
#[derive(Clone, Copy)]
pub struct Rows<'a> {
    pub data: &'a [f32],
    pub stride: usize,
    pub rows: usize,
}

/// `out[r][c] += Σ_k a[r][k] · w[first + k][c]` for `k < width`: the product of `a`'s rows with the weight rows
/// `first..first + width` (a slice of the inputs, as one tap of a convolution needs). `out` rows have `out_stride`.
pub fn gemm_acc(
    a: Rows<'_>,
    width: usize,
    w: &Packed,
    first: usize,
    out: &mut [f32],
    out_stride: usize,
) {
    assert!(first + width <= w.inputs, "weight rows out of range");
    if a.rows == 0 {
        return;
    }
    assert!(
        a.data.len() >= (a.rows - 1) * a.stride + width,
        "lhs too short"
    );
    assert!(
        out.len() >= (a.rows - 1) * out_stride + w.outputs,
        "output too short"
    );
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports AVX2 and FMA, checked just above; the function is otherwise safe code.
        unsafe { gemm_fma(a, width, w, first, out, out_stride) };
        return;
    }
    gemm_portable(a, width, w, first, out, out_stride);
}

/// Accumulates `R` rows against one panel: `SPLIT` independent sets of accumulators over alternating inputs keep
/// enough FMAs in flight when there are few rows (one row alone would wait on each FMA's latency).
#[inline(always)]
fn block<const R: usize, const SPLIT: usize>(
    lhs: [&[f32]; R],
    weights: &[f32],
    madd: impl Fn(f32, f32, f32) -> f32,
) -> [[f32; LANES]; R] {
    let mut acc = [[[0.0f32; LANES]; R]; SPLIT];
    let mut groups = weights.chunks_exact(LANES * SPLIT);
    let mut k = 0;
    for group in &mut groups {
        for (s, acc) in acc.iter_mut().enumerate() {
            let lane: &[f32; LANES] = group[s * LANES..(s + 1) * LANES]
                .try_into()
                .expect("16 lanes");
            for r in 0..R {
                let x = lhs[r][k + s];
                for l in 0..LANES {
                    acc[r][l] = madd(x, lane[l], acc[r][l]);
                }
            }
        }
        k += SPLIT;
    }
    for lane in groups.remainder().chunks_exact(LANES) {
        for r in 0..R {
            let x = lhs[r][k];
            for l in 0..LANES {
                acc[0][r][l] = madd(x, lane[l], acc[0][r][l]);
            }
        }
        k += 1;
    }
    let mut total = acc[0];
    for part in &acc[1..] {
        for r in 0..R {
            for l in 0..LANES {
                total[r][l] += part[r][l];
            }
        }
    }
    total
}

#[inline(always)]
fn rows_block<const R: usize, const SPLIT: usize>(
    a: Rows<'_>,
    (row, column): (usize, usize),
    width: usize,
    weights: &[f32],
    out: &mut [f32],
    out_stride: usize,
    madd: impl Fn(f32, f32, f32) -> f32,
) {
    let lhs: [&[f32]; R] = std::array::from_fn(|r| {
        let s = (row + r) * a.stride;
        &a.data[s..s + width]
    });
    let acc = block::<R, SPLIT>(lhs, weights, madd);
    for (r, acc) in acc.iter().enumerate() {
        let s = (row + r) * out_stride + column;
        for (o, v) in out[s..s + LANES].iter_mut().zip(acc) {
            *o += v;
        }
    }
}

#[inline(always)]
fn gemm_body(
    a: Rows<'_>,
    width: usize,
    w: &Packed,
    first: usize,
    out: &mut [f32],
    out_stride: usize,
    madd: impl Fn(f32, f32, f32) -> f32 + Copy,
) {
    for panel in 0..w.outputs / LANES {
        let start = (panel * w.inputs + first) * LANES;
        let weights = &w.data[start..start + width * LANES];
        let column = panel * LANES;
        let mut row = 0;
        while row + BLOCK <= a.rows {
            rows_block::<BLOCK, 1>(a, (row, column), width, weights, out, out_stride, madd);
            row += BLOCK;
        }
        match a.rows - row {
            3 => rows_block::<3, 1>(a, (row, column), width, weights, out, out_stride, madd),
            2 => rows_block::<2, 2>(a, (row, column), width, weights, out, out_stride, madd),
            1 => rows_block::<1, 4>(a, (row, column), width, weights, out, out_stride, madd),
            _ => {}
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn gemm_fma(
    a: Rows<'_>,
    width: usize,
    w: &Packed,
    first: usize,
    out: &mut [f32],
    out_stride: usize,
) {
    gemm_body(
        a,
        width,
        w,
        first,
        out,
        out_stride,
        |x: f32, y: f32, acc: f32| x.mul_add(y, acc),
    )
}

fn gemm_portable(
    a: Rows<'_>,
    width: usize,
    w: &Packed,
    first: usize,
    out: &mut [f32],
    out_stride: usize,
) {
    gemm_body(
        a,
        width,
        w,
        first,
        out,
        out_stride,
        |x: f32, y: f32, acc: f32| acc + x * y,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_product_equals_the_naive_one() {
        let (rows, inputs, outputs) = (7, 40, 32);
        let a: Vec<f32> = (0..rows * inputs)
            .map(|i| ((i * 37) % 11) as f32 - 5.0)
            .collect();
        let w: Vec<f32> = (0..inputs * outputs)
            .map(|i| ((i * 13) % 7) as f32 * 0.5 - 1.0)
            .collect();
        let packed = Packed::new(&w, inputs, outputs).expect("packs");
        // Rows 10..30 of the weights against the first 20 columns of `a`.
        let (first, width) = (10, 20);
        let mut out = vec![1.0f32; rows * outputs];
        gemm_acc(
            Rows {
                data: &a,
                stride: inputs,
                rows,
            },
            width,
            &packed,
            first,
            &mut out,
            outputs,
        );
        for r in 0..rows {
            for c in 0..outputs {
                let expected: f32 = 1.0
                    + (0..width)
                        .map(|k| a[r * inputs + k] * w[(first + k) * outputs + c])
                        .sum::<f32>();
                assert!((out[r * outputs + c] - expected).abs() < 1e-3, "{r},{c}");
            }
        }
    }
}
