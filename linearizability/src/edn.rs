//! Reading recorded histories, one event per line, in real-time order
//! (time is the line number), in two line formats:
//!
//! * EDN maps, as in Jepsen's `history.edn` and porcupine's key/value test
//!   data: `{:process 0, :type :invoke, :f :append, :key "0", :value "x 0 0 y"}`;
//!   other fields (Jepsen's `:time`, `:index`) are ignored, commas are
//!   whitespace.
//! * Jepsen's log lines, as in porcupine's etcd test data:
//!   `INFO  jepsen.util - 3 :invoke :cas [1 4]` (tab-separated); lines
//!   without `jepsen.util - ` are skipped.
//!
//! `:type` is `:invoke`, then one of `:ok` (completed), `:fail` (certainly
//! did not happen: the operation is left out) or `:info` (outcome unknown:
//! the operation has no reply, see [`Operation`]); an invoke still open at
//! the end of the file has no reply either. A process runs one operation at
//! a time, so a completion completes its process's last invoke, which must
//! have the same `:f` and key. Events of a process that is not a number
//! (Jepsen's `:nemesis`) are skipped; blank lines too.
//!
//! Key/value histories ([`parse_kv_history`]): `:f` is `:get`, `:put` or
//! `:append` with a string `:key`; a get's invoke carries `:value nil` and
//! its `:ok` the value read (`nil` reads as "", a missing key).
//!
//! Register histories ([`parse_register_history`]): `:f` is `:read`,
//! `:write` (`:value 3`) or `:cas` (`:value [from to]`), values integers or
//! `nil` (never written); a read's `:ok` carries the value read. A history
//! of several registers names each by a `:key` field, or as Jepsen's
//! independent checker does, by a `[key value]` tuple in `:value`.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Write};
use std::path::Path;

use crate::kv::{KvInput, KvOp, KvOperation, KvOutput, share_reads};
use crate::model::Operation;
use crate::register::{RegisterInput, RegisterOp, RegisterOperation};

/// A history file that cannot be read, with the file and line to blame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadError {
    pub file: String,
    /// The line (from 1), if the problem is on one.
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for ReadError {}

/// Reads the key/value history in the file at `path`.
pub fn read_kv_history(path: impl AsRef<Path>) -> Result<Vec<KvOperation>, ReadError> {
    read(path.as_ref(), parse_kv_history)
}

/// Reads the register history in the file at `path`.
pub fn read_register_history(path: impl AsRef<Path>) -> Result<Vec<RegisterOperation>, ReadError> {
    read(path.as_ref(), parse_register_history)
}

fn read<T>(path: &Path, parse: fn(&str, &str) -> Result<T, ReadError>) -> Result<T, ReadError> {
    let text = std::fs::read_to_string(path).map_err(|e| ReadError {
        file: path.display().to_string(),
        line: None,
        message: format!("cannot read the file: {e}"),
    })?;
    parse(&text, &path.display().to_string())
}

/// Parses a key/value history; `file` names it in errors.
///
/// ```
/// let text = r#"
/// {:process 0, :type :invoke, :f :put, :key "k", :value "a"}
/// {:process 1, :type :invoke, :f :get, :key "k", :value nil}
/// {:process 0, :type :ok, :f :put, :key "k", :value "a"}
/// {:process 1, :type :ok, :f :get, :key "k", :value "a"}
/// {:process 2, :type :invoke, :f :append, :key "k", :value "b"}
/// {:process 2, :type :info, :f :append, :key "k", :value "b"}
/// "#;
/// let ops = linearizability::parse_kv_history(text, "example").unwrap();
/// assert_eq!(ops.len(), 3);
/// assert_eq!((ops[1].call, ops[1].ret), (3, 5));
/// assert_eq!(ops[1].output.as_ref().unwrap().value, "a");
/// assert_eq!(ops[2].output, None); // :info: no reply
///
/// let bad = "{:process 0, :type :ok, :f :get, :key \"k\" :value \"a\"}";
/// let err = linearizability::parse_kv_history(bad, "bad.txt").unwrap_err();
/// assert_eq!(err.to_string(), "bad.txt:1: process 0 returns, but has no operation in progress");
/// ```
pub fn parse_kv_history(text: &str, file: &str) -> Result<Vec<KvOperation>, ReadError> {
    let input = |e: &Event| -> Result<KvInput, String> {
        let op = match e.f.as_str() {
            "get" => KvOp::Get,
            "put" => KvOp::Put,
            "append" => KvOp::Append,
            other => return Err(format!(":f must be :get, :put or :append, not :{other}")),
        };
        let key = match &e.key {
            Some(Value::Str(s)) => s.clone(),
            Some(other) => return Err(format!(":key must be a string, not {other}")),
            None => return Err("no :key field".to_string()),
        };
        let value = match (op, &e.value) {
            (KvOp::Get, _) => String::new(),
            (_, Value::Str(s)) => s.clone(),
            _ => return Err(format!(":{} needs a string :value", e.f)),
        };
        Ok(KvInput { op, key, value })
    };
    let output = |input: &KvInput, e: &Event| -> Result<KvOutput, String> {
        let value = match (input.op, &e.value) {
            (KvOp::Get, Value::Str(s)) => s.clone(),
            (KvOp::Get, Value::Nil) => String::new(),
            (KvOp::Get, other) => {
                return Err(format!(":value must be a string or nil, not {other}"));
            }
            _ => String::new(),
        };
        Ok(KvOutput {
            value: value.into(),
        })
    };
    let mut ops = pair(events(text, file)?, file, input, output)?;
    share_reads(&mut ops);
    Ok(ops)
}

/// Parses a register history (Jepsen's read / write / cas); `file` names
/// it in errors.
///
/// ```
/// use linearizability::{RegisterOp, parse_register_history};
///
/// let text = r#"
/// {:type :invoke, :f :write, :value 1, :process 0, :time 10}
/// {:type :invoke, :f :cas, :value [1 2], :process 1, :time 15}
/// {:type :ok, :f :write, :value 1, :process 0, :time 20}
/// {:type :fail, :f :cas, :value [1 2], :process 1, :time 25}
/// {:type :invoke, :f :read, :value nil, :process 0, :time 30}
/// {:type :ok, :f :read, :value 1, :process 0, :time 40}
/// "#;
/// let ops = parse_register_history(text, "example").unwrap();
/// assert_eq!(ops.len(), 2); // the failed cas did not happen
/// assert_eq!(ops[0].input.op, RegisterOp::Write(1));
/// assert_eq!(ops[1].output, Some(Some(1)));
/// ```
pub fn parse_register_history(text: &str, file: &str) -> Result<Vec<RegisterOperation>, ReadError> {
    let input = |e: &Event| -> Result<RegisterInput, String> {
        let (key, value) = register_key_value(e)?;
        let op = match (e.f.as_str(), value) {
            ("read", _) => RegisterOp::Read,
            ("write", value) => RegisterOp::Write(
                integer(value)?.ok_or_else(|| ":write needs an integer :value".to_string())?,
            ),
            ("cas", Value::Vector(pair)) if pair.len() == 2 => {
                let from = integer(&pair[0])?;
                let to = integer(&pair[1])?;
                match (from, to) {
                    (Some(from), Some(to)) => RegisterOp::Cas(from, to),
                    _ => return Err(":cas needs integers [from to]".to_string()),
                }
            }
            ("cas", other) => return Err(format!(":cas needs a :value [from to], not {other}")),
            (other, _) => return Err(format!(":f must be :read, :write or :cas, not :{other}")),
        };
        Ok(RegisterInput { key, op })
    };
    let output = |input: &RegisterInput, e: &Event| -> Result<Option<i64>, String> {
        match input.op {
            RegisterOp::Read => integer(register_key_value(e)?.1),
            RegisterOp::Write(_) | RegisterOp::Cas(..) => Ok(None),
        }
    };
    pair(events(text, file)?, file, input, output)
}

/// A register event's key (its `:key`, or the first of a `[key value]`
/// tuple) and value.
fn register_key_value(e: &Event) -> Result<(Option<String>, &Value), String> {
    if let Some(key) = &e.key {
        return Ok((Some(key.name()), &e.value));
    }
    match &e.value {
        // Jepsen's independent tuples: [key value], [key [from to]].
        Value::Vector(tuple)
            if tuple.len() == 2 && (e.f != "cas" || matches!(tuple[1], Value::Vector(_))) =>
        {
            Ok((Some(tuple[0].name()), &tuple[1]))
        }
        value => Ok((None, value)),
    }
}

/// An integer value, or `None` for `nil`.
fn integer(value: &Value) -> Result<Option<i64>, String> {
    match value {
        Value::Integer(n) => Ok(Some(*n)),
        Value::Nil => Ok(None),
        other => Err(format!("expected an integer or nil, not {other}")),
    }
}

/// Pairs each process's invoke with its completion into operations, in
/// the order of their calls: `input` reads an invoke, `output` a
/// completion with `:ok`; `:fail` drops the operation, `:info` (or no
/// completion) leaves it without a reply.
fn pair<I, O>(
    events: Vec<Event>,
    file: &str,
    input: impl Fn(&Event) -> Result<I, String>,
    output: impl Fn(&I, &Event) -> Result<O, String>,
) -> Result<Vec<Operation<I, O>>, ReadError> {
    let error = |line: usize, message: String| ReadError {
        file: file.to_string(),
        line: Some(line),
        message,
    };
    let end = events.last().map_or(0, |e| e.line) + 1;
    // Each process's operation in progress: its invoke and input.
    let mut pending: HashMap<usize, (Event, I)> = HashMap::new();
    let mut ops: Vec<Operation<I, O>> = Vec::new();
    for event in events {
        let line = event.line;
        if event.kind == Kind::Invoke {
            if let Some((since, _)) = pending.get(&event.process) {
                return Err(error(
                    line,
                    format!(
                        "process {} invokes an operation while the one it invoked at line \
                         {} has not returned",
                        event.process, since.line
                    ),
                ));
            }
            let read = input(&event).map_err(|m| error(line, m))?;
            pending.insert(event.process, (event, read));
            continue;
        }
        let Some((call, read)) = pending.remove(&event.process) else {
            return Err(error(
                line,
                format!(
                    "process {} returns, but has no operation in progress",
                    event.process
                ),
            ));
        };
        if (&call.f, &call.key) != (&event.f, &event.key) {
            let key =
                |k: &Option<Value>| k.as_ref().map_or(String::new(), |k| format!(" of key {k}"));
            return Err(error(
                line,
                format!(
                    "process {} returns :{}{}, but invoked :{}{} at line {}",
                    event.process,
                    event.f,
                    key(&event.key),
                    call.f,
                    key(&call.key),
                    call.line
                ),
            ));
        }
        let output = match event.kind {
            Kind::Fail => continue,
            Kind::Info => None,
            _ => Some(output(&read, &event).map_err(|m| error(line, m))?),
        };
        ops.push(Operation {
            client_id: call.process,
            input: read,
            call: call.line as u64,
            output,
            ret: line as u64,
        });
    }
    // Invoked and never completed: as good as :info at the end.
    for (call, read) in pending.into_values() {
        ops.push(Operation {
            client_id: call.process,
            input: read,
            call: call.line as u64,
            output: None,
            ret: end as u64,
        });
    }
    ops.sort_by_key(|op| op.call);
    Ok(ops)
}

/// Writes `history` in the format [`parse_kv_history`] reads: an `:invoke`
/// and an `:ok` (or, without a reply, `:info`) line per operation, in the
/// order of their times (calls before returns at equal times), so that
/// reading it back gives the same history up to the times, which become
/// line numbers.
///
/// ```
/// use linearizability::{KvOperation, format_kv_history, parse_kv_history};
///
/// let history = vec![
///     KvOperation::put(0, "k", "a \"quoted\" value", 10, 30),
///     KvOperation::get(1, "k", "a \"quoted\" value", 20, 40),
/// ];
/// let text = format_kv_history(&history);
/// assert!(text.starts_with("{:process 0, :type :invoke, :f :put, :key \"k\""));
/// let back = parse_kv_history(&text, "written").unwrap();
/// assert_eq!((back[1].call, back[1].ret), (2, 4));
/// assert_eq!(back[1].output, history[1].output);
/// ```
pub fn format_kv_history(history: &[KvOperation]) -> String {
    let mut text = Vec::new();
    write_kv_history(history, &mut text).expect("writing to a Vec cannot fail");
    String::from_utf8(text).expect("the history's text is UTF-8")
}

/// [`format_kv_history`], written to `out` as it goes: a lab test's history
/// repeats every value its gets read, so its text can be far larger than
/// the history (which shares those values), and is better not held whole.
pub fn write_kv_history(history: &[KvOperation], mut out: impl Write) -> io::Result<()> {
    // (time, return?, operation): calls sort before returns at equal times.
    let mut events: Vec<(u64, bool, &KvOperation)> = history
        .iter()
        .flat_map(|op| [(op.call, false, op), (op.ret, true, op)])
        .collect();
    events.sort_by_key(|&(time, ret, _)| (time, ret));
    for (_, ret, op) in events {
        let value = match (op.input.op, ret, &op.output) {
            (KvOp::Get, true, Some(read)) => edn_string(&read.value),
            (KvOp::Get, _, _) => "nil".to_string(),
            _ => edn_string(&op.input.value),
        };
        let kind = match (ret, &op.output) {
            (false, _) => ":invoke",
            (true, Some(_)) => ":ok",
            (true, None) => ":info",
        };
        writeln!(
            out,
            "{{:process {}, :type {kind}, :f {}, :key {}, :value {value}}}",
            op.client_id,
            edn_name(op.input.op),
            edn_string(&op.input.key),
        )?;
    }
    out.flush()
}

/// `s` as an EDN string: quoted, with quotes and backslashes escaped.
fn edn_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// An operation's name, as written in EDN.
fn edn_name(op: KvOp) -> &'static str {
    match op {
        KvOp::Get => ":get",
        KvOp::Put => ":put",
        KvOp::Append => ":append",
    }
}

/// What a line says happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Invoke,
    Ok,
    Fail,
    Info,
}

/// One line's event.
struct Event {
    line: usize,
    process: usize,
    kind: Kind,
    /// The operation's name, without the colon.
    f: String,
    key: Option<Value>,
    value: Value,
}

/// An EDN value of the kinds these files use.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Value {
    Keyword(String),
    Integer(i64),
    Str(String),
    Nil,
    Vector(Vec<Value>),
}

impl fmt::Display for Value {
    /// As written in EDN, for error messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Keyword(k) => write!(f, ":{k}"),
            Value::Integer(n) => write!(f, "{n}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Nil => write!(f, "nil"),
            Value::Vector(items) => {
                let items: Vec<String> = items.iter().map(Value::to_string).collect();
                write!(f, "[{}]", items.join(" "))
            }
        }
    }
}

impl Value {
    /// The value as a name (of a key): a string without its quotes.
    fn name(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            other => other.to_string(),
        }
    }
}

/// The events of a history file's lines (see the module header).
fn events(text: &str, file: &str) -> Result<Vec<Event>, ReadError> {
    let mut events = Vec::new();
    for (line_no, line) in (1..).zip(text.lines()) {
        let trimmed = line.trim();
        let fields = if trimmed.is_empty() {
            continue;
        } else if trimmed.starts_with('{') {
            parse_map(line)
        } else if let Some((_, rest)) = line.split_once("jepsen.util - ") {
            parse_log_line(rest)
        } else if trimmed.starts_with("INFO") || trimmed.starts_with("WARN") {
            // Another logger's line in a Jepsen log.
            continue;
        } else {
            Err("expected a map, starting with '{'".to_string())
        };
        let event = fields.and_then(|fields| Event::new(line_no, fields));
        match event {
            Ok(Some(event)) => events.push(event),
            Ok(None) => {}
            Err(message) => {
                return Err(ReadError {
                    file: file.to_string(),
                    line: Some(line_no),
                    message,
                });
            }
        }
    }
    Ok(events)
}

/// The fields of a Jepsen log line after `jepsen.util - `: process, type,
/// f and value, separated by tabs (or spaces).
fn parse_log_line(rest: &str) -> Result<Vec<(String, Value)>, String> {
    let mut parts = rest.trim().splitn(4, ['\t', ' ']);
    let mut next = |name: &str| {
        parts
            .next()
            .filter(|p| !p.is_empty())
            .ok_or_else(|| format!("no {name} in the log line"))
    };
    let (process, kind, f) = (next("process")?, next("type")?, next("f")?);
    let value = next("value").unwrap_or("nil").trim();
    let one = |text: &str| -> Result<Value, String> {
        let mut chars = text.char_indices().peekable();
        parse_value(&mut chars)
    };
    Ok(vec![
        ("process".to_string(), one(process)?),
        ("type".to_string(), one(kind)?),
        ("f".to_string(), one(f)?),
        ("value".to_string(), one(value)?),
    ])
}

impl Event {
    /// The event of a line's fields; `None` for a process that is not a
    /// number (Jepsen's nemesis).
    fn new(line: usize, fields: Vec<(String, Value)>) -> Result<Option<Event>, String> {
        let mut fields = fields;
        let mut take = |name: &str| {
            fields
                .iter()
                .position(|(key, _)| key == name)
                .map(|at| fields.swap_remove(at).1)
        };
        let process = match take("process").ok_or("no :process field")? {
            Value::Integer(n) if n >= 0 => n as usize,
            Value::Keyword(_) => return Ok(None),
            other => return Err(format!(":process must be a number from 0, not {other}")),
        };
        let kind = match take("type").ok_or("no :type field")? {
            Value::Keyword(k) if k == "invoke" => Kind::Invoke,
            Value::Keyword(k) if k == "ok" => Kind::Ok,
            Value::Keyword(k) if k == "fail" => Kind::Fail,
            Value::Keyword(k) if k == "info" => Kind::Info,
            other => {
                return Err(format!(
                    ":type must be :invoke, :ok, :fail or :info, not {other}"
                ));
            }
        };
        let f = match take("f").ok_or("no :f field")? {
            Value::Keyword(k) => k,
            other => return Err(format!(":f must be a keyword, not {other}")),
        };
        let key = take("key");
        let value = take("value").ok_or("no :value field")?;
        Ok(Some(Event {
            line,
            process,
            kind,
            f,
            key,
            value,
        }))
    }
}

/// Parses `{:name value, ...}` into its fields, in order.
fn parse_map(line: &str) -> Result<Vec<(String, Value)>, String> {
    let mut chars = line.char_indices().peekable();
    while chars.next_if(|&(_, c)| c.is_whitespace()).is_some() {}
    if chars.next().map(|(_, c)| c) != Some('{') {
        return Err("expected a map, starting with '{'".to_string());
    }
    let mut fields: Vec<(String, Value)> = Vec::new();
    loop {
        while chars
            .next_if(|&(_, c)| c.is_whitespace() || c == ',')
            .is_some()
        {}
        let Some(&(at, c)) = chars.peek() else {
            return Err("the map is not closed with '}'".to_string());
        };
        if c == '}' {
            chars.next();
            break;
        }
        let name = match parse_value(&mut chars)? {
            Value::Keyword(name) => name,
            other => {
                return Err(format!(
                    "expected a :keyword at column {}, not {other}",
                    at + 1
                ));
            }
        };
        while chars
            .next_if(|&(_, c)| c.is_whitespace() || c == ',')
            .is_some()
        {}
        if matches!(chars.peek(), None | Some((_, '}'))) {
            return Err(format!(":{name} has no value"));
        }
        let value = parse_value(&mut chars)?;
        if fields.iter().any(|(n, _)| *n == name) {
            return Err(format!(":{name} appears twice"));
        }
        fields.push((name, value));
    }
    while chars.next_if(|&(_, c)| c.is_whitespace()).is_some() {}
    if let Some((at, _)) = chars.next() {
        return Err(format!(
            "unexpected text after the map, at column {}",
            at + 1
        ));
    }
    Ok(fields)
}

type Chars<'a> = std::iter::Peekable<std::str::CharIndices<'a>>;

/// Parses one value (the next character is not whitespace).
fn parse_value(chars: &mut Chars<'_>) -> Result<Value, String> {
    let ends_token = |c: char| c.is_whitespace() || matches!(c, ',' | '{' | '}' | '"' | '[' | ']');
    let token = |chars: &mut Chars<'_>| {
        let mut word = String::new();
        while let Some((_, c)) = chars.next_if(|&(_, c)| !ends_token(c)) {
            word.push(c);
        }
        word
    };
    let Some(&(at, first)) = chars.peek() else {
        return Err("expected a value at the end of the line".to_string());
    };
    match first {
        '"' => {
            chars.next();
            let mut s = String::new();
            loop {
                match chars.next() {
                    None => return Err(format!("the string at column {} is not closed", at + 1)),
                    Some((_, '"')) => return Ok(Value::Str(s)),
                    Some((_, '\\')) => match chars.next() {
                        Some((_, '"')) => s.push('"'),
                        Some((_, '\\')) => s.push('\\'),
                        Some((_, 'n')) => s.push('\n'),
                        Some((_, 't')) => s.push('\t'),
                        Some((_, 'r')) => s.push('\r'),
                        Some((i, c)) => {
                            return Err(format!("unknown escape \\{c} at column {}", i + 1));
                        }
                        None => {
                            return Err(format!("the string at column {} is not closed", at + 1));
                        }
                    },
                    Some((_, c)) => s.push(c),
                }
            }
        }
        '[' => {
            chars.next();
            let mut items = Vec::new();
            loop {
                while chars
                    .next_if(|&(_, c)| c.is_whitespace() || c == ',')
                    .is_some()
                {}
                match chars.peek() {
                    None => return Err(format!("the vector at column {} is not closed", at + 1)),
                    Some((_, ']')) => {
                        chars.next();
                        return Ok(Value::Vector(items));
                    }
                    Some(_) => items.push(parse_value(chars)?),
                }
            }
        }
        ':' => {
            chars.next();
            match token(chars) {
                name if name.is_empty() => Err(format!("empty keyword at column {}", at + 1)),
                name => Ok(Value::Keyword(name)),
            }
        }
        _ => match token(chars) {
            word if word == "nil" => Ok(Value::Nil),
            word if word.is_empty() => Err(format!("unexpected '{first}' at column {}", at + 1)),
            word => word
                .parse()
                .map(Value::Integer)
                .map_err(|_| format!("unexpected '{word}' at column {}", at + 1)),
        },
    }
}
