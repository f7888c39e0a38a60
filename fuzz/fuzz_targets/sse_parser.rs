//! The event-stream parser never panics, gives the same events and errors
//! however the input is cut into chunks, and never holds more than its
//! limit allows.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sendmux_client::sse::{Event, ParseError, Parser};

type Outcome = Result<Event, ParseError>;

/// Feeds `chunks` in turn, checking the bound after every call.
fn run<'a>(max: usize, chunks: impl Iterator<Item = &'a [u8]>) -> (Vec<Outcome>, Parser) {
    let mut parser = Parser::with_max_size(max);
    let mut out = Vec::new();
    for chunk in chunks {
        let mut rest = chunk;
        loop {
            let before = rest.len();
            let outcome = parser.next(&mut rest);
            assert!(rest.len() <= before);
            assert!(
                parser.buffered() <= 2 * max,
                "{} bytes buffered over a limit of {max}",
                parser.buffered()
            );
            match outcome {
                Some(outcome) => out.push(outcome),
                None => break,
            }
        }
        assert!(rest.is_empty(), "None before the chunk was used up");
    }
    (out, parser)
}

fuzz_target!(|data: &[u8]| {
    let Some((&[limit, a, b, c], input)) = data.split_first_chunk::<4>() else {
        return;
    };
    // Small limits most of the time, so the refusals are exercised.
    let max = if limit == u8::MAX {
        sendmux_client::sse::DEFAULT_MAX_SIZE
    } else {
        1 + usize::from(limit % 96)
    };
    let (whole, whole_parser) = run(max, std::iter::once(input));

    // Cut points from a small generator seeded by the input.
    let mut state = u32::from_le_bytes([a, b, c, limit]) | 1;
    let mut cuts = Vec::new();
    let mut at = 0;
    while at < input.len() {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let size = if state % 8 == 0 {
            1
        } else {
            1 + (state as usize >> 8) % 24
        };
        let end = (at + size).min(input.len());
        cuts.push(&input[at..end]);
        at = end;
    }
    let (chunked, chunked_parser) = run(max, cuts.into_iter());
    assert_eq!(whole, chunked);
    assert_eq!(whole_parser.last_event_id(), chunked_parser.last_event_id());
    assert_eq!(whole_parser.retry(), chunked_parser.retry());

    for event in whole.iter().flatten() {
        assert!(
            event.data.len() <= max,
            "an event of {} bytes passed",
            event.data.len()
        );
        assert!(!event.event.is_empty());
        assert!(event.id.as_deref().is_none_or(|id| !id.contains('\0')));
    }
});
