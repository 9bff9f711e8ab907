//! Reading recorded key/value histories: Jepsen-style EDN, one event per
//! line, as in porcupine's test data:
//!
//! ```text
//! {:process 0, :type :invoke, :f :append, :key "0", :value "x 0 0 y"}
//! {:process 0, :type :ok, :f :append, :key "0", :value "x 0 0 y"}
//! ```
//!
//! `:type` is `:invoke` or `:ok`; `:f` is `:get`, `:put` or `:append`. A
//! get's invoke carries `:value nil` (any value is ignored) and its `:ok`
//! the value read (`nil` reads as "", a missing key). A process runs one
//! operation at a time, so an `:ok` completes its process's last invoke.
//! Time is the line number. Other fields (Jepsen's `:time`, `:index`) are
//! ignored; commas are whitespace, as in EDN; blank lines are skipped.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use crate::kv::{KvInput, KvOp, KvOperation, KvOutput};
use crate::model::Operation;

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
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|e| ReadError {
        file: path.display().to_string(),
        line: None,
        message: format!("cannot read the file: {e}"),
    })?;
    parse_kv_history(&text, &path.display().to_string())
}

/// Parses a key/value history; `file` names it in errors.
///
/// ```
/// let text = r#"
/// {:process 0, :type :invoke, :f :put, :key "k", :value "a"}
/// {:process 1, :type :invoke, :f :get, :key "k", :value nil}
/// {:process 0, :type :ok, :f :put, :key "k", :value "a"}
/// {:process 1, :type :ok, :f :get, :key "k", :value "a"}
/// "#;
/// let ops = linearizability::parse_kv_history(text, "example").unwrap();
/// assert_eq!(ops.len(), 2);
/// assert_eq!((ops[1].call, ops[1].ret), (3, 5));
/// assert_eq!(ops[1].output.as_ref().unwrap().value, "a");
///
/// let bad = "{:process 0, :type :ok, :f :get, :key \"k\" :value \"a\"}";
/// let err = linearizability::parse_kv_history(bad, "bad.txt").unwrap_err();
/// assert_eq!(err.to_string(), "bad.txt:1: process 0 returns, but has no operation in progress");
/// ```
pub fn parse_kv_history(text: &str, file: &str) -> Result<Vec<KvOperation>, ReadError> {
    let error = |line: usize, message: String| ReadError {
        file: file.to_string(),
        line: Some(line),
        message,
    };
    // Each process's operation in progress: its invoke's line and input.
    let mut pending: HashMap<usize, (usize, KvInput)> = HashMap::new();
    let mut ops: Vec<KvOperation> = Vec::new();
    for (line_no, line) in (1..).zip(text.lines()) {
        if line.trim().is_empty() {
            continue;
        }
        let event = Event::parse(line).map_err(|m| error(line_no, m))?;
        if event.invoke {
            if let Some((since, _)) = pending.get(&event.process) {
                return Err(error(
                    line_no,
                    format!(
                        "process {} invokes an operation while the one it invoked at line \
                         {since} has not returned",
                        event.process
                    ),
                ));
            }
            if event.f != KvOp::Get && event.value.is_none() {
                return Err(error(
                    line_no,
                    format!("{} needs a string :value", edn_name(event.f)),
                ));
            }
            let input = KvInput {
                op: event.f,
                key: event.key,
                value: if event.f == KvOp::Get {
                    String::new()
                } else {
                    event.value.unwrap_or_default()
                },
            };
            pending.insert(event.process, (line_no, input));
            continue;
        }
        let Some((call, input)) = pending.remove(&event.process) else {
            return Err(error(
                line_no,
                format!(
                    "process {} returns, but has no operation in progress",
                    event.process
                ),
            ));
        };
        if (input.op, &input.key) != (event.f, &event.key) {
            return Err(error(
                line_no,
                format!(
                    "process {} returns {} of key {:?}, but invoked {} of key {:?} at line \
                     {call}",
                    event.process,
                    edn_name(event.f),
                    event.key,
                    edn_name(input.op),
                    input.key
                ),
            ));
        }
        let read = if input.op == KvOp::Get {
            event.value.unwrap_or_default()
        } else {
            String::new()
        };
        ops.push(Operation {
            client_id: event.process,
            input,
            call: call as u64,
            output: Some(KvOutput { value: read }),
            ret: line_no as u64,
        });
    }
    if let Some((&process, &(line, _))) = pending.iter().min_by_key(|(_, (line, _))| *line) {
        return Err(error(
            line,
            format!("process {process}'s operation invoked here never returns (no :ok)"),
        ));
    }
    ops.sort_by_key(|op| op.call);
    Ok(ops)
}

/// Writes `history` in the format [`parse_kv_history`] reads: an `:invoke`
/// and an `:ok` line per operation, in the order of their times (calls
/// before returns at equal times), so that reading it back gives the same
/// history up to the times, which become line numbers.
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
    // (time, return?, operation): calls sort before returns at equal times.
    let mut events: Vec<(u64, bool, &KvOperation)> = history
        .iter()
        .flat_map(|op| [(op.call, false, op), (op.ret, true, op)])
        .collect();
    events.sort_by_key(|&(time, ret, _)| (time, ret));
    let mut text = String::new();
    for (_, ret, op) in events {
        let value = match (op.input.op, ret) {
            (KvOp::Get, false) => "nil".to_string(),
            (KvOp::Get, true) => op
                .output
                .as_ref()
                .map_or("nil".into(), |o| edn_string(&o.value)),
            _ => edn_string(&op.input.value),
        };
        text.push_str(&format!(
            "{{:process {}, :type {}, :f {}, :key {}, :value {value}}}\n",
            op.client_id,
            if ret { ":ok" } else { ":invoke" },
            edn_name(op.input.op),
            edn_string(&op.input.key),
        ));
    }
    text
}

/// `s` as an EDN string: quoted, with quotes and backslashes escaped.
fn edn_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// One line's event.
struct Event {
    process: usize,
    /// `:invoke` (else `:ok`).
    invoke: bool,
    f: KvOp,
    key: String,
    value: Option<String>,
}

/// An EDN value of the kinds these files use.
enum Value {
    Keyword(String),
    Integer(i64),
    Str(String),
    Nil,
}

impl fmt::Display for Value {
    /// As written in EDN, for error messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Keyword(k) => write!(f, ":{k}"),
            Value::Integer(n) => write!(f, "{n}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Nil => write!(f, "nil"),
        }
    }
}

/// An operation's name, as written in EDN.
fn edn_name(op: KvOp) -> &'static str {
    match op {
        KvOp::Get => ":get",
        KvOp::Put => ":put",
        KvOp::Append => ":append",
    }
}

impl Event {
    fn parse(line: &str) -> Result<Event, String> {
        let fields = parse_map(line)?;
        let get = |name: &str| {
            fields
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value)
                .ok_or_else(|| format!("no :{name} field"))
        };
        let process = match get("process")? {
            Value::Integer(n) if *n >= 0 => *n as usize,
            other => return Err(format!(":process must be a number from 0, not {other}")),
        };
        let invoke = match get("type")? {
            Value::Keyword(k) if k == "invoke" => true,
            Value::Keyword(k) if k == "ok" => false,
            Value::Keyword(k) if k == "fail" || k == "info" => {
                return Err(format!(
                    "unsupported :type :{k}: the checker needs every operation to have \
                     completed with :ok"
                ));
            }
            other => return Err(format!(":type must be :invoke or :ok, not {other}")),
        };
        let f = match get("f")? {
            Value::Keyword(k) if k == "get" => KvOp::Get,
            Value::Keyword(k) if k == "put" => KvOp::Put,
            Value::Keyword(k) if k == "append" => KvOp::Append,
            other => return Err(format!(":f must be :get, :put or :append, not {other}")),
        };
        let key = match get("key")? {
            Value::Str(s) => s.clone(),
            other => return Err(format!(":key must be a string, not {other}")),
        };
        let value = match get("value")? {
            Value::Str(s) => Some(s.clone()),
            Value::Nil => None,
            other => return Err(format!(":value must be a string or nil, not {other}")),
        };
        Ok(Event {
            process,
            invoke,
            f,
            key,
            value,
        })
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
    let ends_token = |c: char| c.is_whitespace() || matches!(c, ',' | '{' | '}' | '"');
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
