//! R25 and B14: every file's reference count equals the references that exist — open
//! fds, fixed-table slots, and SEND_FD requests in flight that grabbed it. A leak or a
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
        Work::PostAux { .. } => {}
        Work::InstallFd { req, .. } | Work::Complete { req, .. } | Work::Issue { req } => {
            count_req(req, counts)
        }
        Work::FailLinks { reqs, .. } => reqs.iter().for_each(|r| count_req(r, counts)),
    }
}

/// The references the model can account for, per file.
pub fn expected_refs(world: &World) -> Vec<u32> {
    let mut counts = vec![0u32; world.files().len()];
    for f in world.fd_table().iter().flatten() {
        counts[f.0 as usize] += 1;
    }
    for r in world.rings() {
        for (_, f) in r.table.occupied() {
            counts[f.0 as usize] += 1;
        }
        r.local_work
            .iter()
            .chain(&r.retry_work)
            .for_each(|w| count_work(w, &mut counts));
        r.defer_list
            .iter()
            .for_each(|req| count_req(req, &mut counts));
    }
    for t in world.tasks() {
        t.work_items().for_each(|w| count_work(w, &mut counts));
    }
    world.iowq().iter().for_each(|w| count_work(w, &mut counts));
    counts
}

pub fn check(world: &World) -> Result<(), super::Violation> {
    let expected = expected_refs(world);
    for (i, (f, want)) in world.files().iter().zip(expected).enumerate() {
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
