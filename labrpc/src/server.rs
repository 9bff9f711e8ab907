//! Servers and services: where a call finds its handler.

use std::any::TypeId;
use std::collections::BTreeMap;
use std::fmt::Debug;

use labrt::sync::atomic::{AtomicU64, Ordering};
use labrt::sync::{Arc, Mutex};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A named set of RPC handlers, e.g. `Raft` with `RequestVote` and
/// `AppendEntries`. Each method is a closure from its arguments to its reply:
///
/// ```
/// use labrpc::Service;
///
/// let svc = Service::new("Echo")
///     .method("Upper", |s: String| s.to_uppercase())
///     .method("Len", |s: String| s.len());
/// # let _ = svc;
/// ```
pub struct Service {
    name: String,
    methods: BTreeMap<String, Method>,
}

/// One or more services, reachable under one name on a [`crate::Network`].
/// Cloning gives another handle on the same server.
#[derive(Clone)]
pub struct Server(Arc<ServerInner>);

struct ServerInner {
    services: Mutex<BTreeMap<String, Arc<Service>>>,
    count: AtomicU64,
}

struct Method {
    args: TypeName,
    reply: TypeName,
    run: Handler,
    /// Renders an encoded reply of this method, for a tap that shows it.
    render_reply: Render,
}

/// Renders encoded bytes in their type's `Debug` form.
pub(crate) type Render = fn(&[u8]) -> String;

/// Decodes the arguments, runs the handler, encodes the reply.
type Handler = Box<dyn Fn(&[u8]) -> Vec<u8> + Send + Sync>;

/// A type as both sides of a call see it: identity to compare, name to report.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TypeName {
    id: TypeId,
    name: &'static str,
}

impl TypeName {
    pub(crate) fn of<T: 'static>() -> TypeName {
        TypeName {
            id: TypeId::of::<T>(),
            name: std::any::type_name::<T>(),
        }
    }
}

/// A call on its way to a handler, its arguments already encoded.
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) args: Vec<u8>,
    pub(crate) args_type: TypeName,
    pub(crate) reply_type: TypeName,
    /// Renders encoded arguments in their `Debug` form, for a tap that
    /// shows calls (a timeline); a pointer, so it costs nothing unused.
    pub(crate) render_args: Render,
}

impl Request {
    pub(crate) fn new<A: DeserializeOwned + Debug + 'static, R: 'static>(
        method: &str,
        args: Vec<u8>,
    ) -> Request {
        Request {
            method: method.to_string(),
            args,
            args_type: TypeName::of::<A>(),
            reply_type: TypeName::of::<R>(),
            render_args: render::<A>,
        }
    }
}

/// `bytes` decoded as an `A`, in `A`'s `Debug` form.
fn render<A: DeserializeOwned + Debug>(bytes: &[u8]) -> String {
    match labgob::decode::<A>(bytes) {
        Ok(value) => format!("{value:?}"),
        Err(e) => format!("<undecodable: {e}>"),
    }
}

/// What a server makes of a request: encoded reply bytes (and how to
/// render them, for a tap), or a fault to raise in the caller (a mistake
/// in the call, or a panicking handler).
pub(crate) type Outcome = Result<(Vec<u8>, Render), String>;

impl Service {
    /// An empty service called `name` (the part before the dot in a call).
    pub fn new(name: impl Into<String>) -> Service {
        let name = name.into();
        assert!(
            !name.is_empty() && !name.contains('.'),
            "labrpc: a service name must be non-empty and contain no '.', got {name:?}"
        );
        Service {
            name,
            methods: BTreeMap::new(),
        }
    }

    /// Adds method `name`: calls to `"<service>.<name>"` decode their
    /// arguments as an `A`, run `handler`, and send back its `R`.
    ///
    /// # Panics
    /// If the service already has a method of that name, or the name
    /// contains a '.'.
    pub fn method<A, R, F>(mut self, name: &str, handler: F) -> Service
    where
        A: DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Debug + 'static,
        F: Fn(A) -> R + Send + Sync + 'static,
    {
        assert!(
            !name.is_empty() && !name.contains('.'),
            "labrpc: a method name must be non-empty and contain no '.', got {name:?}"
        );
        let full = format!("{}.{}", self.name, name);
        let run = move |bytes: &[u8]| {
            // Callers are type-checked before this runs, so the bytes were
            // encoded from an `A`; failing here is a bug in a serde impl.
            let args = labgob::decode::<A>(bytes)
                .unwrap_or_else(|e| panic!("labrpc: {full}: cannot decode the arguments: {e}"));
            labgob::encode(&handler(args))
        };
        let method = Method {
            args: TypeName::of::<A>(),
            reply: TypeName::of::<R>(),
            run: Box::new(run),
            render_reply: render::<R>,
        };
        if self.methods.insert(name.to_string(), method).is_some() {
            panic!(
                "labrpc: service {} has two methods called {name}",
                self.name
            );
        }
        self
    }

    /// The service's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Server {
    /// A server with no services yet.
    pub fn new() -> Server {
        Server(Arc::new(ServerInner {
            services: Mutex::new(BTreeMap::new()),
            count: AtomicU64::new(0),
        }))
    }

    /// Adds `svc`, replacing any service of the same name.
    pub fn add_service(&self, svc: Service) {
        self.0
            .services
            .lock()
            .insert(svc.name.clone(), Arc::new(svc));
    }

    /// How many calls reached this server's handlers.
    pub fn count(&self) -> u64 {
        self.0.count.load(Ordering::Relaxed)
    }

    pub(crate) fn same(&self, other: &Server) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// Runs the handler `req` names. Runs on a network worker thread.
    pub(crate) fn dispatch(&self, req: Request) -> Outcome {
        self.0.count.fetch_add(1, Ordering::Relaxed);
        let (svc_name, method_name) = req.method.rsplit_once('.').ok_or_else(|| {
            format!(
                "labrpc: {:?} is not a method name; call \"Service.Method\", e.g. \"Raft.RequestVote\"",
                req.method
            )
        })?;
        let service = self.service(svc_name).ok_or_else(|| {
            format!(
                "labrpc: unknown service {svc_name:?} in call {:?}; expecting one of {:?}",
                req.method,
                self.0.services.lock().keys().collect::<Vec<_>>()
            )
        })?;
        let method = service.methods.get(method_name).ok_or_else(|| {
            format!(
                "labrpc: unknown method {method_name:?} in call {:?}; {svc_name} has {:?}",
                req.method,
                service.methods.keys().collect::<Vec<_>>()
            )
        })?;
        check_type(&req.method, "arguments", req.args_type, method.args)?;
        check_type(&req.method, "reply", req.reply_type, method.reply)?;
        let render = method.render_reply;
        labrt::thread::catch_panic(|| (method.run)(&req.args))
            .map(|reply| (reply, render))
            .map_err(|msg| format!("labrpc: the handler of {} panicked: {msg}", req.method))
    }

    fn service(&self, name: &str) -> Option<Arc<Service>> {
        self.0.services.lock().get(name).cloned()
    }
}

impl Default for Server {
    fn default() -> Server {
        Server::new()
    }
}

fn check_type(method: &str, what: &str, caller: TypeName, handler: TypeName) -> Result<(), String> {
    if caller.id == handler.id {
        return Ok(());
    }
    Err(format!(
        "labrpc: {method} has {what} of type {}, but the call used {}",
        handler.name, caller.name
    ))
}
