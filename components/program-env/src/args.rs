//! Splitting a program's command line into arguments, as the program sees
//! them (`sel4_runtime::env::args()`): whitespace separates arguments, and
//! an argument that starts with a quote runs to the matching closing quote,
//! so a boot script can pass one argument with spaces in it:
//!
//! ```text
//! rom/vmm -k rom/Image.gz -c "console=ttyAMA0 earlyprintk=1 rdinit=/init"
//!   -> rom/vmm, -k, rom/Image.gz, -c, console=ttyAMA0 earlyprintk=1 rdinit=/init
//! ```

/// The arguments of `line`, the program's name first:
///
/// - spaces, tabs and newlines (any Unicode whitespace) separate arguments;
/// - an argument that starts with `"` or `'` extends to the next same quote
///   and is given without the quotes (`""` is an empty argument); the
///   other quote and whitespace inside it are kept as they are;
/// - a quote that is never closed takes the rest of the line;
/// - a quote inside an argument (`a"b`) is an ordinary character, and
///   whatever follows a closing quote starts the next argument.
///
/// There are no escapes: an argument cannot hold both kinds of quote and
/// whitespace at once.
pub fn split_args(line: &str) -> SplitArgs<'_> {
    SplitArgs { rest: line }
}

/// The iterator [`split_args`] returns.
#[derive(Clone, Debug)]
pub struct SplitArgs<'a> {
    rest: &'a str,
}

impl<'a> Iterator for SplitArgs<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let s = self.rest.trim_start();
        let first = s.chars().next()?;
        if first == '"' || first == '\'' {
            let body = &s[1..];
            let (arg, rest) = match body.find(first) {
                Some(end) => (&body[..end], &body[end + 1..]),
                None => (body, ""),
            };
            self.rest = rest;
            return Some(arg);
        }
        let end = s.find(char::is_whitespace).unwrap_or(s.len());
        self.rest = &s[end..];
        Some(&s[..end])
    }
}

#[cfg(test)]
mod tests {
    use super::split_args;

    fn split(s: &str) -> Vec<&str> {
        split_args(s).collect()
    }

    #[test]
    fn whitespace_separates() {
        assert_eq!(split("rom/io  rom/io.cfg\t-vvvvvv \n"), ["rom/io", "rom/io.cfg", "-vvvvvv"]);
        assert_eq!(split(""), Vec::<&str>::new());
        assert_eq!(split("   "), Vec::<&str>::new());
        assert_eq!(split("one"), ["one"]);
    }

    #[test]
    fn quoted_arguments_keep_their_spaces() {
        assert_eq!(
            split("rom/vmm -k rom/Image.gz -c \"console=ttyAMA0 earlyprintk=1 rdinit=/init\" -i"),
            [
                "rom/vmm",
                "-k",
                "rom/Image.gz",
                "-c",
                "console=ttyAMA0 earlyprintk=1 rdinit=/init",
                "-i"
            ]
        );
        assert_eq!(split("a 'b  c' d"), ["a", "b  c", "d"]);
        assert_eq!(split("a \"it's\" 'say \"hi\"'"), ["a", "it's", "say \"hi\""]);
    }

    #[test]
    fn empty_and_unclosed_quotes() {
        assert_eq!(split("a \"\" b"), ["a", "", "b"]);
        assert_eq!(split("a ''"), ["a", ""]);
        assert_eq!(split("a \"b c"), ["a", "b c"]);
        assert_eq!(split("a '"), ["a", ""]);
    }

    #[test]
    fn quotes_inside_or_after_an_argument() {
        assert_eq!(split("key=\"a b\""), ["key=\"a", "b\""]);
        assert_eq!(split("\"a b\"c d"), ["a b", "c", "d"]);
        assert_eq!(split("it's"), ["it's"]);
    }

    #[test]
    fn unicode_is_kept_whole() {
        assert_eq!(split("é  \"ü ö\"\u{a0}x"), ["é", "ü ö", "x"]);
    }
}
