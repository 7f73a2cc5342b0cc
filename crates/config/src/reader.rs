//! A cursor over one spanned TOML table that remembers which keys were read,
//! so unknown keys can be reported (with the nearest known key as a hint)
//! instead of being silently ignored.

use std::ops::Range;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::diag::Sink;

pub(crate) type Value<'i> = Spanned<DeValue<'i>>;

pub(crate) struct TableReader<'a, 'i> {
    table: &'a DeTable<'i>,
    /// Where the table is (its header, or its first key for the root).
    pub span: Range<usize>,
    /// Dotted path for messages, e.g. `tunnel.site`.
    pub path: String,
    known: Vec<&'static str>,
}

impl<'a, 'i> TableReader<'a, 'i> {
    pub fn new(table: &'a DeTable<'i>, span: Range<usize>, path: impl Into<String>) -> Self {
        TableReader {
            table,
            span,
            path: path.into(),
            known: Vec::new(),
        }
    }

    fn lookup(&mut self, key: &'static str) -> Option<&'a Value<'i>> {
        self.known.push(key);
        self.table
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == key)
            .map(|(_, v)| v)
    }

    pub fn qualified(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// A raw value, for keys whose type varies (string or integer, …).
    pub fn value(&mut self, key: &'static str) -> Option<&'a Value<'i>> {
        self.lookup(key)
    }

    pub fn str(
        &mut self,
        sink: &mut Sink<'_>,
        key: &'static str,
    ) -> Option<(&'a str, Range<usize>)> {
        let v = self.lookup(key)?;
        match v.get_ref() {
            DeValue::String(s) => Some((s.as_ref(), v.span())),
            other => {
                sink.error(
                    v.span(),
                    format!(
                        "`{}` must be a string, not {}",
                        self.qualified(key),
                        other.type_str()
                    ),
                );
                None
            }
        }
    }

    pub fn bool(&mut self, sink: &mut Sink<'_>, key: &'static str) -> Option<bool> {
        let v = self.lookup(key)?;
        match v.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            other => {
                sink.error(
                    v.span(),
                    format!(
                        "`{}` must be true or false, not {}",
                        self.qualified(key),
                        other.type_str()
                    ),
                );
                None
            }
        }
    }

    pub fn u64(&mut self, sink: &mut Sink<'_>, key: &'static str) -> Option<(u64, Range<usize>)> {
        let v = self.lookup(key)?;
        match v.get_ref() {
            DeValue::Integer(i) => match u64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => Some((n, v.span())),
                Err(_) => {
                    sink.error(
                        v.span(),
                        format!("`{}` must be a non-negative integer", self.qualified(key)),
                    );
                    None
                }
            },
            other => {
                sink.error(
                    v.span(),
                    format!(
                        "`{}` must be an integer, not {}",
                        self.qualified(key),
                        other.type_str()
                    ),
                );
                None
            }
        }
    }

    /// A string or an array of strings; a single string reads as a list of one.
    pub fn str_list(
        &mut self,
        sink: &mut Sink<'_>,
        key: &'static str,
    ) -> Option<Vec<(&'a str, Range<usize>)>> {
        let v = self.lookup(key)?;
        match v.get_ref() {
            DeValue::String(s) => Some(vec![(s.as_ref(), v.span())]),
            DeValue::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items.iter() {
                    match item.get_ref() {
                        DeValue::String(s) => out.push((s.as_ref(), item.span())),
                        other => sink.error(
                            item.span(),
                            format!(
                                "`{}` must hold strings, not {}",
                                self.qualified(key),
                                other.type_str()
                            ),
                        ),
                    }
                }
                Some(out)
            }
            other => {
                sink.error(
                    v.span(),
                    format!(
                        "`{}` must be a string or an array of strings, not {}",
                        self.qualified(key),
                        other.type_str()
                    ),
                );
                None
            }
        }
    }

    pub fn table(&mut self, sink: &mut Sink<'_>, key: &'static str) -> Option<TableReader<'a, 'i>> {
        let v = self.lookup(key)?;
        let path = self.qualified(key);
        match v.get_ref() {
            DeValue::Table(t) => Some(TableReader::new(t, v.span(), path)),
            other => {
                sink.error(
                    v.span(),
                    format!("`{path}` must be a table, not {}", other.type_str()),
                );
                None
            }
        }
    }

    /// The entries of a table of named sections such as `[tunnel.NAME]`.
    pub fn named_tables(
        &mut self,
        sink: &mut Sink<'_>,
        key: &'static str,
    ) -> Vec<(String, Range<usize>, TableReader<'a, 'i>)> {
        let Some(outer) = self.table(sink, key) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in outer.table.iter() {
            let name = k.get_ref().to_string();
            let path = outer.qualified(&name);
            match v.get_ref() {
                DeValue::Table(t) => {
                    out.push((name, k.span(), TableReader::new(t, v.span(), path)))
                }
                other => sink.error(
                    v.span(),
                    format!("`{path}` must be a table, not {}", other.type_str()),
                ),
            }
        }
        // every key of the outer table is a name, so none is unknown and the
        // outer reader is dropped without `finish`
        out
    }

    /// Reports every key that no accessor asked for.
    pub fn finish(self, sink: &mut Sink<'_>) {
        for (k, _) in self.table.iter() {
            let key = k.get_ref().as_ref();
            if self.known.contains(&key) {
                continue;
            }
            let what = format!("unknown key `{}`", self.qualified(key));
            match nearest(key, &self.known) {
                Some(best) => sink.error_hint(k.span(), what, format!("did you mean `{best}`?")),
                None => sink.error_hint(
                    k.span(),
                    what,
                    format!("known keys here: {}", self.known.join(", ")),
                ),
            }
        }
    }
}

/// The known key closest to `key` by edit distance, if it is close enough to
/// be a plausible typo.
pub(crate) fn nearest<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    known
        .iter()
        .map(|k| (edit_distance(key, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_finds_typos_only() {
        let known = ["remote", "local_ts", "remote_ts", "psk_file"];
        assert_eq!(nearest("remot", &known), Some("remote"));
        assert_eq!(nearest("pskfile", &known), Some("psk_file"));
        assert_eq!(nearest("colour", &known), None);
    }
}
