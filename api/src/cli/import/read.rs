//! Reads an import file one record at a time, one list per pass, so that memory holds a batch
//! and never the file: JSON (`{ "companies": [...], "contacts": [...], ... }`, streamed with
//! serde's visitors) or JSON Lines (one record per line with its `"type"`).

use std::fmt;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// The lists in the order they are imported: each may refer to the ones before.
pub const LISTS: [&str; 6] = ["companies", "contacts", "deals", "meetings", "notes", "tasks"];

/// A JSON Lines record's `"type"` for each list.
pub fn type_of(list: &str) -> &'static str {
    match list {
        "companies" => "company",
        "contacts" => "contact",
        "deals" => "deal",
        "meetings" => "meeting",
        "notes" => "note",
        _ => "task",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Lines,
}

impl Format {
    /// JSON Lines for `.jsonl` and `.ndjson` files, JSON otherwise.
    pub fn of(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some("jsonl" | "ndjson") => Self::Lines,
            _ => Self::Json,
        }
    }
}

/// One record of a list: its index in the list and, in JSON Lines, its line.
#[derive(Debug, Clone)]
pub struct Record {
    pub index: usize,
    pub line: Option<usize>,
    pub value: Value,
}

/// Hands every record of `list` in `path` to `sink`, from index `skip` on; stops with the
/// first error (of the file, or one `sink` returns).
pub fn read_list(
    path: &Path,
    format: Format,
    list: &'static str,
    skip: usize,
    sink: &mut dyn FnMut(Record) -> Result<(), String>,
) -> Result<(), String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let reader = BufReader::with_capacity(1 << 16, file);
    match format {
        Format::Json => {
            let mut de = serde_json::Deserializer::from_reader(reader);
            ListSeed { list, skip, sink }
                .deserialize(&mut de)
                .and_then(|()| de.end())
                .map_err(|e| format!("{} is not a valid import file: {e}", path.display()))
        }
        Format::Lines => read_lines(reader, path, list, skip, sink),
    }
}

fn read_lines(
    reader: impl BufRead,
    path: &Path,
    list: &'static str,
    skip: usize,
    sink: &mut dyn FnMut(Record) -> Result<(), String>,
) -> Result<(), String> {
    let wanted = type_of(list);
    let mut index = 0;
    for (number, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let at = number + 1;
        let mut value: Value =
            serde_json::from_str(&line).map_err(|e| format!("{}:{at}: not a JSON object: {e}", path.display()))?;
        let Some(object) = value.as_object_mut() else {
            return Err(format!("{}:{at}: not a JSON object", path.display()));
        };
        let kind = match object.remove("type") {
            Some(Value::String(kind)) => kind,
            _ => {
                return Err(format!(
                    "{}:{at}: needs a \"type\" (company, contact, deal, meeting, note or task)",
                    path.display()
                ));
            }
        };
        if !LISTS.iter().any(|l| type_of(l) == kind) {
            return Err(format!("{}:{at}: unknown type \"{kind}\"", path.display()));
        }
        if kind != wanted {
            continue;
        }
        if index >= skip {
            sink(Record { index, line: Some(at), value })?;
        }
        index += 1;
    }
    Ok(())
}

/// The top-level object: the wanted list is streamed, every other value skipped unread.
struct ListSeed<'s> {
    list: &'static str,
    skip: usize,
    sink: &'s mut dyn FnMut(Record) -> Result<(), String>,
}

impl<'de> DeserializeSeed<'de> for ListSeed<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ListSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of record lists (companies, contacts, deals, meetings, notes, tasks)")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == self.list {
                map.next_value_seed(Elements { skip: self.skip, sink: &mut *self.sink })?;
            } else if LISTS.contains(&key.as_str()) {
                map.next_value::<IgnoredAny>()?;
            } else {
                return Err(de::Error::custom(format!(
                    "unknown list \"{key}\" (expected one of {})",
                    LISTS.join(", ")
                )));
            }
        }
        Ok(())
    }
}

/// One list's array, each element handed to the sink as it is read.
struct Elements<'s> {
    skip: usize,
    sink: &'s mut dyn FnMut(Record) -> Result<(), String>,
}

impl<'de> DeserializeSeed<'de> for Elements<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Elements<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of records")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0;
        while let Some(value) = seq.next_element::<Value>()? {
            if index >= self.skip {
                (self.sink)(Record { index, line: None, value }).map_err(de::Error::custom)?;
            }
            index += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(
        text: &str,
        format: Format,
        list: &'static str,
        skip: usize,
    ) -> Result<Vec<(usize, Option<usize>, Value)>, String> {
        let dir = std::env::temp_dir().join(format!("crm-read-{}-{list}-{skip}", std::process::id()));
        std::fs::write(&dir, text).map_err(|e| e.to_string())?;
        let mut got = Vec::new();
        let result = read_list(&dir, format, list, skip, &mut |r| {
            got.push((r.index, r.line, r.value));
            Ok(())
        });
        let _ = std::fs::remove_file(&dir);
        result.map(|()| got)
    }

    #[test]
    fn json_lists_stream_in_order_from_any_position() {
        let text = r#"{ "deals": [{"externalId": "d1"}], "contacts": [{"externalId": "c1"}, {"externalId": "c2"}, {"externalId": "c3"}] }"#;
        let got = read(text, Format::Json, "contacts", 1).expect("reads");
        let ids: Vec<(usize, &str)> =
            got.iter().map(|(i, _, v)| (*i, v["externalId"].as_str().unwrap_or(""))).collect();
        assert_eq!(ids, [(1, "c2"), (2, "c3")]);
        assert_eq!(read(text, Format::Json, "meetings", 0).map(|g| g.len()), Ok(0));
        assert!(read(r#"{ "people": [] }"#, Format::Json, "contacts", 0).is_err());
        assert!(read(r#"{ "contacts": [{}"#, Format::Json, "contacts", 0).is_err());
    }

    #[test]
    fn json_lines_carry_their_type_and_line() {
        let text = "{\"type\": \"contact\", \"externalId\": \"c1\"}\n\n{\"type\": \"deal\", \"externalId\": \"d1\"}\n{\"type\": \"contact\", \"externalId\": \"c2\"}\n";
        let got = read(text, Format::Lines, "contacts", 0).expect("reads");
        let seen: Vec<(usize, Option<usize>)> = got.iter().map(|(i, l, _)| (*i, *l)).collect();
        assert_eq!(seen, [(0, Some(1)), (1, Some(4))]);
        assert!(got.iter().all(|(_, _, v)| v.get("type").is_none()), "the type is not a field of the record");
        assert!(read("{\"type\": \"person\"}\n", Format::Lines, "contacts", 0).is_err());
        assert!(read("{\"externalId\": \"x\"}\n", Format::Lines, "contacts", 0).is_err());
    }
}
