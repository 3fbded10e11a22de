//! Issue 13, item 2: the facade's API against io-uring 0.7's, turmoil-style. The same
//! list of fn-pointer coercions (parity/signatures.rs) must compile against both
//! crates; a signature that drifts is a compile error here.

#[allow(dead_code, clippy::type_complexity, clippy::extra_unused_lifetimes)]
fn real_signatures<'s>() {
    use io_uring::{cqueue, opcode, squeue, types, Builder, IoUring, Parameters, Submitter};
    include!("parity/signatures.rs");
}

#[allow(dead_code, clippy::type_complexity, clippy::extra_unused_lifetimes)]
fn facade_signatures<'s>() {
    use msgring::uring::{cqueue, opcode, squeue, types, Builder, IoUring, Parameters, Submitter};
    include!("parity/signatures.rs");
}

#[test]
fn the_facade_and_io_uring_have_the_same_signatures() {
    // The check is that this file compiles; calling the functions is not needed.
    let _ = real_signatures as fn();
    let _ = facade_signatures as fn();
}
