/*
 * test_store.h: a small, thread-safe scimkit store written in C, for tests.
 *
 * It keeps resources as opaque JSON bytes in one array behind one mutex,
 * answers every query without a filter and returns
 * SCIMKIT_STORE_STATUS_UNSUPPORTED for every filter (so the engine evaluates
 * filters itself). A "mode" makes it misbehave on purpose, for misuse tests.
 *
 * Used by the Rust conformance test (ffi/tests/c_store.rs, compiled by
 * ffi/build.rs with the cc crate) and by the C tests in this directory.
 */
#ifndef TESTSTORE_H
#define TESTSTORE_H

#include <stddef.h>

#include "scimkit.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct teststore teststore;

/* How the store behaves. */
typedef enum teststore_mode {
    TESTSTORE_NORMAL = 0,
    /* get and query push bytes that are not JSON. */
    TESTSTORE_GARBAGE_JSON = 1,
    /* every callback returns the status 42, which does not exist. */
    TESTSTORE_BAD_STATUS = 2,
    /* get and query return OK without pushing anything (get) / too much (none). */
    TESTSTORE_NO_OUTPUT = 3,
    /* every callback returns SCIMKIT_STORE_STATUS_UNAVAILABLE. */
    TESTSTORE_UNAVAILABLE = 4,
    /* create and replace return OK without setting the version. */
    TESTSTORE_NO_VERSION = 5
} teststore_mode;

/* A new empty store, owned by the caller until it is registered with
 * scimkit_config_builder_set_store_vtable (which takes ownership; the vtable's
 * free_userdata frees it). NULL if out of memory. */
teststore *teststore_new(void);

/* The vtable (static, never freed). */
const scimkit_store_vtable *teststore_vtable(void);

/* Free a store that was never registered. NULL is fine. */
void teststore_free(teststore *store);

/* Switch the behaviour; thread-safe. */
void teststore_set_mode(teststore *store, teststore_mode mode);

/* How many queries were answered UNSUPPORTED (a filter was given). */
unsigned long teststore_unsupported_count(teststore *store);

/* How many stores are alive in the process (made and not yet freed). */
long teststore_live_count(void);

#ifdef __cplusplus
}
#endif

#endif /* TESTSTORE_H */
