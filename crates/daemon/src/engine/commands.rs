//! Operator requests from the control socket: answered at once, or once
//! the SA they wait for is up or gone.

use super::*;

/// An operator request that is answered later (once the SA is up or gone).
pub(super) struct Waiter {
    pub(super) conn: ConnId,
    pub(super) kind: WaitFor,
    pub(super) reply: oneshot::Sender<Response>,
    pub(super) deadline: Instant,
}

#[derive(PartialEq, Eq)]
pub(super) enum WaitFor {
    ChildUp,
    AllDown,
}

impl Engine {
    pub(super) fn answer(
        &mut self,
        conn: ConnId,
        kind: WaitFor,
        make: impl Fn(&Waiter) -> Response,
    ) {
        let mut keep = Vec::new();
        for w in self.waiters.drain(..) {
            if w.conn == conn && w.kind == kind {
                let r = make(&w);
                let _ = w.reply.send(r);
            } else {
                keep.push(w);
            }
        }
        self.waiters = keep;
    }

    pub(super) fn expire_waiters(&mut self, now: Instant) {
        let (done, keep): (Vec<_>, Vec<_>) =
            self.waiters.drain(..).partition(|w| w.deadline <= now);
        self.waiters = keep;
        for w in done {
            let r = match w.kind {
                // Down already: only the peer's acknowledgement is missing.
                WaitFor::AllDown => Response::Done {
                    message: format!(
                        "connection `{}` is down (the peer has not acknowledged the Delete)",
                        self.conn_name(w.conn)
                    ),
                },
                WaitFor::ChildUp => Response::Error {
                    error: "timed out waiting for the peer".into(),
                },
            };
            let _ = w.reply.send(r);
        }
    }

    pub(super) fn conn_id(&self, name: &str) -> Option<ConnId> {
        self.conns
            .iter()
            .position(|c| c.name == name && !c.retired)
            .map(ConnId)
    }

    /// Answers a control request now, or registers it to be answered when
    /// the SAs it waits for are up or gone.
    pub async fn handle(&mut self, request: Request, reply: oneshot::Sender<Response>) {
        let now = Instant::now();
        let response = match request {
            Request::Status => Response::Status(self.status()),
            Request::ListSas => Response::Sas {
                ike_sas: sas_view::list(self, now),
            },
            Request::Up { name } => match self.conn_id(&name) {
                None => Response::Error {
                    error: format!("no connection named `{name}`"),
                },
                Some(conn) => {
                    if self.ike.child_sas().any(|c| c.conn == conn) {
                        Response::Done {
                            message: format!("connection `{name}` is already up"),
                        }
                    } else {
                        // Whatever state it is in (an attempt retransmitting
                        // to a dead peer, waiting out a back-off, an IKE SA
                        // without CHILD SA): start over, now.
                        self.ike.handle_command(now, Command::Close { conn });
                        self.ike.handle_command(now, Command::Initiate { conn });
                        self.waiters.push(Waiter {
                            conn,
                            kind: WaitFor::ChildUp,
                            reply,
                            deadline: now + translate::UP_TIMEOUT,
                        });
                        self.flush().await;
                        return;
                    }
                }
            },
            Request::Down { name } => match self.conn_id(&name) {
                None => Response::Error {
                    error: format!("no connection named `{name}`"),
                },
                Some(conn) => {
                    let had = self.ike.ike_sas().iter().any(|s| s.conn == conn);
                    // Stops retries too, SAs or not. The CHILD SAs go at
                    // once; the Delete to the peer goes on in the
                    // background, answered or not.
                    self.ike.handle_command(now, Command::Close { conn });
                    self.flush().await;
                    self.answer(conn, WaitFor::ChildUp, |_| Response::Error {
                        error: format!("connection `{name}` was taken down"),
                    });
                    if !had {
                        Response::Done {
                            message: format!("connection `{name}` is not up"),
                        }
                    } else if !self.ike.ike_sas().iter().any(|s| s.conn == conn) {
                        Response::Done {
                            message: format!("connection `{name}` is down"),
                        }
                    } else {
                        // A live peer acknowledges within a round trip;
                        // a dead one must not hold the operator up.
                        self.waiters.push(Waiter {
                            conn,
                            kind: WaitFor::AllDown,
                            reply,
                            deadline: now + DOWN_WAIT,
                        });
                        return;
                    }
                }
            },
            Request::Reload => match self.reload().await {
                Ok(r) => Response::Reloaded(r),
                Err(e) => Response::Error { error: e },
            },
            Request::Logs { .. } => Response::Error {
                error: "logs are served by the control socket".into(),
            },
        };
        let _ = reply.send(response);
    }
}
