//! Deterministic identifiers and random draws derived from the seed.

/// One step of SplitMix64: a fast, well-mixed 64-bit permutation. Used both
/// as a counter-based generator and as a hash finaliser.
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a over bytes, finalised with `mix64`; stable across runs and
/// platforms (unlike `std`'s randomly keyed hasher).
pub(crate) fn hash_bytes(seed: u64, bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    mix64(h)
}

/// A uniform draw in `[0, 1)` from two 64-bit inputs.
pub(crate) fn unit(seed: u64, n: u64) -> f64 {
    // 53 high bits give every representable step of an f64 in [0, 1).
    let bits = mix64(seed ^ mix64(n)) >> 11;
    (bits as f64) / ((1u64 << 53) as f64)
}

/// A small counter-based generator for seeded data sets (SplitMix64):
/// the same seed draws the same sequence on every run and platform.
pub(crate) struct Rng {
    state: u64,
}

impl Rng {
    /// A generator for `seed` and a text `label` (a team id, a purpose),
    /// so separate data sets of one server draw separate sequences.
    pub(crate) fn new(seed: u64, label: &str) -> Self {
        Self {
            state: hash_bytes(seed, label.as_bytes()),
        }
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.state)
    }

    /// A draw in `0..n` (`0` when `n` is `0`).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// One element of a non-empty slice (`None` for an empty one).
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        let n = u64::try_from(items.len()).unwrap_or(u64::MAX);
        items.get(usize::try_from(self.below(n)).unwrap_or(0))
    }
}

const ALPHABET: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// `prefix` + `cl` + 25 lowercase alphanumerics, the shape of the published
/// examples (`mdom_clxxxxxxxxxxxxxxxxxxxxxxxxx`), derived from `(seed, n)`.
pub(crate) fn public_id(prefix: &str, seed: u64, n: u64) -> String {
    let mut out = String::with_capacity(prefix.len() + 27);
    out.push_str(prefix);
    out.push_str("cl");
    let base = mix64(seed ^ mix64(n.wrapping_add(0x5EED)));
    let mut state = 0;
    for i in 0..25u64 {
        // 12 base-36 digits use up ~62 bits: draw a fresh word from the
        // base for the next 12.
        if i % 12 == 0 {
            state = mix64(base ^ mix64(i + 1));
        }
        let idx = usize::try_from(state % 36).unwrap_or(0);
        out.push(char::from(ALPHABET[idx]));
        state /= 36;
    }
    out
}

/// `prefix` + 24 lowercase alphanumerics, the shape of the Sending API's
/// ids (`eml_`, `att_`, `upl_`: `^eml_[a-z0-9]{24}$`), derived from
/// `(seed, n)`.
pub(crate) fn short_id(prefix: &str, seed: u64, n: u64) -> String {
    let mut out = String::with_capacity(prefix.len() + 24);
    out.push_str(prefix);
    out.push_str(&token(seed, &n.to_be_bytes(), 24));
    out
}

/// Lowercase alphanumeric token of `len` characters from a hash.
pub(crate) fn token(seed: u64, input: &[u8], len: usize) -> String {
    let base = hash_bytes(seed, input);
    let mut state = 0;
    let mut out = String::with_capacity(len);
    for i in 0..len {
        if i % 12 == 0 {
            state = mix64(base ^ mix64(i as u64 + 1));
        }
        let idx = usize::try_from(state % 36).unwrap_or(0);
        out.push(char::from(ALPHABET[idx]));
        state /= 36;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct() {
        let a = public_id("mdom_", 7, 1);
        assert_eq!(a, public_id("mdom_", 7, 1));
        assert_ne!(a, public_id("mdom_", 7, 2));
        assert_ne!(a, public_id("mdom_", 8, 1));
        assert_eq!(a.len(), "mdom_".len() + 27);
        assert!(a.starts_with("mdom_cl"));
        // Every part of the id depends on the input, the tail included.
        let b = public_id("mdom_", 7, 2);
        assert_ne!(a[a.len() - 8..], b[b.len() - 8..]);
        let t1 = token(1, b"a", 32);
        let t2 = token(1, b"b", 32);
        assert_ne!(t1[24..], t2[24..]);
    }

    #[test]
    fn rng_repeats_per_seed_and_label() {
        let draws = |seed, label| {
            let mut r = Rng::new(seed, label);
            (0..8).map(|_| r.below(1000)).collect::<Vec<_>>()
        };
        assert_eq!(draws(1, "team_a"), draws(1, "team_a"));
        assert_ne!(draws(1, "team_a"), draws(2, "team_a"));
        assert_ne!(draws(1, "team_a"), draws(1, "team_b"));
        let mut r = Rng::new(3, "x");
        assert!((0..1000).all(|_| r.below(7) < 7));
        assert_eq!(r.below(0), 0);
        assert_eq!(r.pick::<u8>(&[]), None);
        assert_eq!(r.pick(&[7]), Some(&7));
    }

    #[test]
    fn unit_draws_stay_in_range() {
        for n in 0..10_000 {
            let u = unit(42, n);
            assert!((0.0..1.0).contains(&u));
        }
    }
}
