use std::fmt;

/// The name of a client end or a server: a string or an integer.
///
/// Every labrpc call that takes a name takes `impl Into<Name>`, so
/// `net.make_end("end1-99")` and `net.add_server(3, server)` both work.
#[derive(Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub enum Name {
    Int(i64),
    Str(String),
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Name::Int(i) => write!(f, "{i}"),
            Name::Str(s) => write!(f, "{s:?}"),
        }
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Name {
        Name::Str(s.to_string())
    }
}

impl From<String> for Name {
    fn from(s: String) -> Name {
        Name::Str(s)
    }
}

impl From<&String> for Name {
    fn from(s: &String) -> Name {
        Name::Str(s.clone())
    }
}

macro_rules! int_names {
    ($($t:ty),*) => {$(
        impl From<$t> for Name {
            fn from(i: $t) -> Name {
                Name::Int(i64::try_from(i).expect("labrpc: integer name out of range"))
            }
        }
    )*};
}

int_names!(i32, i64, u32, u64, usize);
