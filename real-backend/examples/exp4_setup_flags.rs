//! Experiment 4: io_uring_setup flag combinations and resulting sizes.
//! Run: cargo run -p msgring-real-backend --example exp4_setup_flags
use msgring_real_backend::consts::*;
use msgring_real_backend::try_setup;

fn main() {
    let si = SETUP_SINGLE_ISSUER;
    let cases: &[(&str, u32, u32, u32)] = &[
        ("plain 4", 4, 0, 0),
        ("plain 5 (rounding)", 5, 0, 0),
        ("DEFER without SINGLE_ISSUER", 4, 0, SETUP_DEFER_TASKRUN),
        ("DEFER|SI", 4, 0, SETUP_DEFER_TASKRUN | si),
        (
            "SQPOLL|DEFER|SI",
            4,
            0,
            SETUP_SQPOLL | SETUP_DEFER_TASKRUN | si,
        ),
        ("SQPOLL|SI", 4, 0, SETUP_SQPOLL | si),
        ("IOPOLL|SQPOLL", 4, 0, SETUP_IOPOLL | SETUP_SQPOLL),
        (
            "IOPOLL|DEFER|SI",
            4,
            0,
            SETUP_IOPOLL | SETUP_DEFER_TASKRUN | si,
        ),
        ("CQSIZE cq=2 < sq=4", 4, 2, SETUP_CQSIZE),
        ("CQSIZE cq=4 = sq=4", 4, 4, SETUP_CQSIZE),
        ("CQSIZE cq=5", 4, 5, SETUP_CQSIZE),
        ("CQSIZE cq=0", 4, 0, SETUP_CQSIZE),
        ("CQSIZE cq=65537", 4, 65537, SETUP_CQSIZE),
        (
            "CQSIZE|CLAMP cq=65537",
            4,
            65537,
            SETUP_CQSIZE | SETUP_CLAMP,
        ),
        ("CQSIZE|CLAMP cq=2 < sq=4", 4, 2, SETUP_CQSIZE | SETUP_CLAMP),
        ("cq_entries=2 without CQSIZE (ignored?)", 4, 2, 0),
        ("entries 0", 0, 0, 0),
        ("entries 32768", 32768, 0, 0),
        ("entries 32769", 32769, 0, 0),
        ("entries 32769 CLAMP", 32769, 0, SETUP_CLAMP),
        ("COOP_TASKRUN", 4, 0, SETUP_COOP_TASKRUN),
        (
            "COOP_TASKRUN|SQPOLL",
            4,
            0,
            SETUP_COOP_TASKRUN | SETUP_SQPOLL,
        ),
        ("TASKRUN_FLAG alone", 4, 0, SETUP_TASKRUN_FLAG),
        (
            "TASKRUN_FLAG|COOP",
            4,
            0,
            SETUP_TASKRUN_FLAG | SETUP_COOP_TASKRUN,
        ),
        (
            "TASKRUN_FLAG|DEFER|SI",
            4,
            0,
            SETUP_TASKRUN_FLAG | SETUP_DEFER_TASKRUN | si,
        ),
        (
            "COOP|DEFER|SI",
            4,
            0,
            SETUP_COOP_TASKRUN | SETUP_DEFER_TASKRUN | si,
        ),
        ("R_DISABLED|SI", 4, 0, SETUP_R_DISABLED | si),
        ("SQ_AFF without SQPOLL", 4, 0, SETUP_SQ_AFF),
        ("CQE32", 4, 0, SETUP_CQE32),
        ("SQE128", 4, 0, SETUP_SQE128),
        ("CQE32|CQE_MIXED", 4, 0, SETUP_CQE32 | SETUP_CQE_MIXED),
        ("NO_SQARRAY", 4, 0, SETUP_NO_SQARRAY),
        ("SUBMIT_ALL", 4, 0, SETUP_SUBMIT_ALL),
        ("unknown bit 1<<25", 4, 0, 1 << 25),
    ];
    for (name, e, cq, f) in cases {
        match try_setup(*e, *cq, *f) {
            Ok((s, c)) => {
                println!("{name:42} entries={e:6} cq={cq:6} flags={f:#07x} -> OK sq={s} cq={c}")
            }
            Err(err) => println!("{name:42} entries={e:6} cq={cq:6} flags={f:#07x} -> {err}"),
        }
    }
}
