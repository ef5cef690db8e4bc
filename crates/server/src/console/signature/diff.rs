//! Where two strings-to-sign differ: a word-level longest-common-subsequence diff (runs of
//! letters and digits are words, every other character is its own token), rendered inline with
//! `<del>` for what only the expected string has and `<ins>` for what only the other has.

use crate::console::layout::escape;

/// One piece of a diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Same(String),
    /// Only in the expected string.
    Expected(String),
    /// Only in the string the request implies.
    Implied(String),
}

/// Tables larger than this many cells fall back to a prefix/suffix comparison.
const MAX_CELLS: usize = 4_000_000;

fn tokens(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        if c.is_alphanumeric() {
            start.get_or_insert(i);
            continue;
        }
        if let Some(s) = start.take() {
            out.push(&text[s..i]);
        }
        out.push(&text[i..i + c.len_utf8()]);
    }
    if let Some(s) = start {
        out.push(&text[s..]);
    }
    out
}

fn push(out: &mut Vec<Segment>, seg: Segment) {
    let merged = match (out.last_mut(), &seg) {
        (Some(Segment::Same(a)), Segment::Same(b))
        | (Some(Segment::Expected(a)), Segment::Expected(b))
        | (Some(Segment::Implied(a)), Segment::Implied(b)) => {
            a.push_str(b);
            true
        }
        _ => false,
    };
    if !merged
        && !matches!(&seg, Segment::Same(t) | Segment::Expected(t) | Segment::Implied(t) if t.is_empty())
    {
        out.push(seg);
    }
}

/// Common prefix, then the two differing middles, then the common suffix.
fn coarse(a: &str, b: &str) -> Vec<Segment> {
    let prefix = a
        .char_indices()
        .zip(b.chars())
        .find(|((_, x), y)| x != y)
        .map_or(a.len().min(b.len()), |((i, _), _)| i);
    let (a_rest, b_rest) = (&a[prefix..], &b[prefix..]);
    let suffix = a_rest
        .chars()
        .rev()
        .zip(b_rest.chars().rev())
        .take_while(|(x, y)| x == y)
        .map(|(x, _)| x.len_utf8())
        .sum::<usize>();
    let mut out = Vec::new();
    push(&mut out, Segment::Same(a[..prefix].to_string()));
    push(
        &mut out,
        Segment::Expected(a_rest[..a_rest.len() - suffix].to_string()),
    );
    push(
        &mut out,
        Segment::Implied(b_rest[..b_rest.len() - suffix].to_string()),
    );
    push(
        &mut out,
        Segment::Same(a_rest[a_rest.len() - suffix..].to_string()),
    );
    out
}

/// The diff of `expected` against `implied`.
pub fn diff(expected: &str, implied: &str) -> Vec<Segment> {
    let (a, b) = (tokens(expected), tokens(implied));
    if a.len().saturating_mul(b.len()) > MAX_CELLS {
        return coarse(expected, implied);
    }
    let w = b.len() + 1;
    // lcs[i * w + j] = length of the LCS of a[i..] and b[j..]
    let mut lcs = vec![0u32; (a.len() + 1) * w];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i * w + j] = if a[i] == b[j] {
                lcs[(i + 1) * w + j + 1] + 1
            } else {
                lcs[(i + 1) * w + j].max(lcs[i * w + j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            push(&mut out, Segment::Same(a[i].to_string()));
            (i, j) = (i + 1, j + 1);
        } else if i < a.len() && (j == b.len() || lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) {
            push(&mut out, Segment::Expected(a[i].to_string()));
            i += 1;
        } else {
            push(&mut out, Segment::Implied(b[j].to_string()));
            j += 1;
        }
    }
    out
}

/// The character offset (in `expected`) of the first difference, if the strings differ.
pub fn first_difference(expected: &str, implied: &str) -> Option<usize> {
    if expected == implied {
        return None;
    }
    let mut at = 0;
    for seg in diff(expected, implied) {
        match seg {
            Segment::Same(t) => at += t.chars().count(),
            _ => return Some(at),
        }
    }
    Some(at)
}

/// The diff as HTML (inside a `<pre>`).
pub fn render(segments: &[Segment]) -> String {
    segments
        .iter()
        .map(|s| match s {
            Segment::Same(t) => escape(t),
            Segment::Expected(t) => format!("<del title=\"expected only\">{}</del>", escape(t)),
            Segment::Implied(t) => {
                format!("<ins title=\"in the request only\">{}</ins>", escape(t))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_level_differences_are_found() {
        let d = diff("amount=100&mchNo=M1&key=K", "amount=100&mchNo=M2&key=K");
        assert_eq!(
            d,
            vec![
                Segment::Same("amount=100&mchNo=".into()),
                Segment::Expected("M1".into()),
                Segment::Implied("M2".into()),
                Segment::Same("&key=K".into()),
            ]
        );
        assert_eq!(first_difference("a=1&b=2", "a=1&b=3"), Some(6));
        assert_eq!(first_difference("same", "same"), None);
        assert!(render(&d).contains("<del title=\"expected only\">M1</del>"));
    }

    #[test]
    fn insertions_and_the_coarse_fallback() {
        let d = diff("a=1&time=5", "a=1&c=&time=5");
        assert!(d.contains(&Segment::Implied("c=&".into())), "{d:?}");
        let c = coarse("abcXYdef", "abcZdef");
        assert_eq!(
            c,
            vec![
                Segment::Same("abc".into()),
                Segment::Expected("XY".into()),
                Segment::Implied("Z".into()),
                Segment::Same("def".into()),
            ]
        );
    }
}
