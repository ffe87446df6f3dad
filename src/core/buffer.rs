//! A byte queue: append at the back, consume from the front, no per-operation allocation once
//! warmed up. Used for a socket's read buffer and its write queue.

#[derive(Default)]
pub struct Buffer {
    data: Vec<u8>,
    head: usize,
}

/// Above this many consumed bytes at the front, the live bytes are moved down.
const COMPACT_AT: usize = 64 * 1024;

impl Buffer {
    pub fn len(&self) -> usize {
        self.data.len() - self.head
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.data[self.head..]
    }

    /// The vector to append to in place (for `read_into`).
    pub fn tail(&mut self) -> &mut Vec<u8> {
        if self.head == self.data.len() {
            self.data.clear();
            self.head = 0;
        } else if self.head >= COMPACT_AT && self.head * 2 >= self.data.len() {
            self.data.drain(..self.head);
            self.head = 0;
        }
        &mut self.data
    }

    /// Appends `bytes`, or fails without change when memory cannot be had.
    pub fn try_extend(&mut self, bytes: &[u8]) -> Result<(), std::collections::TryReserveError> {
        let tail = self.tail();
        tail.try_reserve(bytes.len())?;
        tail.extend_from_slice(bytes);
        Ok(())
    }

    pub fn consume(&mut self, n: usize) {
        self.head += n.min(self.len());
        if self.head == self.data.len() {
            self.data.clear();
            self.head = 0;
        }
    }

    /// Copies up to `out.len()` bytes out and consumes them.
    pub fn read(&mut self, out: &mut [u8]) -> usize {
        let n = self.peek(out);
        self.consume(n);
        n
    }

    pub fn peek(&self, out: &mut [u8]) -> usize {
        let n = out.len().min(self.len());
        out[..n].copy_from_slice(&self.as_slice()[..n]);
        n
    }

    pub fn clear(&mut self) {
        self.data.clear();
        self.head = 0;
    }

    /// Drops the memory too (after a connection ends).
    pub fn release(&mut self) {
        self.data = Vec::new();
        self.head = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
