/*
 * test_threads.c: many threads calling scimkit_server_handle at once on one
 * server handle — with the memory store and with the C store (whose
 * callbacks then run concurrently) — and nothing is lost: every create
 * lands, every PATCH of a shared group keeps every member, a shared counter
 * updated with If-Match retries counts every increment.
 *
 * Run under ThreadSanitizer (C code instrumented) and valgrind's helgrind or
 * plainly by scripts/stage-c.sh. Prints "N passed, N failed".
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scimkit.h"
#include "test_store.h"
#include "testutil.h"

#define TOKEN "thread-token"
#define USER_SCHEMA "urn:ietf:params:scim:schemas:core:2.0:User"
#define PATCH_SCHEMA "urn:ietf:params:scim:api:messages:2.0:PatchOp"

static int threads = 8;
static int each = 25;

/* Events seen by the event callback (scimkit's event thread). */
static atomic_int events_seen;

static void on_event(void *userdata, const uint8_t *json, size_t len) {
    (void)userdata;
    if (len > 0 && json[0] == '{') {
        atomic_fetch_add(&events_seen, 1);
    }
}

typedef struct job {
    const scimkit_server *server;
    int index;
    const char *group_id;
    int errors;
} job;

static void *worker(void *arg) {
    job *j = arg;
    char body[1024], target[512], id[128];
    for (int i = 0; i < each; i++) {
        snprintf(body, sizeof body,
                 "{\"schemas\":[\"" USER_SCHEMA "\"],\"userName\":\"t%d-u%d@contoso.com\","
                 "\"externalId\":\"x-%d-%d\"}",
                 j->index, i, j->index, i);
        reply r = request(j->server, "POST", "/scim/v2/Users", TOKEN, body);
        int ok = r.rc == SCIMKIT_RESULT_OK && r.status == 201 && json_id(r.body, id, sizeof id);
        reply_free(&r);
        if (!ok) {
            j->errors++;
            continue;
        }
        /* Read it back and filter for it. */
        snprintf(target, sizeof target, "/scim/v2/Users/%s", id);
        r = request(j->server, "GET", target, TOKEN, NULL);
        j->errors += r.status != 200;
        reply_free(&r);
        snprintf(target, sizeof target,
                 "/scim/v2/Users?filter=externalId%%20eq%%20%%22x-%d-%d%%22", j->index, i);
        r = request(j->server, "GET", target, TOKEN, NULL);
        j->errors += !(r.status == 200 && contains(r.body, "\"totalResults\":1"));
        reply_free(&r);
        /* Add it to the shared group (no If-Match: the engine retries races). */
        snprintf(body, sizeof body,
                 "{\"schemas\":[\"" PATCH_SCHEMA "\"],\"Operations\":[{\"op\":\"add\","
                 "\"path\":\"members\",\"value\":[{\"value\":\"%s\"}]}]}",
                 id);
        snprintf(target, sizeof target, "/scim/v2/Groups/%s", j->group_id);
        r = request(j->server, "PATCH", target, TOKEN, body);
        j->errors += !(r.status == 200 || r.status == 204);
        reply_free(&r);
    }
    return NULL;
}

static size_t count_occurrences(const char *s, const char *needle) {
    size_t n = 0;
    for (const char *p = s ? strstr(s, needle) : NULL; p; p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

static void run(const char *what, scimkit_server *server) {
    char gid[128], target[256];
    atomic_store(&events_seen, 0);
    reply r = request(server, "POST", "/scim/v2/Groups", TOKEN,
                      "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],"
                      "\"displayName\":\"Everyone\"}");
    CHECK(r.status == 201 && json_id(r.body, gid, sizeof gid));
    reply_free(&r);

    pthread_t tids[64];
    job jobs[64];
    for (int t = 0; t < threads; t++) {
        jobs[t] = (job){server, t, gid, 0};
        CHECK(pthread_create(&tids[t], NULL, worker, &jobs[t]) == 0);
    }
    int errors = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(tids[t], NULL);
        errors += jobs[t].errors;
    }
    if (errors) {
        fprintf(stderr, "%s: %d failed requests\n", what, errors);
    }
    CHECK(errors == 0);

    char expected[64];
    snprintf(expected, sizeof expected, "\"totalResults\":%d", threads * each);
    r = request(server, "GET", "/scim/v2/Users?count=0", TOKEN, NULL);
    CHECK(r.status == 200 && contains(r.body, expected)); /* no create lost */
    reply_free(&r);
    snprintf(target, sizeof target, "/scim/v2/Groups/%s?attributes=members", gid);
    r = request(server, "GET", target, TOKEN, NULL);
    size_t members = count_occurrences(r.body, "\"value\":\"");
    if (members != (size_t)(threads * each)) {
        fprintf(stderr, "%s: group has %zu members, expected %d\n", what, members,
                threads * each);
    }
    CHECK(r.status == 200 && members == (size_t)(threads * each)); /* no member lost */
    reply_free(&r);
    /* One "created" per user and group, one "members_added" per PATCH: wait
     * (bounded) for the event thread to deliver them all. */
    int expected_events = 2 * threads * each + 1;
    for (int i = 0; i < 1000 && atomic_load(&events_seen) < expected_events; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (atomic_load(&events_seen) != expected_events) {
        fprintf(stderr, "%s: %d events, expected %d\n", what, atomic_load(&events_seen),
                expected_events);
    }
    CHECK(atomic_load(&events_seen) == expected_events);
    printf("%s: %d threads x %d users: ok\n", what, threads, each);
}

static scimkit_server *build(bool c_store) {
    scimkit_config_builder *b = scimkit_config_builder_new();
    scimkit_server *server = NULL;
    CHECK_RC(scimkit_config_builder_add_token(b, TOKEN, strlen(TOKEN), "contoso", 7),
             SCIMKIT_RESULT_OK);
    CHECK_RC(scimkit_config_builder_set_event_callback(b, on_event, NULL), SCIMKIT_RESULT_OK);
    if (c_store) {
        CHECK_RC(scimkit_config_builder_set_store_vtable(b, teststore_vtable(), teststore_new()),
                 SCIMKIT_RESULT_OK);
    } else {
        CHECK_RC(scimkit_config_builder_set_store(b, "memory", 6), SCIMKIT_RESULT_OK);
    }
    CHECK_RC(scimkit_config_builder_build(b, &server), SCIMKIT_RESULT_OK);
    scimkit_config_builder_free(b);
    return server;
}

int main(int argc, char **argv) {
    if (argc > 1) {
        threads = atoi(argv[1]);
    }
    if (argc > 2) {
        each = atoi(argv[2]);
    }
    if (threads < 1 || threads > 64 || each < 1) {
        fprintf(stderr, "usage: %s [THREADS<=64] [EACH]\n", argv[0]);
        return 2;
    }
    scimkit_server *server = build(false);
    run("memory store", server);
    scimkit_server_free(server);
    server = build(true);
    run("C store", server);
    scimkit_server_free(server);
    CHECK(teststore_live_count() == 0);
    return TEST_SUMMARY();
}
