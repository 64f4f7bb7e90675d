/*
 * test_postgres.c: the C API on a PostgreSQL store — a provisioning flow
 * (create, get, patch, filter, groups, delete) through scimkit_server_handle on
 * a "postgresql://" store, two servers (replicas) on one database written by
 * several threads at once, and a server that cannot be reached. Uses only
 * include/scimkit.h.
 *
 * Needs a PostgreSQL database: its URL in SCIMKIT_TEST_PG_URL. Run by
 * ffi/tests/postgres.rs (which starts a throw-away server) with the binaries
 * scripts/stage-c.sh builds: under ASan+UBSan and under valgrind.
 *
 * Built with -std=c11 -Wall -Wextra -Wpedantic -Werror. Prints "N passed, N failed".
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scimkit.h"
#include "testutil.h"

#define TOKEN "pg-token"
#define USER_SCHEMA "urn:ietf:params:scim:schemas:core:2.0:User"
#define GROUP_SCHEMA "urn:ietf:params:scim:schemas:core:2.0:Group"
#define PATCH_SCHEMA "urn:ietf:params:scim:api:messages:2.0:PatchOp"

#define THREADS 4
#define USERS_PER_THREAD 10

/* A server on the store `spec`, or NULL (with the code and message printed). */
static scimkit_server *make_server(const char *spec) {
    scimkit_config_builder *b = scimkit_config_builder_new();
    scimkit_server *server = NULL;
    CHECK(b != NULL);
    CHECK_RC(scimkit_config_builder_add_token(b, TOKEN, strlen(TOKEN), "contoso", 7),
             SCIMKIT_RESULT_OK);
    CHECK_RC(scimkit_config_builder_set_store(b, spec, strlen(spec)), SCIMKIT_RESULT_OK);
    scimkit_result rc = scimkit_config_builder_build(b, &server);
    CHECK_RC(rc, SCIMKIT_RESULT_OK);
    if (rc != SCIMKIT_RESULT_OK) {
        char msg[1024];
        size_t n = 0;
        scimkit_config_builder_error_message(b, msg, sizeof msg, &n);
        fprintf(stderr, "build failed: %.*s\n", (int)n, msg);
    }
    scimkit_config_builder_free(b);
    return server;
}

/* ===== one user's lifecycle, a group, a filter ===== */

static void test_flow(const char *url) {
    scimkit_server *server = make_server(url);
    if (!server) {
        return;
    }
    char id[128] = "", gid[128] = "", path[256], body[1024];

    reply r = request(server, "POST", "/scim/v2/Users", TOKEN,
                      "{\"schemas\":[\"" USER_SCHEMA "\"],\"userName\":\"adele@contoso.com\","
                      "\"externalId\":\"adele\",\"active\":true,"
                      "\"emails\":[{\"value\":\"adele@contoso.com\",\"primary\":true}]}");
    CHECK(r.rc == SCIMKIT_RESULT_OK && r.status == 201);
    CHECK(json_id(r.body, id, sizeof id));
    reply_free(&r);
    snprintf(path, sizeof path, "/scim/v2/Users/%s", id);

    r = request(server, "GET", path, TOKEN, NULL);
    CHECK(r.status == 200 && contains(r.body, "\"userName\":\"adele@contoso.com\""));
    CHECK(contains(r.body, "\"active\":true"));
    reply_free(&r);

    /* Entra's way of disabling a user. */
    r = request(server, "PATCH", path, TOKEN,
                "{\"schemas\":[\"" PATCH_SCHEMA "\"],\"Operations\":[{\"op\":\"Replace\","
                "\"path\":\"active\",\"value\":\"False\"}]}");
    CHECK(r.status == 200 && contains(r.body, "\"active\":false"));
    reply_free(&r);
    r = request(server, "GET", path, TOKEN, NULL);
    CHECK(r.status == 200 && contains(r.body, "\"active\":false"));
    reply_free(&r);

    /* Filters run in SQL (userName case-insensitively) or in the engine. */
    r = request(server, "GET", "/scim/v2/Users?filter=userName%20eq%20%22ADELE%40contoso.com%22",
                TOKEN, NULL);
    CHECK(r.status == 200 && contains(r.body, "\"totalResults\":1"));
    reply_free(&r);
    r = request(server, "GET", "/scim/v2/Users?filter=active%20eq%20true", TOKEN, NULL);
    CHECK(r.status == 200 && contains(r.body, "\"totalResults\":0"));
    reply_free(&r);

    /* Uniqueness is the database's. */
    r = request(server, "POST", "/scim/v2/Users", TOKEN,
                "{\"schemas\":[\"" USER_SCHEMA "\"],\"userName\":\"Adele@Contoso.com\"}");
    CHECK(r.status == 409 && contains(r.body, "\"scimType\":\"uniqueness\""));
    reply_free(&r);

    /* A group with the user as member; deleting the user removes the membership. */
    snprintf(body, sizeof body,
             "{\"schemas\":[\"" GROUP_SCHEMA "\"],\"displayName\":\"Sales\","
             "\"members\":[{\"value\":\"%s\"}]}",
             id);
    r = request(server, "POST", "/scim/v2/Groups", TOKEN, body);
    CHECK(r.status == 201);
    CHECK(json_id(r.body, gid, sizeof gid));
    reply_free(&r);
    char gpath[256];
    snprintf(gpath, sizeof gpath, "/scim/v2/Groups/%s", gid);
    r = request(server, "GET", gpath, TOKEN, NULL);
    CHECK(r.status == 200 && contains(r.body, id));
    reply_free(&r);

    r = request(server, "DELETE", path, TOKEN, NULL);
    CHECK(r.status == 204);
    reply_free(&r);
    r = request(server, "GET", path, TOKEN, NULL);
    CHECK(r.status == 404);
    reply_free(&r);
    r = request(server, "GET", gpath, TOKEN, NULL);
    CHECK(r.status == 200 && !contains(r.body, id));
    reply_free(&r);
    r = request(server, "DELETE", gpath, TOKEN, NULL);
    CHECK(r.status == 204);
    reply_free(&r);

    scimkit_server_free(server);
}

/* ===== two servers on one database, written from several threads ===== */

typedef struct worker {
    const scimkit_server *server;
    int n;
    int created;
} worker;

static void *work(void *arg) {
    worker *w = arg;
    for (int i = 0; i < USERS_PER_THREAD; i++) {
        char body[256];
        snprintf(body, sizeof body,
                 "{\"schemas\":[\"" USER_SCHEMA "\"],\"userName\":\"t%d-u%d@contoso.com\"}", w->n,
                 i);
        reply r = request(w->server, "POST", "/scim/v2/Users", TOKEN, body);
        if (r.rc == SCIMKIT_RESULT_OK && r.status == 201) {
            w->created++;
        }
        reply_free(&r);
    }
    return NULL;
}

static void test_replicas(const char *url) {
    scimkit_server *a = make_server(url);
    scimkit_server *b = make_server(url);
    if (!a || !b) {
        scimkit_server_free(a);
        scimkit_server_free(b);
        return;
    }
    pthread_t threads[THREADS];
    worker workers[THREADS];
    for (int i = 0; i < THREADS; i++) {
        workers[i] = (worker){i % 2 ? b : a, i, 0};
        CHECK(pthread_create(&threads[i], NULL, work, &workers[i]) == 0);
    }
    int created = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        created += workers[i].created;
    }
    CHECK(created == THREADS * USERS_PER_THREAD);
    char expect[64];
    snprintf(expect, sizeof expect, "\"totalResults\":%d", THREADS * USERS_PER_THREAD);
    reply r = request(a, "GET", "/scim/v2/Users?count=1", TOKEN, NULL);
    CHECK(r.status == 200 && contains(r.body, expect));
    reply_free(&r);
    r = request(b, "GET", "/scim/v2/Users?filter=userName%20sw%20%22t3-%22", TOKEN, NULL);
    snprintf(expect, sizeof expect, "\"totalResults\":%d", USERS_PER_THREAD);
    CHECK(r.status == 200 && contains(r.body, expect));
    reply_free(&r);
    scimkit_server_free(a);
    scimkit_server_free(b);
}

/* ===== a server that cannot be reached ===== */

static void test_unreachable(void) {
    const char *url = "postgresql://scim:hunter2-secret@127.0.0.1:1/scim?connect_timeout=5";
    scimkit_config_builder *b = scimkit_config_builder_new();
    scimkit_server *server = NULL;
    CHECK_RC(scimkit_config_builder_add_token(b, TOKEN, strlen(TOKEN), "contoso", 7),
             SCIMKIT_RESULT_OK);
    CHECK_RC(scimkit_config_builder_set_store(b, url, strlen(url)), SCIMKIT_RESULT_OK);
    CHECK_RC(scimkit_config_builder_build(b, &server), SCIMKIT_RESULT_STORE_OPEN_FAILED);
    CHECK(server == NULL);
    char msg[1024];
    size_t n = 0;
    CHECK_RC(scimkit_config_builder_error_message(b, msg, sizeof msg - 1, &n), SCIMKIT_RESULT_OK);
    msg[n] = '\0';
    CHECK(strstr(msg, "postgresql://scim@127.0.0.1:1/scim") != NULL);
    CHECK(strstr(msg, "unreachable") != NULL);
    CHECK(strstr(msg, "hunter2") == NULL);
    scimkit_str m = scimkit_result_message(SCIMKIT_RESULT_STORE_OPEN_FAILED);
    CHECK(m.len > 0);
    scimkit_config_builder_free(b);
}

/* The threads of freed servers and connection pools end (bounded wait). */
static int thread_count(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) {
        return -1;
    }
    char line[256];
    int n = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "Threads:", 8) == 0) {
            n = atoi(line + 8);
            break;
        }
    }
    fclose(f);
    return n;
}

static void test_no_thread_outlives_its_server(void) {
    int n = thread_count();
    for (int i = 0; i < 500 && n > 1; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        n = thread_count();
    }
    if (n > 1) {
        fprintf(stderr, "%d threads still running\n", n);
    }
    CHECK(n == 1 || n == -1);
}

int main(void) {
    const char *url = getenv("SCIMKIT_TEST_PG_URL");
    if (!url || !*url) {
        fprintf(stderr, "test_postgres: set SCIMKIT_TEST_PG_URL to a PostgreSQL database URL "
                        "(ffi/tests/postgres.rs does)\n");
        return 2;
    }
    test_flow(url);
    test_replicas(url);
    test_unreachable();
    test_no_thread_outlives_its_server();
    return TEST_SUMMARY();
}
