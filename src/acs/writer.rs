//! Group commit: the CWMP writes of concurrent sessions are coalesced into one transaction
//! (one batched UPDATE), and each session is answered only after its own write committed.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::store::{CwmpDevice, DynStore, InformWrite, StoreError};

type Reply = oneshot::Sender<Result<Option<CwmpDevice>, Arc<StoreError>>>;

struct Job {
    write: InformWrite,
    reply: Reply,
}

/// Handle to the writer tasks.
#[derive(Clone)]
pub struct WriteQueue {
    tx: mpsc::Sender<Job>,
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("the database refused the write: {0}")]
    Store(Arc<StoreError>),
    #[error("the writer stopped")]
    Stopped,
}

impl WriteQueue {
    /// Starts `writers` tasks taking up to `max_batch` writes per transaction.
    pub fn start(store: DynStore, writers: usize, max_batch: usize) -> WriteQueue {
        let (tx, rx) = mpsc::channel::<Job>(max_batch * writers.max(1) * 4);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        for _ in 0..writers.max(1) {
            let (store, rx) = (store.clone(), rx.clone());
            tokio::spawn(async move {
                loop {
                    let mut batch = Vec::with_capacity(max_batch);
                    {
                        let mut rx = rx.lock().await;
                        if rx.recv_many(&mut batch, max_batch).await == 0 {
                            return;
                        }
                        // Let the sessions already running reach their write: a few yields grow the
                        // batch (one transaction for more sessions) at no cost when idle.
                        for _ in 0..4 {
                            if batch.len() >= max_batch {
                                break;
                            }
                            tokio::task::yield_now().await;
                            while batch.len() < max_batch {
                                match rx.try_recv() {
                                    Ok(job) => batch.push(job),
                                    Err(_) => break,
                                }
                            }
                        }
                    }
                    commit(&store, batch).await;
                }
            });
        }
        WriteQueue { tx }
    }

    /// Queues a write and waits until it is committed; returns the device's fresh state, or
    /// `None` when nothing was written (device gone, credentials changed).
    pub async fn submit(&self, write: InformWrite) -> Result<Option<CwmpDevice>, WriteError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Job { write, reply })
            .await
            .map_err(|_| WriteError::Stopped)?;
        match rx.await {
            Ok(Ok(dev)) => Ok(dev),
            Ok(Err(e)) => Err(WriteError::Store(e)),
            Err(_) => Err(WriteError::Stopped),
        }
    }
}

async fn commit(store: &DynStore, batch: Vec<Job>) {
    let (writes, replies): (Vec<InformWrite>, Vec<Reply>) =
        batch.into_iter().map(|j| (j.write, j.reply)).unzip();
    match store.apply_cwmp_writes(&writes).await {
        Ok(fresh) => {
            for (reply, dev) in replies.into_iter().zip(fresh) {
                let _ = reply.send(Ok(dev));
            }
        }
        Err(e) if writes.len() > 1 => {
            // One bad write must not fail its neighbours: retry them one by one.
            tracing::warn!(error = %e, batch = writes.len(), "batched CWMP write failed; retrying one by one");
            for (w, reply) in writes.into_iter().zip(replies) {
                let result = store
                    .apply_cwmp_writes(std::slice::from_ref(&w))
                    .await
                    .map(|mut v| v.pop().flatten())
                    .map_err(Arc::new);
                let _ = reply.send(result);
            }
        }
        Err(e) => {
            let e = Arc::new(e);
            for reply in replies {
                let _ = reply.send(Err(e.clone()));
            }
            // A database that is restarting: give it a moment instead of spinning.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
