//! Whether io_uring is there: the kernel release, the probe of its opcodes, and a
//! trial `io_uring_setup` that tells what sizes a ring would get.

use super::sys::{close_fd, sys_register, sys_setup, Params, REG_PROBE};
use crate::consts::*;
use crate::{KernelInfo, Unavailable};

fn uname_release() -> String {
    rustix::system::uname()
        .release()
        .to_string_lossy()
        .into_owned()
}

fn parse_version(rel: &str) -> (u32, u32, u32) {
    let mut it = rel
        .split(|c: char| !c.is_ascii_digit())
        .map(|s| s.parse::<u32>().unwrap_or(0));
    (
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
    )
}

pub(super) fn unavailable(what: &str, err: i32) -> Unavailable {
    let name = match -err {
        libc::ENOSYS => "ENOSYS".to_string(),
        libc::EPERM => {
            let d = std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled")
                .map(|s| s.trim().to_string())
                .unwrap_or_default();
            format!("EPERM (kernel.io_uring_disabled={d})")
        }
        e => format!("errno {e}"),
    };
    Unavailable {
        reason: format!("{what}: {name}"),
    }
}

/// See [`crate::probe`].
pub fn probe() -> Result<KernelInfo, Unavailable> {
    let release = uname_release();
    let version = parse_version(&release);
    let mut p = Params::default();
    let fd = sys_setup(2, &mut p);
    if fd < 0 {
        return Err(unavailable("io_uring_setup", fd));
    }
    // struct io_uring_probe (16 bytes) + 256 * io_uring_probe_op (8 bytes).
    let mut buf = vec![0u8; 16 + 256 * 8];
    let r = sys_register(fd, REG_PROBE, buf.as_mut_ptr() as *const libc::c_void, 256);
    close_fd(fd);
    let mut opcodes = Vec::new();
    if r >= 0 {
        let ops_len = buf[1] as usize;
        for i in 0..ops_len.min(256) {
            let o = &buf[16 + i * 8..16 + i * 8 + 8];
            if u16::from_le_bytes([o[2], o[3]]) & 1 != 0 {
                opcodes.push(o[0]);
            }
        }
    }
    Ok(KernelInfo {
        release,
        version,
        features: p.features,
        opcodes,
    })
}

/// See [`crate::try_setup`].
pub fn try_setup(entries: u32, cq_entries: u32, flags: u32) -> Result<(u32, u32), i32> {
    if flags & (SETUP_ATTACH_WQ | SETUP_NO_MMAP | SETUP_REGISTERED_FD_ONLY) != 0 {
        return Err(crate::HOST_REFUSED);
    }
    let mut p = Params {
        flags,
        cq_entries,
        ..Params::default()
    };
    let fd = sys_setup(entries, &mut p);
    if fd < 0 {
        return Err(fd);
    }
    close_fd(fd);
    Ok((p.sq_entries, p.cq_entries))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_parse() {
        assert_eq!(parse_version("6.18.44-fc-v595"), (6, 18, 44));
        assert_eq!(parse_version("6.1"), (6, 1, 0));
    }
}
