//! What labgob checks while it decodes, between a type's `Deserialize` and
//! postcard.
//!
//! postcard trusts the bytes. A sequence's length prefix says how many
//! elements follow, and an element of a zero-sized type (`()`) takes no
//! bytes, so a `Vec<()>` whose prefix says 2^64 loops for ever. A recursive
//! type nests as deep as the bytes say, a few stack frames a level, until
//! the stack overflows and the process aborts. And postcard drops the
//! message of every error that serde makes (an enum's variant index out of
//! range, a wrong length) for "Serde Deserialization Error".
//!
//! [`Checked`] wraps the deserializer, and everything it hands to the type's
//! `Deserialize` (visitors, the accesses to sequences, maps and enums, the
//! seeds of their elements): so it sees every level and every element, keeps
//! the first error's own message, and notes the structs and enums that an
//! error passed through.

use std::cell::{Cell, RefCell};
use std::fmt::{self, Display};

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
};

use crate::ErrorKind;

/// How deep a value may nest, counted in the `deserialize_*` calls of its
/// `Deserialize`: one for each struct, enum, option, tuple, sequence and
/// map on the way down (a list of `Option<Box<Node>>` takes two a node). A lab type nests about 6 deep (an `AppendEntries` holds entries,
/// which hold a command, which holds fields). A level takes about 250 bytes
/// of stack for a small enum, so the limit costs tens of KiB where a
/// simulated thread has 1 MiB.
pub const MAX_DEPTH: usize = 128;

/// How many elements of sequences and maps a decode may meet beyond one per
/// byte of its input. Every element that takes bytes starts at a byte of
/// its own (one of a nested sequence comes after that sequence's length
/// prefix), so only elements that take none (`()`, a struct with no fields)
/// can outnumber the bytes: this many of them are allowed.
pub const MAX_EMPTY_ELEMENTS: usize = 1 << 16;

thread_local! {
    /// The first error of ours in the decode under way on this thread (a
    /// limit, or serde's own message), which postcard's error type has no
    /// room for. Thread-local because `de::Error::custom`, where serde's
    /// messages arrive, is given nothing else to reach. The threads of a
    /// simulated world share an OS thread, but a decode makes no labrt call,
    /// so none of them runs in the middle of another's.
    static NOTED: RefCell<Option<ErrorKind>> = const { RefCell::new(None) };
}

/// Notes `kind`, unless an error was noted first: the first is the cause,
/// the others what it caused.
fn note(kind: ErrorKind) {
    NOTED.with_borrow_mut(|noted| {
        noted.get_or_insert(kind);
    });
}

/// The state of one decode, shared by all the wrappers.
pub(crate) struct Limits {
    depth: Cell<usize>,
    elements_left: Cell<usize>,
    /// The structs and enums the error passed through, innermost first.
    within: RefCell<Vec<String>>,
    /// What was noted when this decode began (a decode inside a type's
    /// `Deserialize` comes back to it).
    outer: Option<ErrorKind>,
}

impl Limits {
    /// The limits of decoding `len` bytes.
    pub(crate) fn new(len: usize) -> Limits {
        Limits {
            depth: Cell::new(0),
            elements_left: Cell::new(len.saturating_add(MAX_EMPTY_ELEMENTS)),
            within: RefCell::new(Vec::new()),
            outer: NOTED.take(),
        }
    }

    /// Ends the decode that gave `result`: on failure, says why, and in
    /// which structs and enums.
    pub(crate) fn end<T>(
        self,
        result: Result<T, Fail<postcard::Error>>,
    ) -> Result<T, (ErrorKind, Vec<String>)> {
        let noted = NOTED.replace(self.outer);
        let kind = match (result, noted) {
            (Ok(value), _) => return Ok(value),
            (Err(_), Some(kind)) => kind,
            (Err(Fail::Inner(postcard::Error::DeserializeUnexpectedEnd)), None) => {
                ErrorKind::InputEndedEarly
            }
            (Err(Fail::Inner(e)), None) => ErrorKind::Invalid(e.to_string()),
            (Err(Fail::Noted), None) => unreachable!("labgob: an error was noted, then lost"),
        };
        Err((kind, self.within.into_inner()))
    }

    /// One level deeper, until the [`Level`] is dropped.
    fn enter(&self) -> Result<Level<'_>, ErrorKind> {
        if self.depth.get() >= MAX_DEPTH {
            return Err(ErrorKind::NestedTooDeep { limit: MAX_DEPTH });
        }
        self.depth.set(self.depth.get() + 1);
        Ok(Level(self))
    }

    /// Counts one more element of a sequence or a map.
    fn count_element(&self) -> Result<(), ErrorKind> {
        let left = self.elements_left.get();
        if left == 0 {
            return Err(ErrorKind::TooManyElements {
                empty_allowed: MAX_EMPTY_ELEMENTS,
            });
        }
        self.elements_left.set(left - 1);
        Ok(())
    }

    /// Notes that the error passed through the struct or enum `name`. A
    /// recursive type is named once, not once a level, and only the
    /// innermost few are kept: they are what the reader can act on.
    fn note_within(&self, what: &str, name: &str) {
        const KEPT: usize = 6;
        let mut within = self.within.borrow_mut();
        let noted = format!("{what} {name}");
        if within.len() < KEPT && within.last() != Some(&noted) {
            within.push(noted);
        }
    }
}

/// Hands `fail` to the deserializer below, whose error type is `E`.
fn pass<E: de::Error>(fail: Fail<E>) -> E {
    match fail {
        Fail::Inner(e) => e,
        Fail::Noted => E::custom("labgob: see the error noted"),
    }
}

/// A level of nesting, left when dropped.
struct Level<'a>(&'a Limits);

impl Drop for Level<'_> {
    fn drop(&mut self) {
        self.0.depth.set(self.0.depth.get() - 1);
    }
}

/// An error inside the wrappers: the deserializer's below, or one of ours,
/// [noted](note) aside rather than carried, so that it stays as small as
/// the one below (every decoded value moves through each wrapper's
/// `Result`).
#[derive(Debug)]
pub(crate) enum Fail<E> {
    Inner(E),
    Noted,
}

impl<E> Fail<E> {
    fn ours(kind: ErrorKind) -> Self {
        note(kind);
        Fail::Noted
    }
}

impl<E: de::Error> de::Error for Fail<E> {
    /// Where serde's messages arrive ("invalid value: integer `7`, expected
    /// variant index 0 <= i < 3"); this keeps them.
    fn custom<T: Display>(message: T) -> Self {
        Fail::ours(ErrorKind::Invalid(message.to_string()))
    }
}

impl<E: Display> Display for Fail<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fail::Inner(e) => e.fmt(f),
            Fail::Noted => NOTED.with_borrow(|noted| write!(f, "{noted:?}")),
        }
    }
}

impl<E: de::Error> std::error::Error for Fail<E> {}

/// A deserializer that checks the one below it.
pub(crate) struct Checked<'a, D> {
    inner: D,
    limits: &'a Limits,
}

impl<'a, D> Checked<'a, D> {
    pub(crate) fn new(inner: D, limits: &'a Limits) -> Self {
        Checked { inner, limits }
    }
}

/// What a `deserialize_*` call is, for the checks.
#[derive(Clone, Copy)]
enum Call {
    /// A primitive, which holds no other value: no level.
    Leaf,
    /// A tuple, an option: one level.
    Plain,
    /// A sequence or a map with a length prefix: its elements are counted.
    Counted,
    /// A struct or an enum, named in an error that passes through it.
    Named(&'static str, &'static str),
}

impl<'a, 'de, D: Deserializer<'de>> Checked<'a, D> {
    /// Runs one `deserialize_*` call of the deserializer below, one level
    /// deeper, with the visitor wrapped.
    fn call<V, F>(self, call: Call, visitor: V, f: F) -> Result<V::Value, Fail<D::Error>>
    where
        V: Visitor<'de>,
        F: FnOnce(D, Wrap<'a, V>) -> Result<V::Value, D::Error>,
    {
        let limits = self.limits;
        let _level = match call {
            Call::Leaf => None,
            _ => Some(limits.enter().map_err(Fail::ours)?),
        };
        let counted = matches!(call, Call::Counted);
        let wrap = Wrap {
            visitor,
            limits,
            counted,
        };
        let result = f(self.inner, wrap).map_err(Fail::Inner);
        if let (Err(_), Call::Named(what, name)) = (&result, call) {
            limits.note_within(what, name);
        }
        result
    }
}

macro_rules! checked_calls {
    ($($method:ident($($arg:ident: $ty:ty),*) => $call:expr;)*) => {$(
        fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, Self::Error> {
            self.call($call, visitor, |inner, visitor| inner.$method($($arg,)* visitor))
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Checked<'_, D> {
    type Error = Fail<D::Error>;

    checked_calls! {
        deserialize_any() => Call::Plain;
        deserialize_bool() => Call::Leaf;
        deserialize_i8() => Call::Leaf;
        deserialize_i16() => Call::Leaf;
        deserialize_i32() => Call::Leaf;
        deserialize_i64() => Call::Leaf;
        deserialize_i128() => Call::Leaf;
        deserialize_u8() => Call::Leaf;
        deserialize_u16() => Call::Leaf;
        deserialize_u32() => Call::Leaf;
        deserialize_u64() => Call::Leaf;
        deserialize_u128() => Call::Leaf;
        deserialize_f32() => Call::Leaf;
        deserialize_f64() => Call::Leaf;
        deserialize_char() => Call::Leaf;
        deserialize_str() => Call::Leaf;
        deserialize_string() => Call::Leaf;
        deserialize_bytes() => Call::Leaf;
        deserialize_byte_buf() => Call::Leaf;
        deserialize_option() => Call::Plain;
        deserialize_unit() => Call::Leaf;
        deserialize_unit_struct(name: &'static str) => Call::Named("struct", name);
        deserialize_newtype_struct(name: &'static str) => Call::Named("struct", name);
        deserialize_seq() => Call::Counted;
        deserialize_tuple(len: usize) => Call::Plain;
        deserialize_tuple_struct(name: &'static str, len: usize) => Call::Named("struct", name);
        deserialize_map() => Call::Counted;
        deserialize_struct(name: &'static str, fields: &'static [&'static str]) =>
            Call::Named("struct", name);
        deserialize_enum(name: &'static str, variants: &'static [&'static str]) =>
            Call::Named("enum", name);
        deserialize_identifier() => Call::Leaf;
        deserialize_ignored_any() => Call::Leaf;
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

/// A visitor whose errors keep their message, and whose nested values and
/// elements are checked.
struct Wrap<'a, V> {
    visitor: V,
    limits: &'a Limits,
    /// Whether the elements it visits are counted (a sequence's or a map's,
    /// not a tuple's or a struct's: those are as many as the type says).
    counted: bool,
}

macro_rules! wrapped_visits {
    ($($method:ident($($value:ident: $ty:ty)?);)*) => {$(
        fn $method<E: de::Error>(self, $($value: $ty)?) -> Result<V::Value, E> {
            self.visitor.$method::<Fail<E>>($($value)?).map_err(pass)
        }
    )*};
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.visitor.expecting(f)
    }

    wrapped_visits! {
        visit_bool(v: bool);
        visit_i8(v: i8);
        visit_i16(v: i16);
        visit_i32(v: i32);
        visit_i64(v: i64);
        visit_i128(v: i128);
        visit_u8(v: u8);
        visit_u16(v: u16);
        visit_u32(v: u32);
        visit_u64(v: u64);
        visit_u128(v: u128);
        visit_f32(v: f32);
        visit_f64(v: f64);
        visit_char(v: char);
        visit_str(v: &str);
        visit_borrowed_str(v: &'de str);
        visit_string(v: String);
        visit_bytes(v: &[u8]);
        visit_borrowed_bytes(v: &'de [u8]);
        visit_byte_buf(v: Vec<u8>);
        visit_none();
        visit_unit();
    }

    fn visit_some<D: Deserializer<'de>>(self, inner: D) -> Result<V::Value, D::Error> {
        let limits = self.limits;
        let inner = Checked { inner, limits };
        self.visitor.visit_some(inner).map_err(pass)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, inner: D) -> Result<V::Value, D::Error> {
        let limits = self.limits;
        let inner = Checked { inner, limits };
        self.visitor.visit_newtype_struct(inner).map_err(pass)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, access: A) -> Result<V::Value, A::Error> {
        let (limits, counted) = (self.limits, self.counted);
        let access = Access {
            access,
            limits,
            counted,
        };
        self.visitor.visit_seq(access).map_err(pass)
    }

    fn visit_map<A: MapAccess<'de>>(self, access: A) -> Result<V::Value, A::Error> {
        let (limits, counted) = (self.limits, self.counted);
        let access = Access {
            access,
            limits,
            counted,
        };
        self.visitor.visit_map(access).map_err(pass)
    }

    fn visit_enum<A: EnumAccess<'de>>(self, access: A) -> Result<V::Value, A::Error> {
        let limits = self.limits;
        let access = Access {
            access,
            limits,
            counted: false,
        };
        self.visitor.visit_enum(access).map_err(pass)
    }
}

/// A sequence's, map's, enum's or variant's access, whose elements are
/// decoded through [`Checked`].
struct Access<'a, A> {
    access: A,
    limits: &'a Limits,
    counted: bool,
}

impl<'a, A> Access<'a, A> {
    fn seed<S>(&self, seed: S) -> Seed<'a, S> {
        Seed {
            seed,
            limits: self.limits,
        }
    }

    /// Counts `element` if it is one, in a counted sequence or map.
    fn count<T, E>(&self, element: Option<T>) -> Result<Option<T>, Fail<E>> {
        if element.is_some() && self.counted {
            self.limits.count_element().map_err(Fail::ours)?;
        }
        Ok(element)
    }

    fn wrap<V>(&self, visitor: V) -> Wrap<'a, V> {
        Wrap {
            visitor,
            limits: self.limits,
            counted: false,
        }
    }
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Access<'_, A> {
    type Error = Fail<A::Error>;

    fn next_element_seed<T>(&mut self, seed: T) -> Result<Option<T::Value>, Self::Error>
    where
        T: DeserializeSeed<'de>,
    {
        let element = self.access.next_element_seed(self.seed(seed));
        self.count(element.map_err(Fail::Inner)?)
    }

    fn size_hint(&self) -> Option<usize> {
        self.access.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Access<'_, A> {
    type Error = Fail<A::Error>;

    fn next_key_seed<K>(&mut self, seed: K) -> Result<Option<K::Value>, Self::Error>
    where
        K: DeserializeSeed<'de>,
    {
        let key = self.access.next_key_seed(self.seed(seed));
        self.count(key.map_err(Fail::Inner)?)
    }

    fn next_value_seed<T>(&mut self, seed: T) -> Result<T::Value, Self::Error>
    where
        T: DeserializeSeed<'de>,
    {
        self.access
            .next_value_seed(self.seed(seed))
            .map_err(Fail::Inner)
    }

    fn size_hint(&self) -> Option<usize> {
        self.access.size_hint()
    }
}

impl<'a, 'de, A: EnumAccess<'de>> EnumAccess<'de> for Access<'a, A> {
    type Error = Fail<A::Error>;
    type Variant = Access<'a, A::Variant>;

    fn variant_seed<T>(self, seed: T) -> Result<(T::Value, Self::Variant), Self::Error>
    where
        T: DeserializeSeed<'de>,
    {
        let (seed, limits) = (self.seed(seed), self.limits);
        let (value, access) = self.access.variant_seed(seed).map_err(Fail::Inner)?;
        Ok((
            value,
            Access {
                access,
                limits,
                counted: false,
            },
        ))
    }
}

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Access<'_, A> {
    type Error = Fail<A::Error>;

    fn unit_variant(self) -> Result<(), Self::Error> {
        self.access.unit_variant().map_err(Fail::Inner)
    }

    fn newtype_variant_seed<T>(self, seed: T) -> Result<T::Value, Self::Error>
    where
        T: DeserializeSeed<'de>,
    {
        let seed = self.seed(seed);
        self.access.newtype_variant_seed(seed).map_err(Fail::Inner)
    }

    fn tuple_variant<V>(self, len: usize, visitor: V) -> Result<V::Value, Self::Error>
    where
        V: Visitor<'de>,
    {
        let visitor = self.wrap(visitor);
        self.access.tuple_variant(len, visitor).map_err(Fail::Inner)
    }

    fn struct_variant<V>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error>
    where
        V: Visitor<'de>,
    {
        let visitor = self.wrap(visitor);
        self.access
            .struct_variant(fields, visitor)
            .map_err(Fail::Inner)
    }
}

/// The seed of an element, a key, a value or a variant, decoded through
/// [`Checked`].
struct Seed<'a, S> {
    seed: S,
    limits: &'a Limits,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<'_, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, inner: D) -> Result<S::Value, D::Error> {
        let limits = self.limits;
        let inner = Checked { inner, limits };
        self.seed.deserialize(inner).map_err(pass)
    }
}
