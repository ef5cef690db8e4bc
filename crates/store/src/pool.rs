//! A small pool of read connections, used from tokio's blocking threads.

use crate::error::StoreError;
use crate::sql::Conn;
use crate::writer::Connect;
use std::sync::Mutex;

pub(crate) struct Pool {
    idle: Mutex<Vec<Box<dyn Conn>>>,
    connect: Connect,
    pub permits: tokio::sync::Semaphore,
}

impl Pool {
    pub fn new(connect: Connect, size: usize) -> Pool {
        Pool {
            idle: Mutex::new(Vec::new()),
            connect,
            permits: tokio::sync::Semaphore::new(size),
        }
    }

    pub fn take(&self) -> Result<Box<dyn Conn>, StoreError> {
        let idle = self.idle.lock().ok().and_then(|mut v| v.pop());
        match idle {
            Some(c) => Ok(c),
            None => (self.connect)(),
        }
    }

    pub fn give_back(&self, conn: Box<dyn Conn>) {
        if let Ok(mut v) = self.idle.lock() {
            v.push(conn);
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        let idle = self.idle.get_mut().map(std::mem::take).unwrap_or_default();
        crate::store::off_runtime(move || drop(idle));
    }
}
