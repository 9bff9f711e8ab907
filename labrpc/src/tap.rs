//! Taps: a test's view of every call, and its say in each call's fate.
//!
//! Not in Go. MIT's labrpc loses, delays and reorders messages at random,
//! which finds most mistakes but rarely the ones that need one message at
//! one precise moment: a vote request that reaches a peer just after it
//! restarted, a reply that arrives after its sender moved to a newer term,
//! a request delivered twice. A [`Tap`] set on a network with
//! [`crate::Network::tap`] is asked about every request before it is routed
//! and every reply before it returns, and answers with a [`Fate`]: deliver
//! it, drop it, deliver it and a late duplicate, or hold it until the test
//! says. The hardening tests build their scenarios on it; the random
//! network of the MIT tests never uses one.

use labrt::channel::{Receiver, Sender, bounded};
use labrt::sync::Arc;
use labrt::time::Duration;

use crate::name::Name;
use crate::server::{Render, Request, TypeName};

/// One call, as a tap sees it.
#[derive(Clone, Debug)]
pub struct Call {
    /// Numbers the calls of a network in the order they were made.
    pub id: u64,
    /// The end it was sent through.
    pub end: Name,
    /// `"Service.Method"`.
    pub method: String,
    /// The encoded arguments, for [`crate::Network::replay`].
    pub args: Arc<Vec<u8>>,
    /// The caller's argument and reply types, which a replay must present.
    types: (TypeName, TypeName),
    render_args: Render,
    /// The handler's encoded reply, once it answered (as [`Tap::reply`]
    /// and [`Tap::returned`] see the call).
    reply: Option<(Arc<Vec<u8>>, Render)>,
}

impl Call {
    pub(crate) fn new(id: u64, end: &Name, req: &Request) -> Call {
        Call {
            id,
            end: end.clone(),
            method: req.method.clone(),
            args: Arc::new(req.args.clone()),
            types: (req.args_type, req.reply_type),
            render_args: req.render_args,
            reply: None,
        }
    }

    /// This call, answered with `reply`.
    pub(crate) fn answered(&self, reply: &[u8], render: Render) -> Call {
        Call {
            reply: Some((Arc::new(reply.to_vec()), render)),
            ..self.clone()
        }
    }

    /// The handler's reply in its `Debug` form (decoded anew at each call),
    /// once it answered: in [`Tap::reply`] and [`Tap::returned`].
    pub fn reply_debug(&self) -> Option<String> {
        self.reply.as_ref().map(|(bytes, render)| render(bytes))
    }

    /// The arguments in their `Debug` form (decoded anew at each call).
    pub fn args_debug(&self) -> String {
        (self.render_args)(&self.args)
    }

    pub(crate) fn request(&self) -> Request {
        Request {
            method: self.method.clone(),
            args: self.args.to_vec(),
            args_type: self.types.0,
            reply_type: self.types.1,
            render_args: self.render_args,
        }
    }
}

/// What becomes of a request or a reply.
#[derive(Debug)]
pub enum Fate {
    /// On its way, as the network would treat it anyway.
    Deliver,
    /// Lost: the call returns `None`.
    Drop,
    /// Delivered now, and (requests only) a copy again after the delay,
    /// whose reply goes nowhere: a duplicate a real network can make.
    Duplicate(Duration),
    /// Waits, the caller with it, until the [`Gate`]'s [`Opener`] says.
    Hold(Gate),
}

/// The waiting side of a held message; see [`gate`].
#[derive(Debug)]
pub struct Gate(Receiver<bool>);

/// The deciding side of a held message. Dropping it unused drops the
/// message.
#[derive(Debug)]
pub struct Opener(Sender<bool>);

/// A gate and its opener.
pub fn gate() -> (Gate, Opener) {
    let (tx, rx) = bounded(1);
    (Gate(rx), Opener(tx))
}

impl Opener {
    /// Lets the message go on.
    pub fn deliver(self) {
        let _ = self.0.send(true);
    }

    /// Loses the message.
    pub fn drop_it(self) {
        let _ = self.0.send(false);
    }
}

impl Gate {
    /// Waits for the opener; true means deliver.
    pub(crate) fn wait(self) -> bool {
        self.0.recv().unwrap_or(false)
    }
}

/// Decides the fate of each request and reply of a network, and hears how
/// each call ended. Runs on the
/// caller's thread, with no lock of the network held.
pub trait Tap: Send + Sync {
    /// A request is about to leave through `call.end`.
    fn request(&self, call: &Call) -> Fate;
    /// The handler of `call` answered and its reply is about to return
    /// (before the network's own losses and delays).
    fn reply(&self, call: &Call) -> Fate;
    /// `call` is over: its reply reached the caller (`delivered`), or not
    /// (lost or delayed past a crash, by the tap or by the network, or no
    /// handler answered). Called once per call the tap saw a request of;
    /// `call` has the reply if the handler answered. Does nothing unless
    /// the tap wants to know.
    fn returned(&self, call: &Call, delivered: bool) {
        let _ = (call, delivered);
    }
}
