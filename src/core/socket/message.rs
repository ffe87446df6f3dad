//! Messages framed the way Qt's `QDataStream << QByteArray` frames them, so a qlocal peer and
//! a Qt peer that uses QDataStream (with `startTransaction`, as Qt's fortune example) exchange
//! messages both ways:
//!
//! - a big-endian `quint32` length, then the bytes;
//! - 0xFFFFFFFF alone is a null `QByteArray` (an empty one is a length of 0);
//! - 0xFFFFFFFE is followed by a big-endian 64-bit length (what Qt 6.7 and later write for
//!   arrays of 0xFFFFFFFE bytes or more).
//!
//! A message is read only once it is whole in the read buffer. A length above the socket's
//! maximum message size is never waited for nor allocated: the socket reports
//! `DatagramTooLarge` and the connection closes at once (there is no way to find the next
//! message in the stream after it).

use super::{QT_SOCKET, Socket, SocketEvent, SocketObserver};
use crate::core::error::{Error, Result, SocketState};
use std::rc::Rc;

/// The default maximum message size: 64 MiB.
pub const MAX_MESSAGE_SIZE: usize = 64 * 1024 * 1024;

const NULL_CODE: u32 = 0xFFFF_FFFF;
const EXTENDED_SIZE: u32 = 0xFFFF_FFFE;

/// A complete message at the front of the read buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageInfo {
    /// The message's bytes (0 for a null one).
    pub len: usize,
    /// Qt's null `QByteArray` (0xFFFFFFFF): not the same as an empty one.
    pub null: bool,
}

enum Head {
    /// Not whole yet.
    Incomplete,
    Whole {
        header: usize,
        info: MessageInfo,
    },
    TooLarge(u64),
}

fn head(buf: &[u8], max: usize) -> Head {
    let Some(prefix) = buf.first_chunk::<4>() else {
        return Head::Incomplete;
    };
    let (header, len, null) = match u32::from_be_bytes(*prefix) {
        NULL_CODE => (4, 0, true),
        EXTENDED_SIZE => match buf[4..].first_chunk::<8>() {
            Some(l) => (12, u64::from_be_bytes(*l), false),
            None => return Head::Incomplete,
        },
        n => (4, u64::from(n), false),
    };
    if len > max as u64 {
        return Head::TooLarge(len);
    }
    let len = len as usize;
    if buf.len() - header < len {
        return Head::Incomplete;
    }
    Head::Whole {
        header,
        info: MessageInfo { len, null },
    }
}

impl Socket {
    /// Writes `data` as `QDataStream << QByteArray` does (`None`: a null array), as one piece:
    /// the length and the bytes are queued together or not at all.
    pub fn write_message(&self, data: Option<&[u8]>) -> Result<()> {
        let mut header = [0u8; 12];
        let header: &[u8] = match data {
            None => {
                header[..4].copy_from_slice(&NULL_CODE.to_be_bytes());
                &header[..4]
            }
            Some(d) => match u32::try_from(d.len()) {
                Ok(n) if n < EXTENDED_SIZE => {
                    header[..4].copy_from_slice(&n.to_be_bytes());
                    &header[..4]
                }
                _ => {
                    header[..4].copy_from_slice(&EXTENDED_SIZE.to_be_bytes());
                    header[4..].copy_from_slice(&(d.len() as u64).to_be_bytes());
                    &header[..]
                }
            },
        };
        self.write_parts(&[header, data.unwrap_or_default()], Vec::new())
    }

    /// The complete message at the front of the read buffer, if there is one. A length above
    /// the maximum message size fails the connection (`MessageTooLarge`).
    pub fn next_message(&self) -> Result<Option<MessageInfo>> {
        self.fill();
        let found = {
            let io = self.io.borrow();
            head(io.rbuf.as_slice(), io.cold().max_message_size)
        };
        match found {
            Head::Incomplete => Ok(None),
            Head::Whole { info, .. } => Ok(Some(info)),
            Head::TooLarge(size) => Err(self.message_too_large(size)),
        }
    }

    /// True when a complete message is buffered (see `next_message`).
    pub fn has_message(&self) -> Result<bool> {
        Ok(self.next_message()?.is_some())
    }

    /// Takes the complete message at the front into `out` (`None`, reading nothing, when no
    /// message is complete). `out` shorter than the message: `InvalidArgument`, nothing read.
    pub fn read_message(&self, out: &mut [u8]) -> Result<Option<MessageInfo>> {
        self.touch();
        self.fill();
        let found = {
            let mut io = self.io.borrow_mut();
            let max = io.cold().max_message_size;
            match head(io.rbuf.as_slice(), max) {
                Head::Whole { header, info } => {
                    if out.len() < info.len {
                        return Err(Error::InvalidArgument(
                            "the buffer is smaller than the message",
                        ));
                    }
                    io.rbuf.consume(header);
                    io.rbuf.read(&mut out[..info.len]);
                    Head::Whole { header, info }
                }
                other => other,
            }
        };
        match found {
            Head::Incomplete => Ok(None),
            Head::Whole { info, .. } => {
                self.after_consume();
                Ok(Some(info))
            }
            Head::TooLarge(size) => Err(self.message_too_large(size)),
        }
    }

    /// Messages above this size fail the connection (default `MAX_MESSAGE_SIZE`).
    pub fn set_max_message_size(&self, n: usize) {
        self.io.borrow_mut().cold_mut().max_message_size = n;
    }

    pub fn max_message_size(&self) -> usize {
        self.io.borrow().cold().max_message_size
    }

    /// The observer wants a `Message` event for each complete message (after `ReadyRead`).
    pub fn set_message_events(&self, on: bool) {
        self.message_events.set(on);
    }

    /// After a ReadyRead callback: one `Message` event per complete message, while each one
    /// takes something out of the buffer (one that leaves it as it was ends the series until
    /// new bytes arrive, as a readyRead that reads nothing).
    pub(super) fn deliver_messages(&self, me: &Rc<Socket>, o: &dyn SocketObserver) {
        loop {
            if self.destroyed.get() || !self.message_events.get() {
                return;
            }
            match self.next_message() {
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => return,
            }
            let before = self.bytes_available();
            o.notify(me, SocketEvent::Message);
            self.touch();
            if self.bytes_available() == before {
                return;
            }
        }
    }

    /// A peer announced a message above the maximum: the error, then the connection closes
    /// at once with what is buffered dropped (the stream cannot be resynchronised).
    fn message_too_large(&self, size: u64) -> Error {
        let e = Error::MessageTooLarge {
            size,
            max: self.io.borrow().cold().max_message_size,
        };
        self.set_error(&e, QT_SOCKET);
        self.push_call(SocketEvent::Error(e.socket_error()));
        self.io.borrow_mut().release_input();
        let state = self.io.borrow().now.state;
        if matches!(state, SocketState::Connected | SocketState::Closing) {
            self.abort_connection();
        }
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(buf: &[u8]) -> Option<(usize, MessageInfo)> {
        match head(buf, MAX_MESSAGE_SIZE) {
            Head::Whole { header, info } => Some((header, info)),
            _ => None,
        }
    }

    #[test]
    fn heads_follow_qdatastream() {
        assert!(whole(&[0, 0, 0]).is_none());
        let empty = MessageInfo {
            len: 0,
            null: false,
        };
        assert_eq!(whole(&[0, 0, 0, 0]), Some((4, empty)));
        let null = MessageInfo { len: 0, null: true };
        assert_eq!(whole(&[0xff; 4]), Some((4, null)));
        assert!(whole(&[0, 0, 0, 2, b'a']).is_none());
        let two = MessageInfo {
            len: 2,
            null: false,
        };
        assert_eq!(whole(&[0, 0, 0, 2, b'a', b'b', b'c']), Some((4, two)));
        // Qt 6.7's extended size: 0xFFFFFFFE, then 64 bits.
        let mut ext = vec![0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 0, 0, 0, 0];
        assert!(whole(&ext).is_none());
        ext.push(1);
        assert!(whole(&ext).is_none());
        ext.push(b'x');
        let one = MessageInfo {
            len: 1,
            null: false,
        };
        assert_eq!(whole(&ext), Some((12, one)));
    }

    #[test]
    fn a_length_above_the_maximum_is_not_waited_for() {
        assert!(matches!(head(&[0, 0, 1, 0], 255), Head::TooLarge(256)));
        assert!(matches!(head(&[0, 0, 0, 255], 255), Head::Incomplete));
        let ext = [0xff, 0xff, 0xff, 0xfe, 0xff, 0, 0, 0, 0, 0, 0, 0];
        assert!(matches!(
            head(&ext, 1 << 40),
            Head::TooLarge(0xff00_0000_0000_0000)
        ));
    }
}
