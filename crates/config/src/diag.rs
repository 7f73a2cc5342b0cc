//! Diagnostics with file, line and column.
//!
//! racoon2 reported configuration errors only when a policy was first used,
//! one at a time. yadokari collects every error of a file in one pass, each
//! pointing at the exact place, with a hint where one helps.

use std::fmt;
use std::ops::Range;

/// One problem found in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: error: {}",
            self.file, self.line, self.column, self.message
        )?;
        if let Some(hint) = &self.hint {
            write!(f, " (hint: {hint})")?;
        }
        Ok(())
    }
}

/// Something that loads but deserves the operator's attention; printed
/// like an error, with `warning:` in its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning(pub Diagnostic);

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.0;
        write!(
            f,
            "{}:{}:{}: warning: {}",
            d.file, d.line, d.column, d.message
        )?;
        if let Some(hint) = &d.hint {
            write!(f, " (hint: {hint})")?;
        }
        Ok(())
    }
}

/// Every problem found in one load, sorted by position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

/// The text being checked, with an index of line starts so byte offsets from
/// the parser's spans turn into line:column.
pub(crate) struct Source<'s> {
    pub name: &'s str,
    pub text: &'s str,
    line_starts: Vec<usize>,
}

impl<'s> Source<'s> {
    pub fn new(name: &'s str, text: &'s str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Source {
            name,
            text,
            line_starts,
        }
    }

    /// 1-based line and column of a byte offset.
    pub fn locate(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset).max(1);
        let start = self.line_starts[line - 1];
        let column = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count())
            + 1;
        (line, column)
    }
}

/// Collects diagnostics while the file is walked.
pub(crate) struct Sink<'s> {
    pub source: &'s Source<'s>,
    pub diags: Vec<(usize, Diagnostic)>,
}

impl<'s> Sink<'s> {
    pub fn new(source: &'s Source<'s>) -> Self {
        Sink {
            source,
            diags: Vec::new(),
        }
    }

    pub fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.push(span, message.into(), None);
    }

    pub fn error_hint(
        &mut self,
        span: Range<usize>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.push(span, message.into(), Some(hint.into()));
    }

    fn push(&mut self, span: Range<usize>, message: String, hint: Option<String>) {
        let (line, column) = self.source.locate(span.start);
        self.diags.push((
            span.start,
            Diagnostic {
                file: self.source.name.to_owned(),
                line,
                column,
                message,
                hint,
            },
        ));
    }

    pub fn is_empty(&self) -> bool {
        self.diags.is_empty()
    }

    /// A located warning (not collected: the caller keeps it).
    pub fn warning(&self, span: Range<usize>, message: String, hint: Option<String>) -> Warning {
        let (line, column) = self.source.locate(span.start);
        Warning(Diagnostic {
            file: self.source.name.to_owned(),
            line,
            column,
            message,
            hint,
        })
    }

    pub fn finish(mut self) -> Diagnostics {
        self.diags.sort_by_key(|(offset, _)| *offset);
        Diagnostics(self.diags.into_iter().map(|(_, d)| d).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_counts_lines_and_characters() {
        let src = Source::new("f", "ab\ncdé f\n");
        assert_eq!(src.locate(0), (1, 1));
        assert_eq!(src.locate(3), (2, 1));
        // "é" is two bytes but one column
        assert_eq!(src.locate(7), (2, 4));
        assert_eq!(src.locate(1000), (3, 1));
    }
}
