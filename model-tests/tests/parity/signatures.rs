// The io-uring 0.7 signatures the facade must match, as fn-pointer coercions. This file
// is included twice by uring_parity.rs: once with `io_uring::*` in scope, once with
// `msgring::uring::*`. Both must compile, so every listed function exists in both with
// the same argument and return types (the facade's safe `push` and `enter` coerce to
// io-uring's `unsafe fn` pointer types). `'s` is the borrowed ring's lifetime, a
// parameter of the including function.
{
    use std::io;
    use std::os::fd::{AsRawFd, RawFd};

    // IoUring
    let _: fn(u32) -> io::Result<IoUring> = IoUring::new;
    let _: fn() -> Builder = IoUring::builder;
    let _: for<'a> fn(&'a IoUring) -> Submitter<'a> = IoUring::submitter;
    let _: fn(&IoUring) -> &Parameters = IoUring::params;
    let _: fn(&IoUring) -> io::Result<usize> = IoUring::submit;
    let _: fn(&IoUring, usize) -> io::Result<usize> = IoUring::submit_and_wait;
    let _: for<'a> fn(&'a mut IoUring) -> squeue::SubmissionQueue<'a> = IoUring::submission;
    let _: for<'a> fn(&'a mut IoUring) -> cqueue::CompletionQueue<'a> = IoUring::completion;
    let _: for<'a> fn(
        &'a mut IoUring,
    ) -> (
        Submitter<'a>,
        squeue::SubmissionQueue<'a>,
        cqueue::CompletionQueue<'a>,
    ) = IoUring::split;
    let _: fn(&IoUring) -> RawFd = <IoUring as AsRawFd>::as_raw_fd;

    // Builder
    let _: fn(&mut Builder) -> &mut Builder = Builder::dontfork;
    let _: fn(&mut Builder) -> &mut Builder = Builder::setup_iopoll;
    let _: fn(&mut Builder, u32) -> &mut Builder = Builder::setup_sqpoll;
    let _: fn(&mut Builder, u32) -> &mut Builder = Builder::setup_sqpoll_cpu;
    let _: fn(&mut Builder, u32) -> &mut Builder = Builder::setup_cqsize;
    let _: fn(&mut Builder) -> &mut Builder = Builder::setup_clamp;
    let _: fn(&mut Builder, RawFd) -> &mut Builder = Builder::setup_attach_wq;
    let _: fn(&mut Builder) -> &mut Builder = Builder::setup_r_disabled;
    let _: fn(&mut Builder) -> &mut Builder = Builder::setup_submit_all;
    let _: fn(&mut Builder) -> &mut Builder = Builder::setup_coop_taskrun;
    let _: fn(&mut Builder) -> &mut Builder = Builder::setup_taskrun_flag;
    let _: fn(&mut Builder) -> &mut Builder = Builder::setup_defer_taskrun;
    let _: fn(&mut Builder) -> &mut Builder = Builder::setup_single_issuer;
    let _: fn(&mut Builder) -> &mut Builder = Builder::setup_no_sqarray;
    let _: fn(&Builder, u32) -> io::Result<IoUring> = Builder::build;

    // Parameters
    let _: fn(&Parameters) -> bool = Parameters::is_setup_sqpoll;
    let _: fn(&Parameters) -> bool = Parameters::is_setup_iopoll;
    let _: fn(&Parameters) -> bool = Parameters::is_setup_single_issuer;
    let _: fn(&Parameters) -> bool = Parameters::is_feature_nodrop;
    let _: fn(&Parameters) -> bool = Parameters::is_feature_ext_arg;
    let _: fn(&Parameters) -> u32 = Parameters::sq_entries;
    let _: fn(&Parameters) -> u32 = Parameters::cq_entries;

    // Submitter
    let _: fn(&Submitter<'s>) -> io::Result<usize> = Submitter::submit;
    let _: fn(&Submitter<'s>, usize) -> io::Result<usize> = Submitter::submit_and_wait;
    let _: fn(&Submitter<'s>, usize, &types::SubmitArgs<'_, '_>) -> io::Result<usize> =
        Submitter::submit_with_args;
    let _: unsafe fn(&Submitter<'s>, u32, u32, u32, Option<&()>) -> io::Result<usize> =
        Submitter::enter::<()>;
    let _: fn(&Submitter<'s>, &[RawFd]) -> io::Result<()> = Submitter::register_files;
    let _: fn(&Submitter<'s>, u32) -> io::Result<()> = Submitter::register_files_sparse;
    let _: fn(&Submitter<'s>, u32, &[RawFd]) -> io::Result<usize> =
        Submitter::register_files_update;
    let _: fn(&Submitter<'s>) -> io::Result<()> = Submitter::unregister_files;
    let _: fn(&Submitter<'s>) -> io::Result<()> = Submitter::register_enable_rings;

    // squeue
    let _: unsafe fn(&mut squeue::SubmissionQueue<'s>, &squeue::Entry) -> Result<(), squeue::PushError> =
        squeue::SubmissionQueue::push;
    let _: unsafe fn(&mut squeue::SubmissionQueue<'s>, &[squeue::Entry]) -> Result<(), squeue::PushError> =
        squeue::SubmissionQueue::push_multiple;
    let _: fn(&mut squeue::SubmissionQueue<'s>) = squeue::SubmissionQueue::sync;
    let _: fn(&squeue::SubmissionQueue<'s>) -> bool = squeue::SubmissionQueue::need_wakeup;
    let _: fn(&squeue::SubmissionQueue<'s>) -> u32 = squeue::SubmissionQueue::dropped;
    let _: fn(&squeue::SubmissionQueue<'s>) -> bool = squeue::SubmissionQueue::cq_overflow;
    let _: fn(&squeue::SubmissionQueue<'s>) -> bool = squeue::SubmissionQueue::taskrun;
    let _: fn(&squeue::SubmissionQueue<'s>) -> usize = squeue::SubmissionQueue::capacity;
    let _: fn(&squeue::SubmissionQueue<'s>) -> usize = squeue::SubmissionQueue::len;
    let _: fn(&squeue::SubmissionQueue<'s>) -> bool = squeue::SubmissionQueue::is_empty;
    let _: fn(&squeue::SubmissionQueue<'s>) -> bool = squeue::SubmissionQueue::is_full;
    let _: fn(squeue::Entry, squeue::Flags) -> squeue::Entry = squeue::Entry::flags;
    let _: fn(squeue::Entry) -> squeue::Entry = squeue::Entry::clear_flags;
    let _: fn(squeue::Entry, u64) -> squeue::Entry = squeue::Entry::user_data;
    let _: fn(&mut squeue::Entry, u64) = squeue::Entry::set_user_data;
    let _: fn(&squeue::Entry) -> u64 = squeue::Entry::get_user_data;
    let _: fn(&squeue::Entry) -> u32 = squeue::Entry::get_opcode;
    let _: fn(squeue::Entry, u16) -> squeue::Entry = squeue::Entry::personality;
    let _: squeue::Flags = squeue::Flags::IO_LINK | squeue::Flags::ASYNC | squeue::Flags::SKIP_SUCCESS;
    let _: squeue::Flags = squeue::Flags::IO_DRAIN | squeue::Flags::IO_HARDLINK;

    // cqueue
    let _: fn(&cqueue::Entry) -> i32 = cqueue::Entry::result;
    let _: fn(&cqueue::Entry) -> u64 = cqueue::Entry::user_data;
    let _: fn(&cqueue::Entry) -> u32 = cqueue::Entry::flags;
    let _: fn(&mut cqueue::CompletionQueue<'s>) = cqueue::CompletionQueue::sync;
    let _: fn(&cqueue::CompletionQueue<'s>) -> u32 = cqueue::CompletionQueue::overflow;
    let _: fn(&cqueue::CompletionQueue<'s>) -> usize = cqueue::CompletionQueue::capacity;
    let _: fn(&cqueue::CompletionQueue<'s>) -> bool = cqueue::CompletionQueue::is_empty;
    let _: fn(&cqueue::CompletionQueue<'s>) -> bool = cqueue::CompletionQueue::is_full;
    let _: fn(&mut cqueue::CompletionQueue<'s>) -> Option<cqueue::Entry> =
        <cqueue::CompletionQueue<'s> as Iterator>::next;
    let _: fn(u32) -> bool = cqueue::more;

    // opcode
    let _: fn(types::Fd, i32, u64, Option<u32>) -> opcode::MsgRingData = opcode::MsgRingData::new;
    let _: fn(opcode::MsgRingData, u32) -> opcode::MsgRingData = opcode::MsgRingData::opcode_flags;
    let _: fn(opcode::MsgRingData) -> squeue::Entry = opcode::MsgRingData::build;
    let _: u8 = opcode::MsgRingData::CODE;
    let _: fn(types::Fd, types::Fixed, types::DestinationSlot, u64) -> opcode::MsgRingSendFd =
        opcode::MsgRingSendFd::new;
    let _: fn(opcode::MsgRingSendFd, u32) -> opcode::MsgRingSendFd =
        opcode::MsgRingSendFd::opcode_flags;
    let _: fn(opcode::MsgRingSendFd) -> squeue::Entry = opcode::MsgRingSendFd::build;
    let _: fn() -> opcode::Nop = opcode::Nop::new;
    let _: fn(opcode::Nop) -> squeue::Entry = opcode::Nop::build;
    let _: u8 = opcode::Nop::CODE;

    // types
    let _: types::Fd = types::Fd(0);
    let _: types::Fixed = types::Fixed(0);
    let _: fn() -> types::DestinationSlot = types::DestinationSlot::auto_target;
    let _: fn(u32) -> Result<types::DestinationSlot, u32> =
        types::DestinationSlot::try_from_slot_target;
    let _: fn() -> types::Timespec = types::Timespec::new;
    let _: fn(types::Timespec, u64) -> types::Timespec = types::Timespec::sec;
    let _: fn(types::Timespec, u32) -> types::Timespec = types::Timespec::nsec;
    let _: fn(std::time::Duration) -> types::Timespec = types::Timespec::from;
    let _: fn() -> types::SubmitArgs<'static, 'static> = types::SubmitArgs::new;
    let _: for<'n> fn(types::SubmitArgs<'static, 'static>, &'n types::Timespec) -> types::SubmitArgs<'static, 'n> =
        types::SubmitArgs::timespec;
}
