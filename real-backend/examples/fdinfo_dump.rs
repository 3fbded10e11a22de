//! Print the fdinfo of a ring with a registered table and a CQ overflow list.
//! Run: cargo run -p msgring-real-backend --example fdinfo_dump
use msgring_real_backend::{sqe, Host, TaskId, Vfd};
use std::time::Duration;

fn main() {
    let mut h = Host::new().expect("io_uring");
    let t0 = TaskId(0);
    let a = h.setup_ring(t0, 4, 0, 0).unwrap();
    let b = h.setup_ring(t0, 1, 0, 0).unwrap(); // cq 2
    let (pr, pw) = h.create_pipe().unwrap();
    let ev = h.create_eventfd().unwrap();
    let f = h.create_regular_file().unwrap();
    println!(
        "reg = {}",
        h.register_files(t0, b, &[Some(f), None, Some(pr), Some(pw), Some(ev)])
    );
    for i in 0..4u64 {
        h.push_sqe(a, sqe::msg_data(b.0, i as u32, 100 + i, i))
            .unwrap();
    }
    println!(
        "enter = {}",
        h.enter(t0, a, 4, 0, 0, Duration::from_millis(100))
    );
    println!("a cqes {:?}", h.reap(a, 16));
    println!("{}", h.fdinfo_text(b).unwrap());
    println!("table {:?}", h.file_table(b));
    println!(
        "ids f={:?} pr={:?} pw={:?} ev={:?}",
        h.file_identity(f),
        h.file_identity(pr),
        h.file_identity(pw),
        h.file_identity(ev)
    );
    println!("overflow {:?}", h.overflow_list(b));
    println!(
        "sq_flags {:#x} cq_ready {} overflow {}",
        h.sq_flags(b),
        h.cq_ready(b),
        h.cq_overflow(b)
    );
    let _ = Vfd(0);
}
