//! Contracts of the model's state types that cargo-mutants found unguarded (issue 15,
//! docs/testing.md "Missed mutants, triaged").

use msgring::state::Cq;
use msgring::Cqe;

fn cqe(ud: u64) -> Cqe {
    Cqe {
        user_data: ud,
        res: 0,
        flags: 0,
    }
}

#[test]
fn c2_two_cqs_are_equal_exactly_when_userspace_cannot_tell_them_apart() {
    let mut a = Cq::new(4);
    let mut b = Cq::new(4);
    assert_eq!(a, b);
    assert!(a.push(cqe(1)));
    assert_ne!(a, b, "one CQE ready vs none");
    assert!(b.push(cqe(2)));
    assert_ne!(a, b, "a different CQE ready");
    // Reaped slots are stale: they do not count.
    let mut c = Cq::new(4);
    assert!(c.push(cqe(2)));
    assert_eq!(c.reap(1), vec![cqe(2)]);
    assert!(a.push(cqe(3)));
    assert_eq!(a.reap(1), vec![cqe(1)]);
    assert!(c.push(cqe(3)));
    assert_eq!(a, c, "same head, tail and ready CQEs; stale slots differ");
    assert_ne!(Cq::new(4), Cq::new(8), "sizes differ");
    assert_ne!(Cq::new(4), Cq::starting_at(4, 1), "heads differ");
}

#[test]
fn c2_head_and_tail_count_reaped_and_posted_cqes_from_the_start_value() {
    let mut q = Cq::starting_at(4, u32::MAX - 1);
    assert_eq!((q.head(), q.tail()), (u32::MAX - 1, u32::MAX - 1));
    for ud in 0..3 {
        assert!(q.push(cqe(ud)));
    }
    assert_eq!(q.reap(2).len(), 2);
    assert_eq!(q.head(), 0, "wrapped past u32::MAX");
    assert_eq!(q.tail(), 1);
    assert_eq!(q.ready(), 1);
}

#[test]
fn c2_peek_shows_the_ready_cqes_oldest_first_without_reaping() {
    let mut q = Cq::starting_at(2, u32::MAX);
    assert!(q.peek().is_empty());
    assert!(q.push(cqe(1)));
    assert!(q.push(cqe(2)));
    assert_eq!(q.peek(), vec![cqe(1), cqe(2)], "across the index wrap");
    assert_eq!(q.ready(), 2, "nothing reaped");
    assert_eq!(q.reap(1), vec![cqe(1)]);
    assert_eq!(q.peek(), vec![cqe(2)]);
}
