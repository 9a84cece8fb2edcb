//! Fuzzes the query parser: it must never panic, and whatever it accepts must
//! print to text that parses back to the same AST.

#![no_main]

use docgrid_core::query::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    match parse(input) {
        Ok(query) => {
            let printed = query.to_string();
            match parse(&printed) {
                Ok(again) => assert_eq!(
                    again, query,
                    "{input:?} printed as {printed:?} parses to another query"
                ),
                Err(e) => panic!("{input:?} printed as {printed:?} does not parse: {e}"),
            }
        }
        Err(e) => assert!(
            e.offset <= input.chars().count(),
            "{input:?}: error offset {} past the end",
            e.offset
        ),
    }
});
