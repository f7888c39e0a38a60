//! Calls over many items split into requests the API takes: which items
//! go into each request, and the idempotency key each request carries.
//! Shared by the Sending API's batch send and the Mailbox API's batch
//! operations.

use std::ops::Range;

/// How much one request may carry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Most items per request.
    pub(crate) max_items: usize,
    /// Largest body, in bytes (`usize::MAX` when only the count matters).
    pub(crate) max_bytes: usize,
    /// Bytes of the body around its items.
    pub(crate) overhead: usize,
}

impl Limits {
    /// At most `max_items` per request, whatever their size.
    pub(crate) const fn items(max_items: usize) -> Self {
        Self {
            max_items,
            max_bytes: usize::MAX,
            overhead: 0,
        }
    }
}

/// The input positions of each request, in order: a request closes at
/// `max_items`, or when the next item (`size(i)` bytes plus a separator)
/// would take its body over `max_bytes`. An item too large on its own
/// still gets a request of its own; callers refuse those beforehand.
pub(crate) fn ranges(
    count: usize,
    limits: Limits,
    size: impl Fn(usize) -> usize,
) -> Vec<Range<usize>> {
    let max_items = limits.max_items.max(1);
    let mut out = Vec::with_capacity(count.div_ceil(max_items));
    let mut start = 0;
    while start < count {
        let mut bytes = limits.overhead;
        let mut end = start;
        while end < count && end - start < max_items {
            let next = size(end).saturating_add(usize::from(end > start));
            if end > start && bytes.saturating_add(next) > limits.max_bytes {
                break;
            }
            bytes = bytes.saturating_add(next);
            end += 1;
        }
        out.push(start..end);
        start = end;
    }
    out
}

/// The idempotency key of request `index` of `total` for a call keyed
/// `base`: a call of one request sends `base` as it is, larger calls
/// [`chunk_idempotency_key`](crate::sending::chunk_idempotency_key)`(base, index)`.
pub(crate) fn request_key(base: &str, index: usize, total: usize) -> String {
    if total == 1 {
        base.to_owned()
    } else {
        crate::sending::chunk_idempotency_key(base, index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_close_at_the_item_count_or_the_byte_budget() {
        assert_eq!(
            ranges(250, Limits::items(100), |_| 0),
            [0..100, 100..200, 200..250]
        );
        assert!(ranges(0, Limits::items(100), |_| 0).is_empty());
        let limits = Limits {
            max_items: 100,
            max_bytes: 10,
            overhead: 2,
        };
        // 2 + 4, then 2 + 4 + 1 + 4 > 10: one item per request.
        assert_eq!(ranges(3, limits, |_| 4), [0..1, 1..2, 2..3]);
        // An item over the budget on its own still goes out alone.
        assert_eq!(ranges(2, limits, |_| 50), [0..1, 1..2]);
    }

    #[test]
    fn one_request_keeps_the_callers_key() {
        assert_eq!(request_key("k", 0, 1), "k");
        assert_eq!(request_key("k", 2, 3), "k.2");
    }
}
