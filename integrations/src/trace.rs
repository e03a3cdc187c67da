//! W3C Trace Context (`traceparent`): the trace a request belongs to, carried to the outside
//! systems it calls, so that one trace id follows a citizen's request through the registries and
//! billing. The API puts the request's context on the thread that runs its use case
//! ([`with_current`]); [`HttpSystem`](crate::HttpSystem) sends it with a parent id of its own for
//! each call.

use std::cell::Cell;

/// A trace id and the id of the span that is the parent of the next call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceContext {
    trace_id: [u8; 16],
    parent_id: [u8; 8],
    sampled: bool,
}

impl TraceContext {
    /// Reads a `traceparent` header: version `00` (or a later version, read as `00` says),
    /// a trace id and a parent id that are not all zeros, lower-case hex, and the flags.
    /// Anything else is `None`, and the request starts a trace of its own.
    pub fn parse(header: &str) -> Option<Self> {
        let header = header.trim();
        let mut parts = header.split('-');
        let version = parts.next()?;
        let trace_id = parts.next()?;
        let parent_id = parts.next()?;
        let flags = parts.next()?;
        let rest = parts.next();
        let lower_hex = |s: &str| s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if version.len() != 2 || !lower_hex(version) || version == "ff" {
            return None;
        }
        // Version 00 has exactly four fields; a later version may add some after them.
        if version == "00" && rest.is_some() {
            return None;
        }
        if trace_id.len() != 32 || parent_id.len() != 16 || flags.len() != 2 {
            return None;
        }
        if !(lower_hex(trace_id) && lower_hex(parent_id) && lower_hex(flags)) {
            return None;
        }
        let trace_id: [u8; 16] = decode(trace_id)?;
        let parent_id: [u8; 8] = decode(parent_id)?;
        let [flags]: [u8; 1] = decode(flags)?;
        if trace_id == [0; 16] || parent_id == [0; 8] {
            return None;
        }
        Some(Self {
            trace_id,
            parent_id,
            sampled: flags & 1 == 1,
        })
    }

    /// A new trace, begun by this service: `trace_id` and `span_id` are random bytes the
    /// caller draws (all-zero ids are invalid, so a zero draw is nudged).
    pub fn begin(mut trace_id: [u8; 16], mut span_id: [u8; 8]) -> Self {
        if trace_id == [0; 16] {
            trace_id[15] = 1;
        }
        if span_id == [0; 8] {
            span_id[7] = 1;
        }
        Self {
            trace_id,
            parent_id: span_id,
            sampled: false,
        }
    }

    /// The same trace, with `span_id` (this service's span) as the parent of what follows.
    pub fn child(self, mut span_id: [u8; 8]) -> Self {
        if span_id == [0; 8] {
            span_id[7] = 1;
        }
        Self {
            parent_id: span_id,
            ..self
        }
    }

    /// The trace id as 32 hex digits (logged on every line of a request).
    pub fn trace_id(&self) -> String {
        hex(&self.trace_id)
    }

    /// The `traceparent` header value.
    pub fn header(&self) -> String {
        format!(
            "00-{}-{}-{:02x}",
            hex(&self.trace_id),
            hex(&self.parent_id),
            u8::from(self.sampled)
        )
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode<const N: usize>(text: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    if text.len() != 2 * N {
        return None;
    }
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

thread_local! {
    static CURRENT: Cell<Option<TraceContext>> = const { Cell::new(None) };
}

/// Runs `work` with `context` as the trace of the calls it makes on this thread; the thread's
/// previous one is put back afterwards, also when `work` panics.
pub fn with_current<T>(context: Option<TraceContext>, work: impl FnOnce() -> T) -> T {
    struct Restore(Option<TraceContext>);
    impl Drop for Restore {
        fn drop(&mut self) {
            CURRENT.with(|current| current.set(self.0));
        }
    }
    let _restore = Restore(CURRENT.with(|current| current.replace(context)));
    work()
}

/// The trace of the work on this thread, if any.
pub fn current() -> Option<TraceContext> {
    CURRENT.with(Cell::get)
}

/// The `traceparent` for one outside call: the current trace with a new span id, or a new trace
/// when the work belongs to none (the dispatcher's deliveries).
pub fn outgoing_header() -> String {
    let span_id: [u8; 8] = rand::random();
    match current() {
        Some(context) => context.child(span_id).header(),
        None => TraceContext::begin(rand::random(), span_id).header(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_valid_header_is_read_and_written_back() {
        let context = TraceContext::parse(EXAMPLE);
        assert_eq!(context.map(|c| c.header()).as_deref(), Some(EXAMPLE));
        assert_eq!(
            context.map(|c| c.trace_id()).as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
    }

    #[test]
    fn invalid_headers_are_refused() {
        for bad in [
            "",
            "00",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e47zz-00f067aa0ba902b7-01",
            "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert_eq!(TraceContext::parse(bad), None, "{bad:?}");
        }
        // A later version may carry more fields; its first four are read as version 00's.
        assert!(
            TraceContext::parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x")
                .is_some()
        );
    }

    #[test]
    fn a_child_keeps_the_trace_and_changes_the_parent() {
        let parent = TraceContext::parse(EXAMPLE).unwrap_or_else(|| unreachable!());
        let child = parent.child([1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(
            child.header(),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0102030405060708-01"
        );
        assert_eq!(
            TraceContext::begin([0; 16], [0; 8]).header(),
            "00-00000000000000000000000000000001-0000000000000001-00"
        );
    }

    #[test]
    fn the_current_trace_belongs_to_the_work_and_is_restored() {
        let context = TraceContext::parse(EXAMPLE);
        assert_eq!(current(), None);
        let inside = with_current(context, || {
            let header = outgoing_header();
            (current(), header)
        });
        assert_eq!(inside.0, context);
        assert!(inside.1.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
        assert_ne!(inside.1, EXAMPLE, "each call is a span of its own");
        assert_eq!(current(), None);
        let outside = outgoing_header();
        assert!(TraceContext::parse(&outside).is_some());
        assert!(!outside.contains("4bf92f3577b34da6a3ce929d0e0e4736"));
    }
}
