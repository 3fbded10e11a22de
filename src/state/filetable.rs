//! A ring's fixed-file table, laid out as `io_uring/filetable.c` keeps it: the slots,
//! the allocation bitmap (here: slot occupancy), `alloc_hint`, and the ring's
//! `file_alloc_start`/`file_alloc_end` range.
//!
//! The bit operations mirror `io_file_bitmap_set`, `io_file_bitmap_clear` and
//! `io_file_bitmap_get` exactly, including how they move `alloc_hint` (finding 8: ALLOC
//! is not "lowest free slot").

use super::FileId;

/// The fixed-file table. `nr() == 0` means "no table registered".
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct FileTable {
    slots: Vec<Option<FileId>>,
    /// `table->alloc_hint`: where the next ALLOC search starts.
    pub alloc_hint: u32,
    /// `ctx->file_alloc_start`.
    pub alloc_start: u32,
    /// `ctx->file_alloc_end` (exclusive).
    pub alloc_end: u32,
}

impl FileTable {
    /// `file_table.data.nr`.
    pub fn nr(&self) -> u32 {
        self.slots.len() as u32
    }

    /// The file in `slot`, if the slot exists and is occupied.
    pub fn get(&self, slot: u32) -> Option<FileId> {
        self.slots.get(slot as usize).copied().flatten()
    }

    /// Occupied slots in index order.
    pub fn occupied(&self) -> impl Iterator<Item = (u32, FileId)> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, f)| f.map(|f| (i as u32, f)))
    }

    /// Replaces the table with `nr` empty slots (`io_alloc_file_tables`).
    pub fn alloc(&mut self, nr: u32) {
        self.slots = vec![None; nr as usize];
        self.alloc_hint = 0;
    }

    /// Frees the table (`io_free_file_tables`), returning the files it held.
    pub fn free(&mut self) -> Vec<FileId> {
        let held = self.slots.iter().flatten().copied().collect();
        self.slots = Vec::new();
        self.alloc_hint = 0;
        held
    }

    /// `io_file_table_set_alloc_range`: sets the range and resets the hint to `off`.
    pub fn set_alloc_range(&mut self, off: u32, len: u32) {
        self.alloc_start = off;
        self.alloc_end = off.wrapping_add(len);
        self.alloc_hint = off;
    }

    /// Puts `file` in an empty `slot` and sets its bit (`io_file_bitmap_set`:
    /// `alloc_hint = bit + 1`).
    pub fn set(&mut self, slot: u32, file: FileId) {
        debug_assert!(self.slots[slot as usize].is_none());
        self.slots[slot as usize] = Some(file);
        self.alloc_hint = slot + 1;
    }

    /// Replaces the file in an occupied `slot`. The bitmap and `alloc_hint` do not
    /// change (`io_install_fixed_file` sets the bit only if the slot was empty).
    pub fn replace(&mut self, slot: u32, file: FileId) -> FileId {
        self.slots[slot as usize]
            .replace(file)
            .expect("replace of an empty slot")
    }

    /// Empties `slot` and clears its bit (`io_file_bitmap_clear`: `alloc_hint = bit`).
    /// Returns the file it held.
    pub fn clear(&mut self, slot: u32) -> Option<FileId> {
        let old = self.slots.get_mut(slot as usize)?.take();
        if old.is_some() {
            self.alloc_hint = slot;
        }
        old
    }

    /// `io_file_bitmap_get`: with `clamp` (R21.5) the hint is first clamped into the
    /// range; then the first zero bit in `[alloc_hint, alloc_end)`, then in
    /// `[alloc_start, old hint)` after moving the hint to `alloc_start`. Without the
    /// clamp (Debian's 6.18.15) a hint above the range makes the second search run up
    /// to the old hint, past `alloc_end`, and one below it makes the first search start
    /// below `alloc_start`. `None` means -ENFILE (also when no table is registered).
    pub fn bitmap_get(&mut self, clamp: bool) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        // Stable fix "clamp alloc_hint to [file_alloc_start, file_alloc_end)" (in
        // 6.18.44: an ALLOC never returns a slot outside the range).
        if clamp && (self.alloc_hint < self.alloc_start || self.alloc_hint >= self.alloc_end) {
            self.alloc_hint = self.alloc_start;
        }
        let mut nr = self.alloc_end.min(self.nr());
        loop {
            if let Some(bit) = (self.alloc_hint..nr).find(|&b| self.slots[b as usize].is_none()) {
                return Some(bit);
            }
            if self.alloc_hint == self.alloc_start {
                return None;
            }
            nr = self.alloc_hint.min(self.nr());
            self.alloc_hint = self.alloc_start;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(nr: u32) -> FileTable {
        let mut t = FileTable::default();
        t.alloc(nr);
        t.set_alloc_range(0, nr);
        t
    }

    #[test]
    fn r21_alloc_takes_the_slot_after_the_last_set_not_the_lowest_free() {
        let mut t = table(4);
        t.set(1, FileId(7));
        assert_eq!(
            t.bitmap_get(true),
            Some(2),
            "finding 8: hint is bit+1 after a set"
        );
        t.clear(1);
        assert_eq!(
            t.bitmap_get(true),
            Some(1),
            "finding 8: hint is the bit after a clear"
        );
    }

    #[test]
    fn r21_alloc_wraps_within_the_range_then_reports_full() {
        let mut t = table(8);
        t.set_alloc_range(2, 2);
        let a = t.bitmap_get(true).unwrap();
        t.set(a, FileId(0));
        let b = t.bitmap_get(true).unwrap();
        t.set(b, FileId(1));
        assert_eq!((a, b), (2, 3));
        assert_eq!(t.bitmap_get(true), None, "-ENFILE when the range is full");
        assert_eq!(
            t.alloc_hint, 2,
            "the failed search left the hint at alloc_start"
        );
    }

    #[test]
    fn replace_keeps_the_hint() {
        let mut t = table(4);
        t.set(0, FileId(1));
        t.set(3, FileId(2));
        assert_eq!(t.replace(0, FileId(3)), FileId(1));
        assert_eq!(t.alloc_hint, 4);
    }
}
