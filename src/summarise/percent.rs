//! Whole percentages that sum to exactly 100, shared by the bias distribution and the
//! factuality mix.

/// Whole percentages of `counts` that sum to exactly 100 (or all zero for no counts):
/// floor each share, then hand the missing points to the largest remainders (ties to the
/// earlier bucket, so the result is deterministic).
///
/// ```
/// use storybot::summarise::percent::largest_remainder;
/// assert_eq!(largest_remainder(&[1, 1, 1]), [34, 33, 33]);
/// assert_eq!(largest_remainder(&[7, 17, 2]), [27, 65, 8]);
/// assert_eq!(largest_remainder(&[0, 0, 0]), [0, 0, 0]);
/// ```
pub fn largest_remainder<const N: usize>(counts: &[usize; N]) -> [u8; N] {
    let total: usize = counts.iter().sum();
    let mut out = [0u8; N];
    if total == 0 {
        return out;
    }
    let mut remainders: Vec<(usize, usize)> = Vec::with_capacity(N);
    let mut assigned = 0usize;
    for (i, &c) in counts.iter().enumerate() {
        let scaled = c * 100;
        out[i] = (scaled / total) as u8;
        assigned += out[i] as usize;
        remainders.push((scaled % total, i));
    }
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, i) in remainders.iter().take(100 - assigned) {
        out[i] += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_always_sum_to_100() {
        for l in 0..25 {
            for c in 0..25 {
                for r in 0..25 {
                    let p = largest_remainder(&[l, c, r]);
                    let sum: u32 = p.iter().map(|&x| u32::from(x)).sum();
                    if l + c + r == 0 {
                        assert_eq!(sum, 0);
                    } else {
                        assert_eq!(sum, 100, "{l} {c} {r} -> {p:?}");
                        // Never more than one point away from the exact share.
                        for (i, &n) in [l, c, r].iter().enumerate() {
                            let exact = n as f64 * 100.0 / (l + c + r) as f64;
                            assert!(
                                (f64::from(p[i]) - exact).abs() < 1.0,
                                "{l} {c} {r} -> {p:?}"
                            );
                        }
                    }
                }
            }
        }
        assert_eq!(largest_remainder(&[1, 1, 1]), [34, 33, 33]);
    }
}
