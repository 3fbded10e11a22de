//! Replays many small scenarios through [`KernelBackend`] and checks that the open-fd
//! count of the test's fd table (`/proc/thread-self/fd`: a backend gives its thread a
//! table of its own, which its host's task threads share) is the same afterwards: every ring, file and mapping
//! a scenario creates is released when its backend is dropped, or when one reused
//! backend is reset between scenarios (as `msgring check` runs them).
//!
//! 10 000 scenarios in release builds; 2 000 in debug builds (CI) unless
//! `MSGRING_FD_LEAK_CASES` says otherwise. The tests take turns.
#![cfg(feature = "real-backend")]

use msgring::kernel::{self, KernelBackend};
use msgring::uapi::{enter, setup};
use msgring::{DestSlot, MsgRingData, MsgRingSendFd, Profile, Step, TaskId, World};

const T0: TaskId = TaskId(0);

fn open_fds() -> usize {
    std::fs::read_dir("/proc/thread-self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

/// A small scenario: two rings (the second of a seed-chosen kind, maybe owned by a
/// second task), a file and a pipe in tables, DATA and SEND_FD both ways, reaps,
/// closes, a task exit.
fn scenario(seed: u64) -> Vec<Step> {
    let kinds = [
        0,
        setup::SINGLE_ISSUER | setup::DEFER_TASKRUN,
        setup::COOP_TASKRUN,
        setup::CQE32,
        setup::SQPOLL,
    ];
    let kind = kinds[(seed % kinds.len() as u64) as usize];
    let owner = if seed % 2 == 0 { T0 } else { TaskId(1) };
    let data = |to: i32, ud: u64| {
        MsgRingData {
            ring_fd: to,
            result: seed as i32,
            user_data: ud,
            user_flags: None,
        }
        .build()
    };
    let send = |to: i32, dst: DestSlot| {
        MsgRingSendFd {
            ring_fd: to,
            fixed_slot_src: 0,
            dest_slot_index: dst,
            user_data: seed,
            skip_cqe: false,
        }
        .build()
    };
    let mut s = vec![
        Step::SpawnTask,
        Step::Setup {
            task: T0,
            entries: 4,
            cq_entries: 0,
            flags: 0,
        },
        Step::Setup {
            task: owner,
            entries: 4,
            cq_entries: 0,
            flags: kind,
        },
        Step::RegularFile,
        Step::Pipe,
        Step::RegisterFiles {
            task: T0,
            ring: 0,
            fds: vec![2, 3],
        },
        Step::RegisterFilesSparse {
            task: owner,
            ring: 1,
            nr: 4,
        },
        Step::Push {
            ring: 0,
            sqe: data(1, 1),
        },
        Step::Push {
            ring: 0,
            sqe: send(1, DestSlot::Alloc),
        },
        Step::Push {
            ring: 0,
            sqe: send(1, DestSlot::Index((seed % 5) as u32)),
        },
        Step::Enter {
            task: T0,
            ring: 0,
            to_submit: 3,
            min_complete: 0,
            flags: 0,
        },
        Step::Close { fd: 2 },
        Step::Close { fd: 4 },
        Step::Enter {
            task: owner,
            ring: 1,
            to_submit: 0,
            min_complete: 0,
            flags: enter::GETEVENTS,
        },
        Step::Reap { ring: 0, max: 64 },
        Step::Reap { ring: 1, max: 64 },
        Step::QuerySlot { ring: 1, slot: 0 },
    ];
    if seed % 3 == 0 {
        s.push(Step::ExitTask { task: TaskId(1) });
        s.push(Step::SyncMsg {
            task: T0,
            sqe: data(1, 9),
        });
    }
    s
}

/// The tests of this file count the process's fds: one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn cases() -> u64 {
    let default = if cfg!(debug_assertions) {
        2_000
    } else {
        10_000
    };
    std::env::var("MSGRING_FD_LEAK_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn profile_or_skip() -> Option<Profile> {
    match kernel::probe().and_then(|i| kernel::kernel_profile(&i)) {
        Ok(p) => Some(p),
        Err(u) => {
            let require = std::env::var("MSGRING_REQUIRE_KERNEL").is_ok_and(|v| v == "1");
            assert!(!require, "{u} (MSGRING_REQUIRE_KERNEL=1)");
            eprintln!("!!!!! fd leak: SKIPPED: {u} !!!!!");
            None
        }
    }
}

/// One backend whose task 0 is this thread, reset between scenarios: after every
/// reset the process has exactly the fds it had right after the backend was made,
/// and every scenario compares as it does on a fresh backend.
#[test]
fn reused_backend_no_fd_leak() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let n = cases();
    let Some(profile) = profile_or_skip() else {
        return;
    };
    // Warm-up with a throwaway backend (lazily opened process fds, if any).
    run(profile, 0);
    let mut kb = KernelBackend::for_this_thread().expect("kernel backend");
    let at_new = open_fds();
    let start = std::time::Instant::now();
    for seed in 0..n {
        let rep = kernel::diff_run_on(&mut World::new(profile), &mut kb, &scenario(seed));
        assert!(rep.stopped.is_none(), "seed {seed}: {:?}", rep.stopped);
        kb.reset().expect("reset");
        if seed % 1000 == 0 {
            assert_eq!(open_fds(), at_new, "fds after reset, scenario {seed}");
        }
    }
    let after = open_fds();
    eprintln!(
        "fd leak, one reused backend: {n} scenarios in {:.2?}, fds {at_new} -> {after}",
        start.elapsed()
    );
    assert_eq!(
        at_new, after,
        "open fds changed after {n} scenarios and resets"
    );
    drop(kb);
}

#[test]
fn no_fd_leak() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let default = if cfg!(debug_assertions) {
        2_000
    } else {
        10_000
    };
    let n: u64 = std::env::var("MSGRING_FD_LEAK_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    let profile = match kernel::probe().and_then(|i| kernel::kernel_profile(&i)) {
        Ok(p) => p,
        Err(u) => {
            let require = std::env::var("MSGRING_REQUIRE_KERNEL").is_ok_and(|v| v == "1");
            assert!(!require, "{u} (MSGRING_REQUIRE_KERNEL=1)");
            eprintln!("!!!!! fd leak: SKIPPED: {u} !!!!!");
            return;
        }
    };
    // One warm-up run so lazily opened process fds (if any) exist before counting.
    run(profile, 0);
    let before = open_fds();
    let start = std::time::Instant::now();
    for seed in 0..n {
        run(profile, seed);
    }
    let after = open_fds();
    eprintln!(
        "fd leak: {n} scenarios in {:.2?}, fds {before} -> {after}",
        start.elapsed()
    );
    assert_eq!(before, after, "open fds changed after {n} scenarios");
}

fn run(profile: Profile, seed: u64) {
    let mut kb = KernelBackend::new().expect("kernel backend");
    let mut w = World::new(profile);
    // The model only sizes the waits; results are not compared here.
    let _ = kernel::diff_run_on(&mut w, &mut kb, &scenario(seed));
}
