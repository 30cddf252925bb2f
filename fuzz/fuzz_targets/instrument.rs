#![no_main]

// A property that does not hold is a crash for libFuzzer, with the property's description.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(error) = tests::fuzz::instrument(data) {
        panic!("{error}");
    }
});
