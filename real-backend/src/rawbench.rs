//! Bare-kernel baselines for the benchmarks: what a runtime using io_uring directly
//! (through the io-uring crate, no Host, no threads) gets on this machine. The
//! benchmark in model-tests measures the model and the differential harness against
//! these in the same run (docs/performance.md).

use io_uring::{opcode, types, IoUring};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

/// MSG_DATA from one ring to another, `batch` SQEs per `io_uring_enter`, reaping both
/// CQs after each submit, for `rounds` rounds. Returns (messages, elapsed).
pub fn msg_data_throughput(rounds: u32, batch: u32) -> std::io::Result<(u64, Duration)> {
    let mut src: IoUring = IoUring::builder().setup_cqsize(2 * batch).build(batch)?;
    let mut dst: IoUring = IoUring::builder().setup_cqsize(2 * batch).build(1)?;
    let target = types::Fd(dst.as_raw_fd());
    let start = Instant::now();
    for r in 0..rounds {
        {
            let mut sq = src.submission();
            for i in 0..batch {
                let sqe =
                    opcode::MsgRingData::new(target, i as i32, u64::from(r * batch + i), None)
                        .build();
                // SAFETY: MSG_DATA carries no pointers: the kernel reads only the SQE.
                unsafe { sq.push(&sqe) }.map_err(|_| std::io::Error::other("SQ full"))?;
            }
        }
        src.submit()?;
        let got = src.completion().count() as u32 + dst.completion().count() as u32;
        if got != 2 * batch {
            return Err(std::io::Error::other(format!(
                "reaped {got} CQEs, expected {}",
                2 * batch
            )));
        }
    }
    Ok((u64::from(rounds * batch), start.elapsed()))
}

/// The bare loop: create two rings, send one MSG_DATA, reap both, tear them down;
/// `n` times. Returns (loops, elapsed).
pub fn bare_loop(n: u32) -> std::io::Result<(u64, Duration)> {
    let start = Instant::now();
    for _ in 0..n {
        let mut a: IoUring = IoUring::new(4)?;
        let mut b: IoUring = IoUring::new(4)?;
        let sqe = opcode::MsgRingData::new(types::Fd(b.as_raw_fd()), 7, 7, None).build();
        // SAFETY: MSG_DATA carries no pointers: the kernel reads only the SQE.
        unsafe { a.submission().push(&sqe) }.map_err(|_| std::io::Error::other("SQ full"))?;
        a.submit()?;
        let got = a.completion().count() + b.completion().count();
        if got != 2 {
            return Err(std::io::Error::other(format!(
                "reaped {got} CQEs, expected 2"
            )));
        }
    }
    Ok((u64::from(n), start.elapsed()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn baselines_run_and_reap_every_cqe() {
        let (n, _) = super::msg_data_throughput(4, 8).expect("io_uring");
        assert_eq!(n, 32);
        let (n, _) = super::bare_loop(3).expect("io_uring");
        assert_eq!(n, 3);
    }
}
