//! Experiment 5: file-table registration errors.
//! Run: cargo run -p msgring-real-backend --example exp5_register_errors
use msgring_real_backend::*;

const T0: TaskId = TaskId(0);

fn main() {
    let mut h = Host::new().unwrap();
    let r = h.setup_ring(T0, 4, 0, 0).unwrap();
    let other = h.setup_ring(T0, 4, 0, 0).unwrap();
    let f = h.create_regular_file().unwrap();
    let g = h.create_regular_file().unwrap();
    let (pr, _pw) = h.create_pipe().unwrap();
    macro_rules! show {
        ($label:expr, $e:expr) => {{
            let v = $e;
            println!("{:60} -> {:?}", $label, v);
            v
        }};
    }
    show!(
        "update_files with no table",
        h.update_files(T0, r, 0, &[Some(f)])
    );
    show!("unregister with no table", h.unregister_files(T0, r));
    show!(
        "file_alloc_range(0,1) with no table",
        h.file_alloc_range(T0, r, 0, 1)
    );
    show!("register_files nr=0", h.register_files(T0, r, &[]));
    show!(
        "register_files [other ring]",
        h.register_files(T0, r, &[Some(other)])
    );
    show!(
        "register_files [f, own ring]",
        h.register_files(T0, r, &[Some(f), Some(r)])
    );
    show!(
        "register_files [None, None] (all sparse)",
        h.register_files(T0, r, &[None, None])
    );
    show!("  table", h.file_table(r));
    show!(
        "register_files again (table exists)",
        h.register_files(T0, r, &[Some(f)])
    );
    show!(
        "register_files_sparse again",
        h.register_files_sparse(T0, r, 4)
    );
    show!("unregister", h.unregister_files(T0, r));
    show!("unregister again", h.unregister_files(T0, r));
    show!(
        "register_files_sparse(0)",
        h.register_files_sparse(T0, r, 0)
    );
    show!(
        "register_files [f, None, pr]",
        h.register_files(T0, r, &[Some(f), None, Some(pr)])
    );
    show!("update off=1 [g]", h.update_files(T0, r, 1, &[Some(g)]));
    show!("  table", h.file_table(r));
    show!(
        "update off=0 [None] (-1)",
        h.update_files(T0, r, 0, &[None])
    );
    show!("  table", h.file_table(r));
    show!(
        "update off=0 [Skip, Empty, File f]",
        h.update_files_slots(
            T0,
            r,
            0,
            &[FileSlot::Skip, FileSlot::Empty, FileSlot::File(f)]
        )
    );
    show!("  table", h.file_table(r));
    show!(
        "update off=2 [g, g] (runs past end)",
        h.update_files(T0, r, 2, &[Some(g), Some(g)])
    );
    show!("  table", h.file_table(r));
    show!(
        "update off=3 [g] (offset == nr)",
        h.update_files(T0, r, 3, &[Some(g)])
    );
    show!("update off=100 [g]", h.update_files(T0, r, 100, &[Some(g)]));
    show!("update off=0 [] (nr 0)", h.update_files(T0, r, 0, &[]));
    show!(
        "update off=0 [own ring]",
        h.update_files(T0, r, 0, &[Some(r)])
    );
    show!(
        "update off=0 [File(closed vfd 999) -> -1]",
        h.update_files(T0, r, 0, &[Some(Vfd(999))])
    );
    show!("file_alloc_range(0,3)", h.file_alloc_range(T0, r, 0, 3));
    show!("file_alloc_range(1,2)", h.file_alloc_range(T0, r, 1, 2));
    show!(
        "file_alloc_range(2,2) (past end)",
        h.file_alloc_range(T0, r, 2, 2)
    );
    show!("file_alloc_range(3,0)", h.file_alloc_range(T0, r, 3, 0));
    show!("file_alloc_range(0,0)", h.file_alloc_range(T0, r, 0, 0));
    show!(
        "file_alloc_range(u32::MAX,2) (overflow)",
        h.file_alloc_range(T0, r, u32::MAX, 2)
    );
    show!(
        "file_alloc_range(1,u32::MAX) (overflow)",
        h.file_alloc_range(T0, r, 1, u32::MAX)
    );
    show!("close(f) while registered", h.close(f));
    show!("  table (slot keeps the file)", h.file_table(r));
}
