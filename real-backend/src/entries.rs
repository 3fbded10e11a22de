//! The bytes of the io-uring crate's submission entries, for `msgring::uring`'s
//! conversions (root feature `io-uring`). Kept here because it needs `unsafe` and the
//! model crate has none.

/// The io-uring crate this backend links, re-exported so that conversions name the
/// same `io_uring::squeue::Entry` type a user's crate has (cargo unifies 0.7.x).
pub use io_uring;

/// The 64 bytes of the kernel `struct io_uring_sqe` inside a real
/// `io_uring::squeue::Entry`, in the kernel's layout.
#[allow(unsafe_code)]
pub fn sqe_bytes(entry: io_uring::squeue::Entry) -> [u8; 64] {
    // SAFETY: `io_uring::squeue::Entry` is `#[repr(C)]` around the kernel's 64-byte
    // `struct io_uring_sqe` (`transmute` refuses to compile if the sizes differ). Every
    // Entry starts as an all-zero SQE and is changed only by field writes, so all 64
    // bytes are initialized, and any byte pattern is a valid `[u8; 64]`.
    unsafe { std::mem::transmute::<io_uring::squeue::Entry, [u8; 64]>(entry) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_data_and_opcode_land_where_the_kernel_reads_them() {
        let e = io_uring::opcode::Nop::new()
            .build()
            .user_data(0x1122_3344_5566_7788);
        let b = sqe_bytes(e);
        assert_eq!(b[0], io_uring::opcode::Nop::CODE);
        assert_eq!(
            u64::from_le_bytes(b[32..40].try_into().unwrap()),
            0x1122_3344_5566_7788
        );
    }
}
