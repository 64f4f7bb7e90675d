//! Replays the golden corpus (`tests/data/`) through `ScimServer::handle`; the
//! harness is `scimkit::corpus` (feature `testkit`), shared with the adapters.

use scimkit::{MemoryStore, ScimServer, corpus};

#[test]
fn corpus() {
    let result = corpus::replay(&corpus::default_dir(), || {
        let server = ScimServer::builder()
            .store(MemoryStore::new())
            .token(corpus::TOKEN, "corpus")
            .base_url(corpus::BASE_URL)
            .build()
            .unwrap();
        move |req| server.handle(req)
    });
    match result {
        Ok((files, steps)) => {
            assert!(files >= 15, "the corpus has {files} files");
            eprintln!("corpus: {files} files, {steps} steps");
        }
        Err(failures) => panic!(
            "{} corpus failures:\n{}",
            failures.len(),
            failures.join("\n\n")
        ),
    }
}
