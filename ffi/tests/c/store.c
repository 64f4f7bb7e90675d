/*
 * store.c: a scimkit store implemented in C (see test_store.h).
 *
 * What a minimal C store has to do, and no more:
 *  - keep (tenant, kind, id) -> (json bytes, version), tenants fully apart;
 *  - enforce the uniqueness key scimkit passes (the case-folded userName),
 *    per tenant, atomically with the write;
 *  - check if_version as a compare-and-set, atomically with the write;
 *  - answer "every resource of this kind in this tenant" and say UNSUPPORTED
 *    to filters; sorting, paging and filtering are then scimkit's;
 *  - be thread-safe: one mutex around everything is enough.
 * It never parses JSON; removing a deleted user from its groups is left to
 * scimkit (no SCIMKIT_STORE_FLAG_CASCADES_DELETES).
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scimkit.h"
#include "test_store.h"

typedef struct buf {
    char *data;
    size_t len;
} buf;

typedef struct record {
    buf tenant;
    scimkit_resource_kind kind;
    buf id;
    bool has_key;
    buf key;
    buf json;
    uint64_t version;
} record;

struct teststore {
    pthread_mutex_t lock;
    record *items;
    size_t len;
    size_t cap;
    atomic_int mode;
    atomic_ulong unsupported;
};

static atomic_long live_stores;

/* ===== helpers ===== */

static bool buf_set(buf *b, const void *data, size_t len) {
    char *copy = malloc(len ? len : 1);
    if (!copy) {
        return false;
    }
    if (len) {
        memcpy(copy, data, len);
    }
    free(b->data);
    b->data = copy;
    b->len = len;
    return true;
}

static bool buf_eq(const buf *b, const char *data, size_t len) {
    return b->len == len && (len == 0 || memcmp(b->data, data, len) == 0);
}

static void record_free(record *r) {
    free(r->tenant.data);
    free(r->id.data);
    free(r->key.data);
    free(r->json.data);
    memset(r, 0, sizeof *r);
}

static teststore_mode mode_of(teststore *s) {
    return (teststore_mode)atomic_load(&s->mode);
}

/* The record of (tenant, kind, id), or -1. Caller holds the lock. */
static long find(teststore *s, const scimkit_store_ctx *ctx, scimkit_resource_kind kind,
                 scimkit_str id) {
    for (size_t i = 0; i < s->len; i++) {
        record *r = &s->items[i];
        if (r->kind == kind && buf_eq(&r->tenant, ctx->tenant.data, ctx->tenant.len) &&
            buf_eq(&r->id, id.data, id.len)) {
            return (long)i;
        }
    }
    return -1;
}

/* Whether another record of the tenant and kind has this key. Caller holds the lock. */
static bool key_taken(teststore *s, const scimkit_store_ctx *ctx, scimkit_resource_kind kind,
                      scimkit_str key, long except) {
    if (key.data == NULL) {
        return false;
    }
    for (size_t i = 0; i < s->len; i++) {
        record *r = &s->items[i];
        if ((long)i != except && r->kind == kind && r->has_key &&
            buf_eq(&r->tenant, ctx->tenant.data, ctx->tenant.len) &&
            buf_eq(&r->key, key.data, key.len)) {
            return true;
        }
    }
    return false;
}

static scimkit_store_status push(teststore *s, scimkit_store_out *out, const record *r) {
    if (mode_of(s) == TESTSTORE_GARBAGE_JSON) {
        static const char garbage[] = "{not json";
        scimkit_store_out_push(out, (const uint8_t *)garbage, sizeof garbage - 1, r->version);
        return SCIMKIT_STORE_STATUS_OK; /* lies: scimkit must still fail the call */
    }
    scimkit_result rc =
        scimkit_store_out_push(out, (const uint8_t *)r->json.data, r->json.len, r->version);
    return rc == SCIMKIT_RESULT_OK ? SCIMKIT_STORE_STATUS_OK : SCIMKIT_STORE_STATUS_ERROR;
}

/* A status for the misbehaving modes, or OK to go on normally. */
static scimkit_store_status misbehave(teststore *s) {
    switch (mode_of(s)) {
    case TESTSTORE_BAD_STATUS:
        return 42;
    case TESTSTORE_UNAVAILABLE:
        return SCIMKIT_STORE_STATUS_UNAVAILABLE;
    default:
        return SCIMKIT_STORE_STATUS_OK;
    }
}

/* ===== callbacks ===== */

static scimkit_store_status ts_create(void *userdata, const scimkit_store_ctx *ctx,
                                      scimkit_resource_kind kind, scimkit_str id,
                                      scimkit_str unique_key, const uint8_t *json, size_t json_len,
                                      uint64_t *version_out) {
    teststore *s = userdata;
    scimkit_store_status st = misbehave(s);
    if (st != SCIMKIT_STORE_STATUS_OK) {
        return st;
    }
    pthread_mutex_lock(&s->lock);
    if (key_taken(s, ctx, kind, unique_key, -1)) {
        st = SCIMKIT_STORE_STATUS_CONFLICT;
        goto out;
    }
    if (find(s, ctx, kind, id) >= 0) {
        st = SCIMKIT_STORE_STATUS_ERROR; /* ids are assigned by scimkit: never reused */
        goto out;
    }
    if (s->len == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        record *items = realloc(s->items, cap * sizeof *items);
        if (!items) {
            st = SCIMKIT_STORE_STATUS_ERROR;
            goto out;
        }
        s->items = items;
        s->cap = cap;
    }
    record r;
    memset(&r, 0, sizeof r);
    r.kind = kind;
    r.version = 1;
    r.has_key = unique_key.data != NULL;
    if (!buf_set(&r.tenant, ctx->tenant.data, ctx->tenant.len) ||
        !buf_set(&r.id, id.data, id.len) ||
        (r.has_key && !buf_set(&r.key, unique_key.data, unique_key.len)) ||
        !buf_set(&r.json, json, json_len)) {
        record_free(&r);
        st = SCIMKIT_STORE_STATUS_ERROR;
        goto out;
    }
    s->items[s->len++] = r;
    if (mode_of(s) != TESTSTORE_NO_VERSION) {
        *version_out = 1;
    }
out:
    pthread_mutex_unlock(&s->lock);
    return st;
}

static scimkit_store_status ts_get(void *userdata, const scimkit_store_ctx *ctx,
                                   scimkit_resource_kind kind, scimkit_str id,
                                   bool include_members, scimkit_store_out *out) {
    (void)include_members; /* members are always included: allowed */
    teststore *s = userdata;
    scimkit_store_status st = misbehave(s);
    if (st != SCIMKIT_STORE_STATUS_OK) {
        return st;
    }
    pthread_mutex_lock(&s->lock);
    long i = find(s, ctx, kind, id);
    if (i < 0) {
        st = SCIMKIT_STORE_STATUS_NOT_FOUND;
    } else if (mode_of(s) != TESTSTORE_NO_OUTPUT) {
        st = push(s, out, &s->items[i]);
    }
    pthread_mutex_unlock(&s->lock);
    return st;
}

static scimkit_store_status ts_replace(void *userdata, const scimkit_store_ctx *ctx,
                                       scimkit_resource_kind kind, scimkit_str id,
                                       scimkit_str unique_key, const uint8_t *json,
                                       size_t json_len, const uint64_t *if_version,
                                       uint64_t *version_out) {
    teststore *s = userdata;
    scimkit_store_status st = misbehave(s);
    if (st != SCIMKIT_STORE_STATUS_OK) {
        return st;
    }
    pthread_mutex_lock(&s->lock);
    long i = find(s, ctx, kind, id);
    if (i < 0) {
        st = SCIMKIT_STORE_STATUS_NOT_FOUND;
        goto out;
    }
    record *r = &s->items[i];
    if (if_version && *if_version != r->version) {
        st = SCIMKIT_STORE_STATUS_PRECONDITION_FAILED;
        goto out;
    }
    if (key_taken(s, ctx, kind, unique_key, i)) {
        st = SCIMKIT_STORE_STATUS_CONFLICT;
        goto out;
    }
    buf json_copy = {0}, key_copy = {0};
    if (!buf_set(&json_copy, json, json_len) ||
        (unique_key.data && !buf_set(&key_copy, unique_key.data, unique_key.len))) {
        free(json_copy.data);
        free(key_copy.data);
        st = SCIMKIT_STORE_STATUS_ERROR;
        goto out;
    }
    free(r->json.data);
    free(r->key.data);
    r->json = json_copy;
    r->key = key_copy;
    r->has_key = unique_key.data != NULL;
    r->version += 1;
    if (mode_of(s) != TESTSTORE_NO_VERSION) {
        *version_out = r->version;
    }
out:
    pthread_mutex_unlock(&s->lock);
    return st;
}

static scimkit_store_status ts_remove(void *userdata, const scimkit_store_ctx *ctx,
                                      scimkit_resource_kind kind, scimkit_str id,
                                      const uint64_t *if_version) {
    teststore *s = userdata;
    scimkit_store_status st = misbehave(s);
    if (st != SCIMKIT_STORE_STATUS_OK) {
        return st;
    }
    pthread_mutex_lock(&s->lock);
    long i = find(s, ctx, kind, id);
    if (i < 0) {
        st = SCIMKIT_STORE_STATUS_NOT_FOUND;
    } else if (if_version && *if_version != s->items[i].version) {
        st = SCIMKIT_STORE_STATUS_PRECONDITION_FAILED;
    } else {
        record_free(&s->items[i]);
        memmove(&s->items[i], &s->items[i + 1], (s->len - (size_t)i - 1) * sizeof *s->items);
        s->len--;
    }
    pthread_mutex_unlock(&s->lock);
    return st;
}

static scimkit_store_status ts_query(void *userdata, const scimkit_store_ctx *ctx,
                                     scimkit_resource_kind kind, const scimkit_store_query *query,
                                     scimkit_store_out *out) {
    teststore *s = userdata;
    scimkit_store_status st = misbehave(s);
    if (st != SCIMKIT_STORE_STATUS_OK) {
        return st;
    }
    scimkit_str filter;
    if (scimkit_store_query_filter(query, &filter) != SCIMKIT_RESULT_OK) {
        return SCIMKIT_STORE_STATUS_ERROR;
    }
    if (filter.len > 0) {
        /* No index here: let scimkit evaluate the filter over everything. */
        atomic_fetch_add(&s->unsupported, 1);
        return SCIMKIT_STORE_STATUS_UNSUPPORTED;
    }
    if (mode_of(s) == TESTSTORE_NO_OUTPUT) {
        return SCIMKIT_STORE_STATUS_OK;
    }
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->len && st == SCIMKIT_STORE_STATUS_OK; i++) {
        record *r = &s->items[i];
        if (r->kind == kind && buf_eq(&r->tenant, ctx->tenant.data, ctx->tenant.len)) {
            st = push(s, out, r);
        }
    }
    pthread_mutex_unlock(&s->lock);
    return st;
}

static void ts_free(void *userdata) {
    teststore_free(userdata);
}

/* ===== public ===== */

static const scimkit_store_vtable VTABLE = {
    .create = ts_create,
    .get = ts_get,
    .replace = ts_replace,
    .remove = ts_remove,
    .query = ts_query,
    .modify_members = NULL, /* scimkit uses get + replace */
    .free_userdata = ts_free,
    .flags = 0,
};

teststore *teststore_new(void) {
    teststore *s = calloc(1, sizeof *s);
    if (!s) {
        return NULL;
    }
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        free(s);
        return NULL;
    }
    atomic_init(&s->mode, TESTSTORE_NORMAL);
    atomic_init(&s->unsupported, 0);
    atomic_fetch_add(&live_stores, 1);
    return s;
}

const scimkit_store_vtable *teststore_vtable(void) {
    return &VTABLE;
}

void teststore_free(teststore *s) {
    if (!s) {
        return;
    }
    for (size_t i = 0; i < s->len; i++) {
        record_free(&s->items[i]);
    }
    free(s->items);
    pthread_mutex_destroy(&s->lock);
    free(s);
    atomic_fetch_sub(&live_stores, 1);
}

void teststore_set_mode(teststore *s, teststore_mode mode) {
    atomic_store(&s->mode, (int)mode);
}

unsigned long teststore_unsupported_count(teststore *s) {
    return atomic_load(&s->unsupported);
}

long teststore_live_count(void) {
    return atomic_load(&live_stores);
}
