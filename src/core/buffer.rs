//! A byte queue: append at the back, consume from the front. Used for a socket's read buffer
//! and its write queue.
//!
//! Memory goes back once the queue drains. A queue of small messages (at most `KEEP_ABOVE`
//! bytes of capacity) goes whole, to the thread's spare (`SPARE`, taken by the next buffer that
//! needs one): an idle connection then holds no buffer. A larger one keeps its capacity, so a stream of messages up
//! to `SHRINK_ABOVE` bytes allocates nothing per message: shrinking a 100 KB buffer after each
//! message would cost a realloc (an munmap/mmap pair, with page faults, past malloc's mmap
//! threshold) per message, which made 100 KB messages four times slower. Drained holding more
//! than `SHRINK_ABOVE`, it shrinks to `RETAIN` (a burst of 64 MiB does not pin 64 MiB for the
//! life of the connection).

use super::spare;

/// The queue itself is out of line, allocated with its first byte (or transaction). Drained,
/// it goes whole when it holds at most `KEEP_ABOVE` bytes of capacity (small messages: a
/// malloc and a free per message cost less than what every idle connection would hold), and
/// stays otherwise, as above. So an idle connection's two buffers cost a pointer each.
#[derive(Default)]
pub struct Buffer(Option<Box<Inner>>);

impl Buffer {
    fn inner(&mut self) -> &mut Inner {
        self.0
            .get_or_insert_with(|| spare::take(&SPARE).unwrap_or_default())
    }

    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |b| b.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn as_slice(&self) -> &[u8] {
        self.0.as_ref().map_or(&[], |b| b.as_slice())
    }

    /// Bytes allocated (live, consumed-but-not-compacted and spare).
    pub fn capacity(&self) -> usize {
        self.0.as_ref().map_or(0, |b| b.capacity())
    }

    /// The vector to append to in place (for `read_into`).
    pub fn tail(&mut self) -> &mut Vec<u8> {
        self.inner().tail()
    }

    /// Appends `bytes`, or fails without change when memory cannot be had.
    pub fn try_extend(&mut self, bytes: &[u8]) -> Result<(), std::collections::TryReserveError> {
        if bytes.is_empty() && self.0.is_none() {
            return Ok(());
        }
        self.inner().try_extend(bytes)
    }

    pub fn consume(&mut self, n: usize) {
        if let Some(b) = &mut self.0 {
            b.consume(n);
            self.settle();
        }
    }

    /// Gives a small drained queue back whole: it becomes the thread's spare.
    fn settle(&mut self) {
        if let Some(b) = &self.0
            && b.data.is_empty()
            && !b.in_transaction()
            && b.data.capacity() <= KEEP_ABOVE
        {
            spare::give(&SPARE, self.0.take());
        }
    }

    /// Qt's `startTransaction`: what is read from now on can be given back (`rollback`).
    pub fn start_transaction(&mut self) {
        self.inner().start_transaction();
    }

    /// Qt's `commitTransaction`: what was read stays read.
    pub fn commit(&mut self) {
        if let Some(b) = &mut self.0 {
            b.commit();
            self.settle();
        }
    }

    /// Qt's `rollbackTransaction`: every byte read since the start is readable again.
    pub fn rollback(&mut self) {
        if let Some(b) = &mut self.0 {
            b.rollback();
        }
    }

    pub fn in_transaction(&self) -> bool {
        self.0.as_ref().is_some_and(|b| b.in_transaction())
    }

    /// Qt's `ungetChar`: puts a byte back in front of what is buffered.
    pub fn unget(&mut self, byte: u8) {
        self.inner().unget(byte);
    }

    /// Copies up to `out.len()` bytes out and consumes them.
    pub fn read(&mut self, out: &mut [u8]) -> usize {
        let n = self.0.as_mut().map_or(0, |b| b.read(out));
        self.settle();
        n
    }

    pub fn peek(&self, out: &mut [u8]) -> usize {
        self.0.as_ref().map_or(0, |b| b.peek(out))
    }

    pub fn clear(&mut self) {
        if let Some(b) = &mut self.0 {
            b.reset();
            self.settle();
        }
    }

    /// Drops the memory too (after a connection ends).
    pub fn release(&mut self) {
        self.0 = None;
    }

    /// The queue is out of line (allocated): for the footprint tests.
    #[cfg(test)]
    pub fn is_allocated(&self) -> bool {
        self.0.is_some()
    }
}

struct Inner {
    data: Vec<u8>,
    head: usize,
    /// Where a read transaction started (Qt's `startTransaction`): bytes from here on are kept
    /// (consumed but not dropped) until it is committed or rolled back. `NO_MARK` outside a
    /// transaction (a sentinel, not an `Option`).
    mark: usize,
}

const NO_MARK: usize = usize::MAX;

impl Default for Inner {
    fn default() -> Self {
        Inner {
            data: Vec::new(),
            head: 0,
            mark: NO_MARK,
        }
    }
}

/// A drained queue with at most this much capacity is given back whole (`Buffer::settle`).
const KEEP_ABOVE: usize = 4 * 1024;

thread_local! {
    /// The small queue the last drained buffer of this thread gave back (`spare`).
    static SPARE: std::cell::Cell<Option<Box<Inner>>> = const { std::cell::Cell::new(None) };
}

/// Above this many consumed bytes at the front, the live bytes are moved down.
const COMPACT_AT: usize = 64 * 1024;

/// The capacity a drained buffer shrinks to, once it held more than `SHRINK_ABOVE`.
const RETAIN: usize = 64 * 1024;
/// A drained buffer with more capacity than this gives the excess back.
const SHRINK_ABOVE: usize = 1024 * 1024;

impl Inner {
    fn mark(&self) -> Option<usize> {
        (self.mark != NO_MARK).then_some(self.mark)
    }

    fn len(&self) -> usize {
        self.data.len() - self.head
    }

    fn as_slice(&self) -> &[u8] {
        &self.data[self.head..]
    }

    /// Bytes allocated (live, consumed-but-not-compacted and spare).
    fn capacity(&self) -> usize {
        self.data.capacity()
    }

    /// The vector to append to in place (for `read_into`).
    fn tail(&mut self) -> &mut Vec<u8> {
        let keep = self.mark().unwrap_or(self.head);
        if keep == self.data.len() {
            self.reset();
        } else if keep >= COMPACT_AT && keep * 2 >= self.data.len() {
            self.data.drain(..keep);
            self.head -= keep;
            if self.in_transaction() {
                self.mark = 0;
            }
        }
        &mut self.data
    }

    /// Appends `bytes`, or fails without change when memory cannot be had.
    fn try_extend(&mut self, bytes: &[u8]) -> Result<(), std::collections::TryReserveError> {
        let tail = self.tail();
        tail.try_reserve(bytes.len())?;
        tail.extend_from_slice(bytes);
        Ok(())
    }

    fn consume(&mut self, n: usize) {
        self.head += n.min(self.len());
        if self.head == self.data.len() && !self.in_transaction() {
            self.reset();
        }
    }

    /// Qt's `startTransaction`: what is read from now on can be given back (`rollback`).
    fn start_transaction(&mut self) {
        self.mark = self.head;
    }

    /// Qt's `commitTransaction`: what was read stays read.
    fn commit(&mut self) {
        self.mark = NO_MARK;
        if self.head == self.data.len() {
            self.reset();
        }
    }

    /// Qt's `rollbackTransaction`: every byte read since the start is readable again.
    fn rollback(&mut self) {
        let m = std::mem::replace(&mut self.mark, NO_MARK);
        if m != NO_MARK {
            self.head = m;
        }
    }

    fn in_transaction(&self) -> bool {
        self.mark != NO_MARK
    }

    /// Qt's `ungetChar`: puts a byte back in front of what is buffered.
    fn unget(&mut self, byte: u8) {
        if self.head > self.mark().unwrap_or(0) {
            self.head -= 1;
            self.data[self.head] = byte;
        } else {
            self.data.insert(self.head, byte);
        }
    }

    /// Empties the buffer, giving back capacity above `SHRINK_ABOVE` (one comparison when
    /// there is none to give back).
    fn reset(&mut self) {
        self.data.clear();
        self.head = 0;
        if self.in_transaction() {
            self.mark = 0;
        }
        if self.data.capacity() > SHRINK_ABOVE {
            self.data.shrink_to(RETAIN);
        }
    }

    /// Copies up to `out.len()` bytes out and consumes them.
    fn read(&mut self, out: &mut [u8]) -> usize {
        let n = self.peek(out);
        self.consume(n);
        n
    }

    fn peek(&self, out: &mut [u8]) -> usize {
        let n = out.len().min(self.len());
        out[..n].copy_from_slice(&self.as_slice()[..n]);
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rolled_back_transaction_reads_the_same_bytes_again() {
        let mut b = Buffer::default();
        let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7) as u8).collect();
        b.try_extend(&data[..1000]).unwrap();
        let mut out = vec![0u8; 300];
        b.start_transaction();
        assert!(b.in_transaction());
        assert_eq!(b.read(&mut out), 300);
        // Appends (and the compaction they may do) keep what the transaction read.
        b.try_extend(&data[1000..]).unwrap();
        let mut big = vec![0u8; 150_000];
        assert_eq!(b.read(&mut big), 150_000);
        b.try_extend(&[]).unwrap();
        b.rollback();
        assert!(!b.in_transaction());
        assert_eq!(b.len(), data.len());
        let mut all = vec![0u8; data.len()];
        assert_eq!(b.read(&mut all), data.len());
        assert_eq!(all, data);
        // Commit: what was read stays read; drained to the end, it is empty.
        b.try_extend(b"abc").unwrap();
        b.start_transaction();
        assert_eq!(b.read(&mut out[..3]), 3);
        b.commit();
        assert!(b.is_empty());
        b.rollback();
        assert!(b.is_empty());
    }

    #[test]
    fn a_drained_small_queue_holds_no_memory() {
        let mut b = Buffer::default();
        assert!(!b.is_allocated());
        b.try_extend(b"").unwrap();
        assert!(!b.is_allocated(), "nothing appended, nothing allocated");
        b.try_extend(&[5; 100]).unwrap();
        let mut out = [0u8; 60];
        assert_eq!(b.read(&mut out), 60);
        assert!(b.is_allocated(), "40 bytes are still queued");
        assert_eq!(b.read(&mut out), 40);
        assert_eq!(out[..40], [5; 40]);
        assert!(!b.is_allocated(), "drained");
        // A transaction keeps what it read until it ends.
        b.try_extend(b"xyz").unwrap();
        b.start_transaction();
        assert_eq!(b.read(&mut out[..3]), 3);
        assert!(b.is_allocated());
        b.rollback();
        assert_eq!(b.read(&mut out[..3]), 3);
        assert_eq!(&out[..3], b"xyz");
        assert!(!b.is_allocated());
        // A large queue keeps its capacity when drained (a message stream does not reallocate).
        b.try_extend(&vec![1; 100_000]).unwrap();
        b.consume(100_000);
        assert!(b.is_allocated() && b.capacity() >= 100_000);
        b.release();
        assert!(!b.is_allocated());
    }

    #[test]
    fn unget_puts_a_byte_in_front() {
        let mut b = Buffer::default();
        b.unget(b'z');
        b.try_extend(b"bc").unwrap();
        let mut one = [0u8; 1];
        assert_eq!(b.read(&mut one), 1);
        assert_eq!(&one, b"z");
        b.unget(b'a');
        let mut out = [0u8; 3];
        assert_eq!(b.read(&mut out), 3);
        assert_eq!(&out, b"abc");
    }

    #[test]
    fn fifo_order_survives_compaction() {
        let mut b = Buffer::default();
        let mut expect = std::collections::VecDeque::new();
        let mut next = 0u8;
        for round in 0..200 {
            let chunk: Vec<u8> = (0..(round * 997 % 5000))
                .map(|_| {
                    next = next.wrapping_add(1);
                    next
                })
                .collect();
            b.try_extend(&chunk).unwrap();
            expect.extend(chunk);
            let mut out = vec![0; round * 613 % 7000];
            let n = b.read(&mut out);
            for byte in &out[..n] {
                assert_eq!(Some(*byte), expect.pop_front());
            }
            assert_eq!(b.len(), expect.len());
        }
    }

    #[test]
    fn a_drained_burst_gives_its_memory_back() {
        const BURST: usize = 16 * 1024 * 1024;
        let byte = |i: usize| (i % 251) as u8;
        let mut b = Buffer::default();
        const CHUNK: usize = 1024 * 1024;
        let mut written = 0;
        while written < BURST {
            // 1 MiB chunks: a multiple of neither 251 nor the read size below.
            let part: Vec<u8> = (written..written + CHUNK).map(byte).collect();
            b.try_extend(&part).unwrap();
            written += part.len();
        }
        assert!(b.capacity() >= BURST);
        let mut out = vec![0; 100_000];
        let mut read = 0;
        while !b.is_empty() {
            let n = b.read(&mut out);
            for (k, got) in out[..n].iter().enumerate() {
                assert_eq!(*got, byte(read + k), "byte {}", read + k);
            }
            read += n;
        }
        assert_eq!(read, BURST);
        assert!(
            b.capacity() <= RETAIN,
            "capacity {} after draining",
            b.capacity()
        );
        // Still a working FIFO afterwards.
        b.try_extend(b"abc").unwrap();
        b.try_extend(b"def").unwrap();
        let mut three = [0; 3];
        assert_eq!(b.read(&mut three), 3);
        assert_eq!(&three, b"abc");
        assert_eq!(b.as_slice(), b"def");
    }

    #[test]
    fn a_message_stream_does_not_reallocate() {
        for size in [100, 100_000] {
            let mut b = Buffer::default();
            let msg = vec![7u8; size];
            let mut out = vec![0u8; size];
            // Warm up, as after a burst: the retained capacity stays.
            b.try_extend(&vec![1; 4 * SHRINK_ABOVE]).unwrap();
            b.clear();
            assert!(b.capacity() > 0 && b.capacity() <= RETAIN);
            b.try_extend(&msg).unwrap();
            assert_eq!(b.read(&mut out), size);
            let cap = b.capacity();
            let ptr = b.tail().as_ptr();
            for _ in 0..2_000 {
                b.try_extend(&msg).unwrap();
                assert_eq!(b.read(&mut out), size);
                assert_eq!(out, msg);
                // Drained, it keeps room for the next message: no shrink and regrow.
                assert!(b.capacity() >= size);
            }
            assert_eq!(b.capacity(), cap, "{size}-byte messages");
            assert_eq!(b.tail().as_ptr(), ptr);
        }
    }
}
