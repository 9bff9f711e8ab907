//! Solution regions: how a student file of the repository becomes the file
//! students get (the convention is in ARCHITECTURE.md, "Solution regions").
//!
//! ```text
//!     // SOLUTION BEGIN
//!     let st = self.state.lock();   <- the reference code: dropped
//!     // SOLUTION STUB
//!     // // Your code here (2A).    <- kept less one leading "// ": a comment
//!     // (0, false)                 <- kept less one leading "// ": code
//!     //                            <- a bare "//": kept as an empty line
//!     // SOLUTION END
//! ```
//!
//! A region without `SOLUTION STUB` is dropped whole, and with it the blank
//! line before it, if there is one: the blank lines that separated it from
//! the code before and after would otherwise double up (or end a block or
//! the file), which rustfmt rejects. Markers stand alone on
//! their lines, regions do not nest, and the markers come in the order
//! BEGIN, STUB (optional), END. Anything else is refused with the line at
//! fault rather than guessed at: a wrong guess could hand out the solution.

/// A marker line, by the text it carries after `// `.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Marker {
    Begin,
    Stub,
    End,
}

impl Marker {
    const ALL: [Marker; 3] = [Marker::Begin, Marker::Stub, Marker::End];

    fn text(self) -> &'static str {
        match self {
            Marker::Begin => "SOLUTION BEGIN",
            Marker::Stub => "SOLUTION STUB",
            Marker::End => "SOLUTION END",
        }
    }
}

/// A file with its regions replaced by their stubs.
#[derive(Debug, PartialEq, Eq)]
pub struct Stripped {
    pub text: String,
    /// How many regions there were.
    pub regions: usize,
}

/// Why a file's regions cannot be stripped: the line at fault (from 1) and
/// what is wrong with it.
#[derive(Debug, PartialEq, Eq)]
pub struct RegionError {
    pub line: usize,
    pub message: String,
}

/// The region being read: the lines of its BEGIN and (once seen) its STUB.
struct Open {
    begin: usize,
    stub: Option<usize>,
}

/// Replaces every solution region of `text` by its stub.
pub fn strip(text: &str) -> Result<Stripped, RegionError> {
    let mut out = String::with_capacity(text.len());
    let mut regions = 0;
    let mut open: Option<Open> = None;
    // Where in `out` the last line starts, if it is blank.
    let mut blank_at: Option<usize> = None;
    for (i, raw) in text.split_inclusive('\n').enumerate() {
        let line_no = i + 1;
        let at = |message: String| RegionError {
            line: line_no,
            message,
        };
        let (line, ending) = split_ending(raw);
        match marker(line).map_err(at)? {
            Some(Marker::Begin) => {
                if let Some(region) = &open {
                    return Err(at(format!(
                        "SOLUTION BEGIN inside the region opened at line {}: regions do not nest",
                        region.begin
                    )));
                }
                open = Some(Open {
                    begin: line_no,
                    stub: None,
                });
            }
            Some(Marker::Stub) => match &mut open {
                None => {
                    return Err(at(
                        "SOLUTION STUB outside a region: it goes between SOLUTION BEGIN and \
                         SOLUTION END"
                            .to_string(),
                    ));
                }
                Some(Open {
                    begin,
                    stub: Some(first),
                }) => {
                    return Err(at(format!(
                        "a second SOLUTION STUB in the region opened at line {begin} (the first \
                         is at line {first})"
                    )));
                }
                Some(region) => region.stub = Some(line_no),
            },
            Some(Marker::End) => {
                let Some(region) = open.take() else {
                    return Err(at(
                        "SOLUTION END without a SOLUTION BEGIN before it".to_string()
                    ));
                };
                if region.stub.is_none()
                    && let Some(start) = blank_at.take()
                {
                    out.truncate(start);
                }
                regions += 1;
            }
            None => {
                let kept = match &open {
                    None => line.to_string(),
                    // The reference code.
                    Some(Open { stub: None, .. }) => continue,
                    Some(Open { stub: Some(_), .. }) => uncomment(line).map_err(at)?,
                };
                blank_at = kept.trim().is_empty().then_some(out.len());
                out.push_str(&kept);
                out.push_str(ending);
            }
        }
    }
    match open {
        Some(region) => Err(RegionError {
            line: region.begin,
            message: "SOLUTION BEGIN is never closed by a SOLUTION END".to_string(),
        }),
        None => Ok(Stripped { text: out, regions }),
    }
}

/// The line (from 1) of the first line of `text` that mentions a marker, if
/// any: for files that must have none.
pub fn first_marker(text: &str) -> Option<usize> {
    text.lines()
        .position(|line| Marker::ALL.iter().any(|m| line.contains(m.text())))
        .map(|i| i + 1)
}

/// The marker `line` holds, if it mentions one. A line that mentions a
/// marker must be exactly that marker: `// SOLUTION BEGIN (2A)` or code
/// followed by a marker would otherwise pass for an ordinary line and leave
/// the region open or unmarked.
fn marker(line: &str) -> Result<Option<Marker>, String> {
    let Some(found) = Marker::ALL.into_iter().find(|m| line.contains(m.text())) else {
        return Ok(None);
    };
    let expected = format!("// {}", found.text());
    if line.trim() == expected {
        Ok(Some(found))
    } else {
        Err(format!(
            "a {} marker must stand alone on its line, as `{expected}`",
            found.text()
        ))
    }
}

/// A stub line less its leading `// `: `    // (0, false)` gives
/// `    (0, false)`, `    // // Your code` gives `    // Your code`, and a
/// bare `//` gives an empty line (not indentation alone, which rustfmt
/// would reject as trailing whitespace).
fn uncomment(line: &str) -> Result<String, String> {
    let body = line.trim_start();
    let indent = &line[..line.len() - body.len()];
    if body == "//" {
        return Ok(String::new());
    }
    match body.strip_prefix("// ") {
        Some(code) => Ok(format!("{indent}{code}")),
        None => Err(
            "a stub line must be commented out: `// code`, `// // comment`, or a bare `//` for \
             an empty line"
                .to_string(),
        ),
    }
}

/// `line` without its line ending, and the ending (`\n`, `\r\n` or none).
fn split_ending(line: &str) -> (&str, &str) {
    let content = line
        .strip_suffix("\r\n")
        .or_else(|| line.strip_suffix('\n'))
        .unwrap_or(line);
    (content, &line[content.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stripped(text: &str) -> String {
        strip(text).expect("regions are well formed").text
    }

    /// The error `strip` gives, as `line: message`.
    fn refused(text: &str) -> String {
        let e = strip(text).expect_err("strip should refuse");
        format!("{}: {}", e.line, e.message)
    }

    #[test]
    fn region_is_replaced_by_its_stub() {
        let text = "\
fn get_state(&self) -> (u64, bool) {
    // SOLUTION BEGIN
    let st = self.state.lock();
    (st.term, st.leader)
    // SOLUTION STUB
    // // Your code here (2A).
    //
    // (0, false)
    // SOLUTION END
}
";
        let want = "\
fn get_state(&self) -> (u64, bool) {
    // Your code here (2A).

    (0, false)
}
";
        assert_eq!(
            strip(text).unwrap(),
            Stripped {
                text: want.to_string(),
                regions: 1
            }
        );
    }

    #[test]
    fn stub_keeps_its_own_indentation() {
        let text = "    // SOLUTION BEGIN\n    // SOLUTION STUB\n    // Foo {\n    //     x,\n    // }\n    // SOLUTION END\n";
        assert_eq!(stripped(text), "    Foo {\n        x,\n    }\n");
    }

    #[test]
    fn region_without_stub_is_removed_whole() {
        let text = "a\n// SOLUTION BEGIN\nconst X: u32 = 1;\n\n// SOLUTION END\nb\n";
        assert_eq!(
            strip(text).unwrap(),
            Stripped {
                text: "a\nb\n".to_string(),
                regions: 1
            }
        );
    }

    #[test]
    fn removed_region_takes_the_blank_line_before_it() {
        let region = "// SOLUTION BEGIN\nfn solution() {}\n// SOLUTION END\n";
        // Between two items: one blank line remains, not two.
        assert_eq!(stripped(&format!("a\n\n{region}\nb\n")), "a\n\nb\n");
        // At the end of a block, or of the file: none remains.
        assert_eq!(stripped(&format!("a\n\n{region}}}\n")), "a\n}\n");
        assert_eq!(stripped(&format!("a\n\n{region}")), "a\n");
        // With code right before it: nothing else goes.
        assert_eq!(stripped(&format!("a\n{region}\nb\n")), "a\n\nb\n");
    }

    #[test]
    fn text_without_regions_is_unchanged() {
        let text = "fn main() {\n    // a comment\n}\n\nno final newline";
        assert_eq!(stripped(text), text);
    }

    #[test]
    fn crlf_endings_are_kept() {
        let text = "a\r\n// SOLUTION BEGIN\r\nx\r\n// SOLUTION STUB\r\n// y\r\n// SOLUTION END\r\n";
        assert_eq!(stripped(text), "a\r\ny\r\n");
    }

    #[test]
    fn several_regions_are_counted() {
        let region = "// SOLUTION BEGIN\nx\n// SOLUTION END\n";
        assert_eq!(strip(&region.repeat(3)).unwrap().regions, 3);
    }

    #[test]
    fn unclosed_region_is_refused() {
        assert_eq!(
            refused("a\n// SOLUTION BEGIN\nx\n// SOLUTION STUB\n// y\n"),
            "2: SOLUTION BEGIN is never closed by a SOLUTION END"
        );
    }

    #[test]
    fn end_without_begin_is_refused() {
        assert_eq!(
            refused("a\n// SOLUTION END\n"),
            "2: SOLUTION END without a SOLUTION BEGIN before it"
        );
    }

    #[test]
    fn nested_region_is_refused() {
        assert_eq!(
            refused("// SOLUTION BEGIN\n    // SOLUTION BEGIN\n// SOLUTION END\n// SOLUTION END\n"),
            "2: SOLUTION BEGIN inside the region opened at line 1: regions do not nest"
        );
    }

    #[test]
    fn stub_outside_region_is_refused() {
        assert_eq!(
            refused("a\n// SOLUTION STUB\n// SOLUTION BEGIN\n// SOLUTION END\n"),
            "2: SOLUTION STUB outside a region: it goes between SOLUTION BEGIN and SOLUTION END"
        );
    }

    #[test]
    fn second_stub_is_refused() {
        assert_eq!(
            refused("// SOLUTION BEGIN\nx\n// SOLUTION STUB\n// y\n// SOLUTION STUB\n"),
            "5: a second SOLUTION STUB in the region opened at line 1 (the first is at line 3)"
        );
    }

    #[test]
    fn marker_not_alone_is_refused() {
        assert_eq!(
            refused("let x = 1; // SOLUTION BEGIN\n"),
            "1: a SOLUTION BEGIN marker must stand alone on its line, as `// SOLUTION BEGIN`"
        );
        assert_eq!(
            refused("// SOLUTION BEGIN\n// SOLUTION STUB (2A)\n// SOLUTION END\n"),
            "2: a SOLUTION STUB marker must stand alone on its line, as `// SOLUTION STUB`"
        );
        assert_eq!(
            refused("// SOLUTION BEGIN\n/* SOLUTION END */\n"),
            "2: a SOLUTION END marker must stand alone on its line, as `// SOLUTION END`"
        );
    }

    #[test]
    fn uncommented_stub_line_is_refused() {
        let message = "a stub line must be commented out: `// code`, `// // comment`, or a bare \
                       `//` for an empty line";
        for line in ["(0, false)", "", "//(0, false)", "/// doc"] {
            let text =
                format!("// SOLUTION BEGIN\n// SOLUTION STUB\n// ok\n{line}\n// SOLUTION END\n");
            assert_eq!(
                refused(&text),
                format!("4: {message}"),
                "stub line {line:?}"
            );
        }
    }

    #[test]
    fn first_marker_finds_any_mention() {
        assert_eq!(first_marker("a\nb\n"), None);
        assert_eq!(first_marker("a\n  // SOLUTION END\n"), Some(2));
        assert_eq!(first_marker("x // SOLUTION STUB\n"), Some(1));
    }
}
