//! R25 and B14: every file's reference count equals the references that exist — open
//! fds, fixed-table slots, registered ring fds, and SEND_FD requests in flight that
//! grabbed it. A leak or a
//! double put shows up as a mismatch.

use super::violation;
use crate::state::{Req, Work};
use crate::World;

fn count_req(req: &Req, counts: &mut [u32]) {
    if let Some(f) = req.src_file {
        counts[f.0 as usize] += 1;
    }
    for r in &req.link {
        count_req(r, counts);
    }
}

fn count_work(w: &Work, counts: &mut [u32]) {
    match w {
        Work::PostAux { .. } | Work::IowqPut { .. } | Work::FreeReq { .. } => {}
        Work::InstallFd { req, .. }
        | Work::Complete { req, .. }
        | Work::Issue { req }
        | Work::IowqPost { req, .. } => count_req(req, counts),
        Work::FailLinks { reqs, .. } => reqs.iter().for_each(|r| count_req(r, counts)),
    }
}

/// The references the model can account for, per file.
pub fn expected_refs(world: &World) -> Vec<u32> {
    let mut counts = Vec::new();
    expected_refs_into(world, &mut counts);
    counts
}

/// [`expected_refs`] into `counts` (cleared first), reusing its memory.
pub fn expected_refs_into(world: &World, counts: &mut Vec<u32>) {
    counts.clear();
    counts.resize(world.files().len(), 0);
    let counts = &mut counts[..];
    for f in world.fd_table().iter().flatten() {
        counts[f.0 as usize] += 1;
    }
    // Work lists are empty between most steps: test before iterating (the fuzzers run
    // this after every step, with every loop step instrumented).
    for r in world.rings() {
        for (_, f) in r.table.occupied() {
            counts[f.0 as usize] += 1;
        }
        if !r.local_work.is_empty() {
            r.local_work.iter().for_each(|w| count_work(w, counts));
        }
        if !r.retry_work.is_empty() {
            r.retry_work.iter().for_each(|w| count_work(w, counts));
        }
        if !r.defer_list.is_empty() {
            r.defer_list.iter().for_each(|req| count_req(req, counts));
        }
    }
    for t in world.tasks() {
        if !t.tw.is_empty() || !t.callbacks.is_empty() {
            t.work_items().for_each(|w| count_work(w, counts));
        }
        // R31: a registered ring fd holds its ring's file.
        for f in t.registered_rings.iter().flatten() {
            counts[f.0 as usize] += 1;
        }
    }
    if !world.iowq().is_empty() {
        world.iowq().iter().for_each(|w| count_work(w, counts));
    }
}

pub fn check(world: &World) -> Result<(), super::Violation> {
    check_with(world, &mut Vec::new())
}

/// [`check`] counting into `counts`, a buffer reused across calls.
pub fn check_with(world: &World, counts: &mut Vec<u32>) -> Result<(), super::Violation> {
    expected_refs_into(world, counts);
    for (i, (f, &want)) in world.files().iter().zip(counts.iter()).enumerate() {
        if f.refs != want {
            return violation(
                "refcount",
                format!(
                    "file {i} ({:?}) has {} references, {} accounted for",
                    f.kind, f.refs, want
                ),
            );
        }
    }
    Ok(())
}
