//! Reading the records of a `{"records": [ … ]}` JSON file one at a time,
//! so that a truncated or corrupted file still yields every record before
//! the damage, and the damage is reported with its line and column.

use serde_json::Value;

/// One step of [`records`].
#[derive(Debug)]
pub enum Item {
    /// The `index`th record.
    Record {
        /// Position in the array.
        index: usize,
        /// The record.
        value: Value,
    },
    /// The file is broken here; no records follow.
    Broken {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
}

/// A number field of a JSON object, or a message naming it.
pub fn num(v: &Value, k: &str) -> Result<f64, String> {
    v.get(k)
        .and_then(Value::as_f64)
        .ok_or_else(|| format!("{k} missing or not a number"))
}

fn line_col(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let column = before.iter().rev().take_while(|b| **b != b'\n').count() + 1;
    (line, column)
}

fn skip_ws(bytes: &[u8], mut pos: usize) -> usize {
    while pos < bytes.len() && bytes[pos].is_ascii_whitespace() {
        pos += 1;
    }
    pos
}

/// The elements of the top-level array `key` (or of a top-level array when
/// `key` is `None`), in order.
pub fn records(bytes: &[u8], key: Option<&str>) -> Vec<Item> {
    let mut out = Vec::new();
    let broken = |pos: usize, message: String| {
        let (line, column) = line_col(bytes, pos);
        Item::Broken {
            line,
            column,
            message,
        }
    };
    let start = match key {
        None => skip_ws(bytes, 0),
        Some(k) => {
            let needle = format!("\"{k}\"");
            let Some(at) = find(bytes, needle.as_bytes()) else {
                out.push(broken(0, format!("no \"{k}\" array in the file")));
                return out;
            };
            let colon = skip_ws(bytes, at + needle.len());
            if bytes.get(colon) != Some(&b':') {
                out.push(broken(colon, format!("\"{k}\" is not followed by ':'")));
                return out;
            }
            skip_ws(bytes, colon + 1)
        }
    };
    if bytes.get(start) != Some(&b'[') {
        out.push(broken(start, "expected '[' (an array of records)".into()));
        return out;
    }
    let mut pos = start + 1;
    let mut index = 0;
    loop {
        pos = skip_ws(bytes, pos);
        match bytes.get(pos) {
            Some(b']') => return out,
            Some(b',') if index > 0 => pos = skip_ws(bytes, pos + 1),
            None => {
                out.push(broken(
                    pos,
                    "file ends inside the records array (truncated?)".into(),
                ));
                return out;
            }
            _ if index > 0 => {
                out.push(broken(pos, "expected ',' or ']' between records".into()));
                return out;
            }
            _ => {}
        }
        let mut stream = serde_json::Deserializer::from_slice(&bytes[pos..]).into_iter::<Value>();
        match stream.next() {
            Some(Ok(value)) => {
                out.push(Item::Record { index, value });
                pos += stream.byte_offset();
                index += 1;
            }
            Some(Err(e)) => {
                let message = if e.is_eof() {
                    format!("record {index} is cut off: the file is truncated")
                } else {
                    format!("record {index}: {e}")
                };
                // serde_json's line/column are relative to `pos`.
                let (l0, c0) = line_col(bytes, pos);
                let line = l0 + e.line().saturating_sub(1);
                let column = if e.line() <= 1 {
                    c0 + e.column().saturating_sub(1)
                } else {
                    e.column()
                };
                out.push(Item::Broken {
                    line,
                    column,
                    message,
                });
                return out;
            }
            None => {
                out.push(broken(
                    pos,
                    "file ends inside the records array (truncated?)".into(),
                ));
                return out;
            }
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(items: &[Item]) -> Vec<i64> {
        items
            .iter()
            .filter_map(|i| match i {
                Item::Record { value, .. } => value["a"].as_i64(),
                Item::Broken { .. } => None,
            })
            .collect()
    }

    #[test]
    fn reads_all_records() {
        let items = records(
            br#"{"source": "x", "records": [{"a": 1}, {"a": 2},{"a":3}]}"#,
            Some("records"),
        );
        assert_eq!(values(&items), vec![1, 2, 3]);
        assert_eq!(items.len(), 3);
    }

    #[test]
    fn truncated_file_keeps_the_records_before() {
        let text = b"{\"records\": [\n {\"a\": 1},\n {\"a\": 2},\n {\"a\": 3, \"b\": [1, 2";
        let items = records(text, Some("records"));
        assert_eq!(values(&items), vec![1, 2]);
        match items.last().unwrap() {
            Item::Broken { line, message, .. } => {
                assert_eq!(*line, 4);
                assert!(message.contains("truncated"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn garbage_between_records_is_located() {
        let text = b"[{\"a\": 1}, {\"a\": 2} {\"a\": 3}]";
        let items = records(text, None);
        assert_eq!(values(&items), vec![1, 2]);
        assert!(matches!(
            items.last().unwrap(),
            Item::Broken {
                line: 1,
                column: 21,
                ..
            }
        ));
    }
}
